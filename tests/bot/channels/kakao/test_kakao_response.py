"""Unit tests of the SkillResponse builder; every response is validated against the JSON Schema."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa_sdk.executor import CollectingDispatcher

from bot import replies
from bot.channels.kakao import texts
from bot.channels.kakao.extra import CONTINUATION_KEY, PAGE_KEY
from bot.channels.kakao.format_limits import MAX_OUTPUTS, MAX_QUICK_REPLIES, MAX_SIMPLE_TEXT_CHARS
from bot.channels.kakao.response import (
    build_templates,
    callback_acknowledgement,
    page_response,
    split_long_text,
    text_response,
)
from bot.replies import Button, Card, Reply
from tests.depth import examples
from tests.kakao_helpers import assert_valid_skill_response, skill_response_validator

TOKEN = "tok_0123456789"


def pages_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every page of the answer as SkillResponses, each schema-validated."""
    templates = build_templates(messages)
    responses = [page_response(templates, page, TOKEN) for page in range(1, len(templates) + 1)]
    for response in responses:
        assert_valid_skill_response(response)
    return responses


def outputs_of(responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [output for response in responses for output in response["template"]["outputs"]]


def simple_texts(responses: list[dict[str, Any]]) -> list[str]:
    return [o["simpleText"]["text"] for o in outputs_of(responses) if "simpleText" in o]


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def last_quick_replies(responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return responses[-1]["template"].get("quickReplies", [])


# ----------------------------------------------------------------------------- schema itself


@pytest.mark.parametrize(
    "invalid",
    [
        {"version": "2.0", "template": {"outputs": []}},
        {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "a"}}] * 4}},
        {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "가" * 1001}}]}},
        {"version": "1.0", "template": {"outputs": [{"simpleText": {"text": "a"}}]}},
        {
            "version": "2.0",
            "template": {
                "outputs": [{"simpleText": {"text": "a"}}],
                "quickReplies": [{"label": "a", "action": "message", "messageText": "a"}] * 11,
            },
        },
        {
            "version": "2.0",
            "template": {
                "outputs": [{"simpleText": {"text": "a"}}],
                "quickReplies": [{"label": "가" * 15, "action": "message", "messageText": "a"}],
            },
        },
        {
            "version": "2.0",
            "template": {
                "outputs": [{"simpleText": {"text": "a"}}],
                "quickReplies": [{"label": "a", "action": "message"}],
            },
        },
        {"version": "2.0", "template": {"outputs": [{"basicCard": {"title": "no picture"}}]}},
        {
            "version": "2.0",
            "template": {
                "outputs": [
                    {
                        "textCard": {
                            "title": "t",
                            "buttons": [{"label": "b", "action": "message", "messageText": "b"}] * 4,
                        }
                    }
                ]
            },
        },
        {
            "version": "2.0",
            "template": {"outputs": [{"carousel": {"type": "textCard", "items": [{"title": "t"}] * 11}}]},
        },
        {
            "version": "2.0",
            "template": {"outputs": [{"listCard": {"header": {"title": "h"}, "items": [{"title": "i"}] * 6}}]},
        },
        {"version": "2.0", "template": {"outputs": [{"fancyCard": {}}]}},
        {"version": "2.0", "useCallback": True, "template": {"outputs": [{"simpleText": {"text": "a"}}]}},
    ],
)
def test_schema_rejects_responses_kakao_would_reject(invalid: dict[str, Any]) -> None:
    assert not skill_response_validator().is_valid(invalid)


# ----------------------------------------------------------------------------- texts


def test_single_text_becomes_simple_text() -> None:
    responses = pages_of([{"text": "안녕하세요! 고양시 소통이에요."}])
    assert responses == [
        {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "안녕하세요! 고양시 소통이에요."}}]}}
    ]


def test_up_to_three_texts_keep_their_own_bubbles() -> None:
    responses = pages_of([{"text": "하나"}, {"text": "둘"}, {"text": "셋"}])
    assert simple_texts(responses) == ["하나", "둘", "셋"]


def test_more_than_three_texts_are_merged_in_order() -> None:
    responses = pages_of([{"text": f"문단 {i}"} for i in range(1, 8)])
    assert len(responses) == 1
    assert simple_texts(responses) == ["\n\n".join(f"문단 {i}" for i in range(1, 8))]


def test_long_text_is_split_at_boundaries_without_losing_characters() -> None:
    sentence = "고양시 대형 폐기물은 구청 누리집이나 앱으로 신고한 뒤 배출해 주세요. "
    text = sentence * 60  # ~2300 characters
    responses = pages_of([{"text": text}])
    bubbles = simple_texts(responses)
    assert len(bubbles) == 3
    assert all(len(b) <= MAX_SIMPLE_TEXT_CHARS for b in bubbles)
    assert all(b.endswith("주세요.") for b in bubbles[:-1])  # cut at a space, not inside a word
    assert squash("".join(bubbles)) == squash(text)


def test_split_long_text_cuts_a_word_without_spaces_hard() -> None:
    parts = split_long_text("가" * 2500)
    assert [len(p) for p in parts] == [1000, 1000, 500]


def test_answer_longer_than_three_outputs_is_paged_with_more_quick_reply() -> None:
    paragraphs = [f"{i}번 안내: " + "가나다라마바사 " * 120 for i in range(1, 6)]  # 5 × ~970 chars
    templates = build_templates([{"text": p} for p in paragraphs])
    assert len(templates) == 2
    first = page_response(templates, 1, TOKEN)
    assert_valid_skill_response(first)
    (more,) = first["template"]["quickReplies"]
    assert more["label"] == f"{texts.MORE_LABEL} (1/2)"
    assert more["extra"] == {CONTINUATION_KEY: TOKEN, PAGE_KEY: 2}
    responses = pages_of([{"text": p} for p in paragraphs])
    assert squash("".join(simple_texts(responses))) == squash("".join(paragraphs))


def test_quick_replies_of_a_paged_answer_are_on_its_last_page() -> None:
    messages = [{"text": "가" * 999} for _ in range(4)]
    messages.append({"text": "골라 주세요", "buttons": [{"title": "네", "payload": "/affirm"}]})
    responses = pages_of(messages)
    assert len(responses) == 2
    assert responses[0]["template"]["quickReplies"][0]["extra"][CONTINUATION_KEY] == TOKEN
    assert last_quick_replies(responses) == [
        {"label": "네", "action": "message", "messageText": "네", "extra": {"payload": "/affirm"}}
    ]


def test_empty_turn_still_gives_a_valid_answer() -> None:
    assert simple_texts(pages_of([])) == [texts.EMPTY_TURN]
    assert simple_texts(pages_of([{"text": "   "}])) == [texts.EMPTY_TURN]


# ----------------------------------------------------------------------------- buttons → quick replies


def test_buttons_become_quick_replies_with_payload_in_extra() -> None:
    responses = pages_of(
        [
            {
                "text": "어떤 민원인가요?",
                "buttons": [
                    {"title": "가로등 고장", "payload": '/report_complaint{"complaint_category":"streetlight"}'},
                    {"title": "불법 주차", "payload": '/report_complaint{"complaint_category":"illegal_parking"}'},
                    {"title": "처음으로", "payload": "처음으로 돌아갈래요"},
                ],
            }
        ]
    )
    assert simple_texts(responses) == ["어떤 민원인가요?"]
    assert last_quick_replies(responses) == [
        {
            "label": "가로등 고장",
            "action": "message",
            "messageText": "가로등 고장",
            "extra": {"payload": '/report_complaint{"complaint_category":"streetlight"}'},
        },
        {
            "label": "불법 주차",
            "action": "message",
            "messageText": "불법 주차",
            "extra": {"payload": '/report_complaint{"complaint_category":"illegal_parking"}'},
        },
        {"label": "처음으로", "action": "message", "messageText": "처음으로 돌아갈래요"},
    ]


def test_long_button_title_is_cut_in_the_label_but_kept_in_message_text() -> None:
    title = "주민참여예산 제안서 작성 방법 안내받기"
    (quick_reply,) = last_quick_replies(
        pages_of([{"text": "?", "buttons": [{"title": title, "payload": "/budget_propose"}]}])
    )
    assert len(quick_reply["label"]) == 14 and quick_reply["label"].endswith("…")
    assert quick_reply["messageText"] == title


def test_more_than_ten_quick_replies_are_listed_as_text() -> None:
    buttons = [{"title": f"선택 {i}", "payload": f"/choice_{i}"} for i in range(1, 14)]
    responses = pages_of([{"text": "골라 주세요", "buttons": buttons}])
    assert len(last_quick_replies(responses)) == MAX_QUICK_REPLIES
    listed = simple_texts(responses)[-1]
    assert listed.startswith(texts.MORE_CHOICES_HEADER)
    assert all(f"- 선택 {i}" in listed for i in (11, 12, 13))


def test_link_buttons_become_text_lines() -> None:
    responses = pages_of(
        [
            {
                "text": "자세한 내용은 누리집에서 확인해 주세요.",
                "buttons": [
                    {"title": "고양시청", "url": "https://www.goyang.go.kr"},
                    {"title": "여권 안내", "payload": "https://www.goyang.go.kr/passport"},
                ],
            }
        ]
    )
    assert simple_texts(responses) == [
        "자세한 내용은 누리집에서 확인해 주세요.\n고양시청: https://www.goyang.go.kr\n여권 안내: https://www.goyang.go.kr/passport"
    ]
    assert last_quick_replies(responses) == []


# ----------------------------------------------------------------------------- images and custom outputs


def test_image_becomes_simple_image_with_alt_text() -> None:
    responses = pages_of([{"text": "현장 지도예요."}, {"image": "https://example.org/map.png"}])
    assert outputs_of(responses)[1] == {
        "simpleImage": {"imageUrl": "https://example.org/map.png", "altText": texts.IMAGE_ALT_TEXT}
    }


def test_image_without_http_url_is_shown_as_text() -> None:
    assert simple_texts(pages_of([{"image": "map.png"}])) == [f"{texts.IMAGE_ALT_TEXT}: map.png"]


BASIC_CARD = {
    "title": "고양시 대형 폐기물 배출",
    "description": "신고 후 스티커를 붙여 지정된 날에 내놓아 주세요.",
    "thumbnail": {"imageUrl": "https://example.org/waste.jpg"},
    "buttons": [
        {"action": "message", "label": "수수료 보기", "messageText": "대형 폐기물 수수료"},
        {"action": "webLink", "label": "온라인 신고", "webLinkUrl": "https://example.org/report"},
        {"action": "phone", "label": "전화 문의", "phoneNumber": "031-909-9000"},
        {"action": "block", "label": "처음으로", "blockId": "64f1c0a2b1e4d37a5c9e0001"},
        {"action": "webLink", "label": "배출 요령", "webLinkUrl": "https://example.org/howto"},
    ],
}


def test_basic_card_buttons_over_three_move_to_quick_replies_or_text() -> None:
    responses = pages_of([{"custom": {"basicCard": BASIC_CARD}}])
    card = outputs_of(responses)[0]["basicCard"]
    assert [b["label"] for b in card["buttons"]] == ["수수료 보기", "온라인 신고", "전화 문의"]
    assert last_quick_replies(responses) == [
        {"label": "처음으로", "action": "block", "blockId": "64f1c0a2b1e4d37a5c9e0001"}
    ]
    assert simple_texts(responses) == ["배출 요령: https://example.org/howto"]


def test_basic_card_without_thumbnail_becomes_text_card() -> None:
    card = {"title": "민원 접수 완료", "description": "접수번호 GY-2024-0001", "buttons": BASIC_CARD["buttons"][:1]}
    (output,) = outputs_of(pages_of([{"custom": {"basicCard": card}}]))
    assert output == {
        "textCard": {
            "title": "민원 접수 완료",
            "description": "접수번호 GY-2024-0001",
            "buttons": [BASIC_CARD["buttons"][0]],
        }
    }


def test_text_card_long_description_is_cut_and_continued_as_text() -> None:
    description = "주민참여예산은 시민이 직접 예산 편성에 참여하는 제도예요. " * 20
    responses = pages_of([{"custom": {"textCard": {"title": "주민참여예산", "description": description}}}])
    card = outputs_of(responses)[0]["textCard"]
    assert len(card["description"]) == 400 and card["description"].endswith("…")
    (rest,) = simple_texts(responses)
    assert rest.startswith("…")
    assert squash(card["description"][:-1] + rest[1:]) == squash(description)


def test_text_card_with_blank_fields_gets_a_fallback_description() -> None:
    (output,) = outputs_of(pages_of([{"custom": {"textCard": {"title": "  ", "description": "\n"}}}]))
    assert output == {"textCard": {"description": texts.CARD_FALLBACK_DESCRIPTION}}


def test_carousel_over_ten_items_is_split() -> None:
    items = [
        {"title": f"{i}번 사업", "description": "설명", "thumbnail": {"imageUrl": f"https://example.org/{i}.jpg"}}
        for i in range(1, 14)
    ]
    responses = pages_of([{"custom": {"carousel": {"type": "basicCard", "items": items}}}])
    carousels = [o["carousel"] for o in outputs_of(responses)]
    assert [len(c["items"]) for c in carousels] == [10, 3]
    assert [i["title"] for c in carousels for i in c["items"]] == [f"{i}번 사업" for i in range(1, 14)]


def test_carousel_cards_without_picture_form_their_own_text_card_carousel() -> None:
    items = [
        {"title": "A", "thumbnail": {"imageUrl": "https://example.org/a.jpg"}},
        {"title": "B"},
        {"title": "C", "thumbnail": {"imageUrl": "https://example.org/c.jpg"}},
    ]
    carousels = [
        o["carousel"] for o in outputs_of(pages_of([{"custom": {"carousel": {"type": "basicCard", "items": items}}}]))
    ]
    assert [(c["type"], [i["title"] for i in c["items"]]) for c in carousels] == [
        ("basicCard", ["A"]),
        ("textCard", ["B"]),
        ("basicCard", ["C"]),
    ]


def test_list_card_over_five_items_is_split_and_keeps_two_buttons() -> None:
    list_card = {
        "header": {"title": "처리 중인 민원"},
        "items": [{"title": f"GY-2024-000{i}", "description": "처리 중"} for i in range(1, 8)],
        "buttons": [
            {"label": "전체 보기", "action": "message", "messageText": "민원 전체 보기"},
            {"label": "새 민원", "action": "message", "messageText": "민원 접수"},
            {"label": "상담원", "action": "message", "messageText": "상담원 연결"},
        ],
    }
    responses = pages_of([{"custom": {"listCard": list_card}}])
    cards = [o["listCard"] for o in outputs_of(responses)]
    assert [len(c["items"]) for c in cards] == [5, 2]
    assert all(c["header"] == {"title": "처리 중인 민원"} for c in cards)
    assert "buttons" not in cards[0] and len(cards[1]["buttons"]) == 2
    assert last_quick_replies(responses) == [{"label": "상담원", "action": "message", "messageText": "상담원 연결"}]


def test_whole_template_in_custom_is_passed_through() -> None:
    template = {
        "outputs": [{"simpleText": {"text": "어느 구에 사세요?"}}],
        "quickReplies": [
            {
                "label": "덕양구",
                "action": "message",
                "messageText": "덕양구",
                "extra": {"intent": "inform", "entities": {"district": "deogyang"}},
            },
            {"label": "일산동구", "action": "message", "messageText": "일산동구"},
        ],
    }
    responses = pages_of([{"custom": template}])
    assert responses == [{"version": "2.0", "template": template}]


def test_text_and_custom_of_one_message_keep_their_order() -> None:
    responses = pages_of(
        [{"text": "결과예요.", "custom": {"simpleImage": {"imageUrl": "https://example.org/r.png", "altText": "결과"}}}]
    )
    assert [next(iter(o)) for o in outputs_of(responses)] == ["simpleText", "simpleImage"]


def test_unknown_custom_payload_is_ignored_but_the_answer_stays_valid() -> None:
    responses = pages_of([{"custom": {"blocks": [{"type": "section"}]}}])
    assert simple_texts(responses) == [texts.EMPTY_TURN]


def test_mixed_rich_outputs_over_three_are_paged_in_order() -> None:
    messages = []
    for i in range(1, 4):
        messages += [{"text": f"{i}번 사진이에요."}, {"image": f"https://example.org/{i}.jpg"}]
    responses = pages_of(messages)
    kinds = [next(iter(o)) for o in outputs_of(responses)]
    assert kinds == ["simpleText", "simpleImage"] * 3
    assert [len(r["template"]["outputs"]) for r in responses] == [3, 3]


# ----------------------------------------------------------------------------- replies (bot.replies) of actions


def reply_pages(*sent: Reply) -> list[dict[str, Any]]:
    """The pages of a turn whose action sent these replies, as Rasa passes them to the channel."""
    dispatcher = CollectingDispatcher()
    for reply in sent:
        dispatcher.utter_message(**replies.rasa_message(reply))  # as actions.shared.utter sends it
    return pages_of([{key: value for key, value in message.items() if value} for message in dispatcher.messages])


def test_a_reply_offers_its_choices_as_quick_replies_and_its_links_as_lines() -> None:
    responses = reply_pages(
        Reply(
            "어떤 정보가 필요하세요?",
            [
                *replies.answers("사진 없음"),
                replies.tap(
                    "음식물쓰레기 배출 요일과 방법", '/civic_info{"civic_topic":"waste"}', "음쓰 어떻게 버려요?"
                ),
                replies.tap("처음으로", "/info_menu"),
                replies.link("고양시청", "https://www.goyang.go.kr"),
                replies.call("콜센터", "1577-1000"),
            ],
        )
    )
    assert simple_texts(responses) == ["어떤 정보가 필요하세요?\n고양시청: https://www.goyang.go.kr\n콜센터: 1577-1000"]
    assert last_quick_replies(responses) == [
        {"label": "사진 없음", "action": "message", "messageText": "사진 없음"},
        {
            "label": "음식물쓰레기 배출 요일과…",
            "action": "message",
            "messageText": "음쓰 어떻게 버려요?",
            "extra": {"payload": '/civic_info{"civic_topic":"waste"}'},
        },
        {"label": "처음으로", "action": "message", "messageText": "처음으로", "extra": {"payload": "/info_menu"}},
    ]


CARD_BUTTONS = (
    replies.link("자세히 보기", "https://www.goyang.go.kr/waste"),
    replies.call("전화 문의", "031-909-9000"),
    replies.tap("교통 소식 받기", "/subscribe"),
    replies.tap("처음으로", "/info_menu"),
)
KAKAO_CARD_BUTTONS = [
    {"action": "webLink", "label": "자세히 보기", "webLinkUrl": "https://www.goyang.go.kr/waste"},
    {"action": "phone", "label": "전화 문의", "phoneNumber": "031-909-9000"},
    {
        "action": "message",
        "label": "교통 소식 받기",
        "messageText": "교통 소식 받기",
        "extra": {"payload": "/subscribe"},
    },
]


def test_a_card_alone_keeps_its_whole_text_and_shows_its_picture_when_the_text_fits() -> None:
    short = Card("쓰레기 배출", "요일에 맞춰 내놓아 주세요.", CARD_BUTTONS, image_url="https://example.org/w.png")
    responses = reply_pages(Reply(text="안내예요.", cards=[short], buttons=replies.answers("고마워요")))
    assert outputs_of(responses) == [
        {"simpleText": {"text": "안내예요."}},
        {
            "basicCard": {
                "title": "쓰레기 배출",
                "description": "요일에 맞춰 내놓아 주세요.",
                "buttons": KAKAO_CARD_BUTTONS,
                "thumbnail": {"imageUrl": "https://example.org/w.png"},
            }
        },
    ]
    # a fourth button is offered as a quick reply, after the reply's own choices
    assert [reply["label"] for reply in last_quick_replies(responses)] == ["고마워요", "처음으로"]
    long = Card("쓰레기 배출", "가" * 300 + "요.", CARD_BUTTONS[:1], image_url="https://example.org/w.png")
    assert outputs_of(reply_pages(Reply(cards=[long]))) == [
        {"textCard": {"title": "쓰레기 배출", "description": "가" * 300 + "요.", "buttons": KAKAO_CARD_BUTTONS[:1]}}
    ]


def test_cards_of_a_carousel_keep_their_pictures_and_are_split_by_ten() -> None:
    cards = [
        Card(
            f"{i}번 사업",
            "가" * 300,
            [replies.tap("의견 남기기", f'/budget_feedback{{"budget_project":"p{i}"}}')],
            image_url=f"https://example.org/{i}.jpg",
            image_alt=f"{i}번 사업",
        )
        for i in range(1, 13)
    ]
    cards[11] = Card("12번 사업", "사진 없는 사업이에요.")
    responses = reply_pages(Reply("후보 사업 12개예요.", cards=cards, carousel=True))
    carousels = [output["carousel"] for output in outputs_of(responses) if "carousel" in output]
    assert [(c["type"], len(c["items"])) for c in carousels] == [("basicCard", 10), ("basicCard", 1), ("textCard", 1)]
    first = carousels[0]["items"][0]
    assert first["thumbnail"] == {"imageUrl": "https://example.org/1.jpg", "altText": "1번 사업"}
    assert len(first["description"]) == 230 and first["description"].endswith("…")  # the rest follows as text
    assert first["buttons"][0]["extra"] == {"payload": '/budget_feedback{"budget_project":"p1"}'}


def test_a_reply_survives_the_trip_through_rasa_unchanged() -> None:
    reply = Reply(
        "안내",
        [replies.tap("가", "/a", "가요"), Button("나"), replies.link("다", "https://example.org")],
        [Card("제목", "내용", CARD_BUTTONS, image_url="https://example.org/c.png", image_alt="그림")],
        carousel=True,
    )
    message = replies.rasa_message(reply)
    assert [Button.from_rasa(button) for button in message["buttons"]] == [
        Button("가", payload="/a", message="가요"),
        Button("나", payload="나"),
        replies.link("다", "https://example.org"),
    ]
    (cards, carousel) = replies.cards_in(message["json_message"])
    assert carousel and cards == list(reply.cards)


def test_replies_offer_no_more_choices_than_kakao_shows() -> None:
    assert replies.MAX_CHOICES <= MAX_QUICK_REPLIES


# ----------------------------------------------------------------------------- channel's own responses


def test_channel_responses_are_valid() -> None:
    assert_valid_skill_response(callback_acknowledgement(texts.CALLBACK_WAIT))
    assert_valid_skill_response(text_response(texts.TURN_FAILED))
    assert_valid_skill_response(text_response("가" * 2500))


# ----------------------------------------------------------------------------- property: always valid, nothing lost

_korean_text = st.text(alphabet="가나다라마바사아자차카타파하 .\n0123456789abc", min_size=0, max_size=1500)
_button = st.fixed_dictionaries(
    {
        "title": st.one_of(st.text(min_size=1, max_size=30), st.text(alphabet=" \n가", max_size=20)),
        "payload": st.sampled_from(["/greet", "/deny", "안녕", ""]),
    }
)
_message = st.one_of(
    st.fixed_dictionaries({"text": _korean_text}),
    st.fixed_dictionaries({"text": _korean_text, "buttons": st.lists(_button, max_size=14)}),
    st.fixed_dictionaries({"image": st.sampled_from(["https://example.org/a.png", "not-a-url"])}),
    st.fixed_dictionaries(
        {
            "custom": st.fixed_dictionaries(
                {
                    "textCard": st.fixed_dictionaries(
                        {
                            "title": st.one_of(st.text(max_size=80), st.text(alphabet=" \n가", max_size=60)),
                            "description": _korean_text,
                            "buttons": st.lists(
                                st.fixed_dictionaries(
                                    {
                                        "label": st.text(min_size=1, max_size=20),
                                        "action": st.just("message"),
                                        "messageText": st.text(min_size=1, max_size=20),
                                    }
                                ),
                                max_size=6,
                            ),
                        }
                    )
                }
            )
        }
    ),
)


@settings(max_examples=examples(80), deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_message, max_size=9))
def test_any_turn_gives_valid_pages(messages: list[dict[str, Any]]) -> None:
    responses = pages_of(messages)
    for response in responses:
        assert len(response["template"]["outputs"]) <= MAX_OUTPUTS


@settings(max_examples=examples(80), deadline=None, database=None)
@given(st.lists(_korean_text, max_size=8))
def test_text_content_survives_merging_splitting_and_paging(pieces: list[str]) -> None:
    responses = pages_of([{"text": piece} for piece in pieces])
    assert squash("".join(simple_texts(responses))) == squash("".join(pieces)) or (
        not squash("".join(pieces)) and simple_texts(responses) == [texts.EMPTY_TURN]
    )
