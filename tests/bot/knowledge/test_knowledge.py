"""The civic knowledge base: loading, validation, answer selection, Kakao rendering, "did you
mean", the fallback ladder's reading of the conversation, coverage lint, subscriptions storage
and broadcast queueing. In-process and fast (the Korean analyzer starts once)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.shared import utter
from bot.channels.kakao.extra import rasa_payload_from
from bot.channels.kakao.response import build_templates, page_response
from bot.city import get_city_config
from bot.delivery.outbox import OutboxEntry
from bot.knowledge import KnowledgeError, get_knowledge_base, load_knowledge_base, render_answer, select_answer
from bot.knowledge.clarification import clarified_text, complaint_or_info, complaint_or_info_question
from bot.knowledge.fallback import did_you_mean, failed_tries_in_a_row, human_offer, question_before_tap
from bot.knowledge.lint import check_knowledge_coverage
from bot.knowledge.loader import DEFAULT_DATA_DIR, MAX_ANSWERS_PER_TOPIC
from bot.knowledge.search import get_search_index, search_knowledge
from bot.knowledge.suggestions import Suggestion, suggest
from bot.replies import Reply
from bot.subscriptions import (
    BroadcastError,
    EventApiSettings,
    Subscriber,
    Subscription,
    SubscriptionStore,
    broadcast,
    get_catalogue,
)
from tests.kakao_helpers import assert_valid_skill_response

TOPICS = [
    "waste",
    "certificates",
    "passport",
    "parking",
    "local_tax",
    "welfare",
    "jobs",
    "education",
    "tourism",
    "transport",
    "library",
    "health",
    "contact",
]
SETTINGS = EventApiSettings(bot_id="test-bot", rest_api_key="test-key")


def kakao_response(reply: Reply) -> dict:
    """What the Kakao channel answers for an action that sends this reply (as Rasa passes it on)."""
    dispatcher = CollectingDispatcher()
    utter(dispatcher, reply)
    messages = [{key: value for key, value in message.items() if value} for message in dispatcher.messages]
    return page_response(build_templates(messages), 1, token=None)


# --- loading and validation -----------------------------------------------------------------------


def test_every_design_topic_has_knowledge_marked_as_sample():
    knowledge = get_knowledge_base()
    assert sorted(knowledge.topics) == sorted(TOPICS)
    for topic in knowledge:
        assert topic.sample_data, topic.id
        assert 3 <= len(topic.answers) <= MAX_ANSWERS_PER_TOPIC
        assert all(answer.link.startswith("https://www.goyang.go.kr/") for answer in topic.answers)
        assert all(answer.text.endswith("요.") for answer in topic.answers), topic.id  # 해요체


def write_topic(directory: Path, topic_id: str, **changes) -> None:
    data = yaml.safe_load((DEFAULT_DATA_DIR / "waste.yml").read_text(encoding="utf-8"))
    data["topic"] = topic_id
    for key, value in changes.items():
        if key.startswith("answer0_"):
            data["answers"][0][key[len("answer0_") :]] = value
        else:
            data[key] = value
    (directory / f"{topic_id}.yml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_validation_lists_every_problem(tmp_path):
    write_topic(
        tmp_path,
        "waste",
        answer0_text="가" * 401,
        answer0_link="http://insecure.example",
        answer0_phone="call us",
        answer0_colour="blue",
        title="아주아주아주아주긴주제이름입니다",
    )
    write_topic(tmp_path, "parking", topic="parking_lots")
    write_topic(
        tmp_path,
        "jobs",
        answers=[
            {
                "id": "same",
                "title": "가",
                "keywords": ["가"],
                "text": "가요.",
                "link": "https://a.example",
                "phone": "129",
            }
        ]
        * 2,
    )
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge_base(tmp_path)
    problems = "\n".join(raised.value.errors)
    for expected in (
        "'text' has 401 characters",
        "'link' must be an https URL",
        "'phone' must be a phone number",
        "unknown field 'colour'",
        "'title' has 16 characters",
        "but the file is named parking.yml",
        "answer id 'same' is used twice",
    ):
        assert expected in problems
    assert len(raised.value.errors) == 7


def test_too_many_answers_is_an_error(tmp_path):
    answers = yaml.safe_load((DEFAULT_DATA_DIR / "health.yml").read_text(encoding="utf-8"))["answers"]
    write_topic(tmp_path, "waste", answers=answers + [dict(answers[0], id="extra")])
    with pytest.raises(KnowledgeError, match=f"at most {MAX_ANSWERS_PER_TOPIC}"):
        load_knowledge_base(tmp_path)


# --- selection ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "topic_id, question, expected",
    [
        ("waste", "소파랑 장롱 버리려면 스티커 어디서 사요?", "large_items"),
        ("waste", "음쓰 종량제 칩 얼마야", "food_waste"),
        ("waste", "일산서구 주엽동 재활용 배출 요일 알려줘", "recycling_days"),
        ("waste", "냉장고 무료로 수거해 가는 서비스 있나요?", "appliance_pickup"),
        ("waste", "폐의약품 버리는 곳", "special_items"),
        ("certificates", "등본 뗄라면 어디 가야돼", "resident_registration"),
        ("certificates", "인감증명 대리발급 되나요? 위임장 필요한가요", "seal_certificate"),
        ("passport", "아이 여권 만들려면 부모가 같이 가야 하나요?", "minors"),
        ("parking", "견인된 차 어디서 찾아요?", "towing"),
        ("parking", "장애인 차량 공영주차장 할인", "discounts"),
        ("local_tax", "자동차세 1월에 한번에 내면 할인된다던데 맞아?", "car_tax_annual"),
        ("local_tax", "자동차세 이중으로 낸 거 같은데 환급 어떻게 받아요", "refunds_objections"),
        ("welfare", "우리 어머니가 올해 65세 되셨는데 기초연금 신청을 해야 한다고 들었어요", "basic_pension"),
        ("transport", "장애인 콜택시 이용 신청", "mobility_support"),
        ("transport", "서해선 대곡역 환승", "rail"),
        ("library", "책 대출 연장 방법", "loans"),
        ("health", "치매 검사 무료로 받을 수 있나요", "dementia"),
        ("contact", "야간에 연락할 수 있는 당직실 번호", "night_duty"),
    ],
)
def test_sub_answer_is_selected_from_the_question_morphemes(topic_id, question, expected):
    selection = select_answer(get_knowledge_base().topic(topic_id), question)
    assert selection.answer_id == expected, selection


@pytest.mark.parametrize(
    "topic_id, question",
    [
        ("passport", "여권 발급"),
        ("health", "보건소 위치"),
        ("waste", "단독주택은 쓰레기를 어디에 내놔요?"),
    ],
)
def test_general_questions_get_the_topic_overview(topic_id, question):
    assert select_answer(get_knowledge_base().topic(topic_id), question).answer is None


def test_a_tie_gets_the_overview():
    topic = get_knowledge_base().topic("waste")
    words = lambda text: tuple(text.split())  # noqa: E731 - a stand-in analyzer: words at spaces
    # "소파" selects large_items, "무료" appliance_pickup: equally strong, equally long
    assert select_answer(topic, "소파 무료", terms_of=words).answer is None
    assert select_answer(topic, "소파", terms_of=words).answer_id == "large_items"


def test_the_action_server_cuts_every_keyword_before_the_first_question():
    """Cutting a topic's keywords takes the analyzer seconds: done at start-up, in the background."""
    from actions.knowledge import WARM_UP, _all_keywords
    from bot.knowledge.matching import morpheme_terms, warm_up_in_background

    keywords = _all_keywords()
    assert "대형폐기물" in keywords and len(keywords) > 300
    warm_up_in_background(lambda: keywords).join(timeout=120)
    WARM_UP.join(timeout=120)  # the action module's own warm-up (keywords and the search index)
    before = morpheme_terms.cache_info()
    select_answer(get_knowledge_base().topic("waste"), "대형폐기물 버리는 법")
    after = morpheme_terms.cache_info()
    assert after.misses - before.misses == 1  # the question itself; its topic's keywords were ready


# --- searching every answer (the long tail of questions) ---------------------------------------------------


@pytest.mark.parametrize(
    "question, topic_id, answer_id",
    [
        ("음식물 쓰레기 칩 어디서 사요", "waste", "food_waste"),
        ("냉장고 버리려는데 무료로 가져가 주나요", "waste", "appliance_pickup"),
        ("주차 딱지 어떻게 내나요", "parking", "fine_payment"),
        ("아이 예방접종 어디서 맞아요", "health", "vaccination"),
        ("도서관 책 몇권 빌릴수있어", "library", "loans"),
        ("자동차세 연납 할인", "local_tax", "car_tax_annual"),
        ("이사가면 전입신고", "certificates", "move_in"),
        ("노인 일자리", "jobs", "senior_jobs"),
        ("건강검진 어디서", "health", "checkups"),
    ],
)
def test_a_question_is_searched_over_every_answer_of_every_topic(question, topic_id, answer_id):
    hit = search_knowledge(question)
    assert hit is not None and (hit.topic.id, hit.answer.id) == (topic_id, answer_id)


@pytest.mark.parametrize("question", ["자존감이 바닥을 친다", "오늘 점심 뭐 먹지", "입학준비금 지원"])
def test_a_search_without_a_clear_winner_answers_nothing(question):
    assert search_knowledge(question) is None  # "did you mean" then helps instead of a wrong card


def test_the_search_index_is_built_once_and_warmed_up_with_the_keywords():
    from actions.knowledge import WARM_UP
    from bot.knowledge.matching import morpheme_terms

    WARM_UP.join(timeout=120)  # started when the action module is imported, as in the action server
    assert get_search_index() is get_search_index()
    before = morpheme_terms.cache_info()
    search_knowledge("공공자전거 빌리는 곳")
    assert morpheme_terms.cache_info().misses - before.misses == 1  # only the question is cut


# --- complaint or information ----------------------------------------------------------------------------


def ranked(text, ranking, entities=()):
    return {
        "text": text,
        "intent": {"name": ranking[0][0]},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        "entities": list(entities),
    }


def test_complaint_or_information_is_asked_only_when_both_paths_lead():
    assert complaint_or_info(
        ranked("주차 단속", [("nlu_fallback", 0.45), ("civic_info", 0.44), ("report_complaint", 0.4)])
    )
    assert complaint_or_info(ranked("주차 단속", [("report_complaint", 0.6), ("civic_info", 0.3)]))
    assert not complaint_or_info(ranked("주차 단속", [("civic_info", 0.8), ("report_complaint", 0.15)]))
    assert not complaint_or_info(ranked("주차 단속", [("civic_info", 0.5), ("greet", 0.3), ("report_complaint", 0.2)]))
    assert not complaint_or_info(ranked("/civic_info", [("civic_info", 0.5), ("report_complaint", 0.5)]))


def test_the_question_carries_what_nlu_found_and_renders_for_kakao():
    question = complaint_or_info_question(
        {"complaint_category": "illegal_parking", "location": "주엽역 앞"},
        "parking",
        "enforcement_alert",
        [
            Suggestion("민원 신고", "/report_complaint", 0.4),
            Suggestion("긴급 신고", "/report_emergency", 0.1),
            Suggestion("예산 사업 제안", "/budget_propose", 0.05),
        ],
    )
    replies = kakao_response(question)["template"]["quickReplies"]
    assert [reply["label"] for reply in replies] == ["신고할래요", "안내가 필요해요", "긴급 신고"]
    assert [rasa_payload_from(reply["extra"]) for reply in replies] == [
        '/report_complaint{"complaint_category":"illegal_parking","location":"주엽역 앞"}',
        '/civic_info{"civic_topic":"parking","civic_answer":"enforcement_alert"}',
        "/report_emergency",
    ]
    assert_valid_skill_response(kakao_response(question))
    asked = {
        "event": "user",
        "text": "주차 단속",
        "parse_data": ranked("주차 단속", [("report_complaint", 0.6), ("civic_info", 0.3)]),
    }
    tap = {
        "event": "user",
        "text": "/report_complaint",
        "parse_data": ranked("/report_complaint", [("report_complaint", 1.0)]),
    }
    assert clarified_text([asked, {"event": "bot"}, tap]) == "주차 단속"
    assert clarified_text([user("주차 단속", "civic_info"), tap]) is None


# --- rendering -----------------------------------------------------------------------------------------


def all_answers():
    for topic in get_knowledge_base():
        yield topic, None
        for answer in topic.answers:
            yield topic, answer


@pytest.mark.parametrize("topic, answer", list(all_answers()), ids=lambda value: getattr(value, "id", "overview"))
def test_every_answer_renders_to_a_valid_kakao_card(topic, answer):
    response = kakao_response(render_answer(topic, answer))
    assert_valid_skill_response(response)
    template = response["template"]
    (output,) = template["outputs"]  # the card alone: nothing had to be cut or continued as text
    ((card_type, card),) = output.items()
    assert card_type == "textCard"  # the sample data has no thumbnails
    assert card["title"] == (f"{topic.title} · {answer.title}" if answer else topic.title)
    assert card["description"] == (answer.text if answer else topic.overview)
    link, phone = (answer.link, answer.phone) if answer else (topic.link, topic.phone)
    assert card["buttons"] == [
        {"action": "webLink", "label": "자세히 보기", "webLinkUrl": link},
        {"action": "phone", "label": "전화 문의", "phoneNumber": phone},
    ]
    assert len(template["quickReplies"]) <= 10
    for reply in template["quickReplies"]:
        assert rasa_payload_from(reply["extra"])  # taps skip NLU
    payloads = [r["extra"]["payload"] for r in template["quickReplies"]]
    shown = [json.loads(p[p.index("{") :]).get("civic_answer") for p in payloads if p.startswith("/civic_info")]
    expected = [a.id for a in topic.answers if answer is None or a.id != answer.id] + ([None] if answer else [])
    assert shown == expected
    others = [a for a in topic.answers if answer is None or a.id != answer.id]
    assert [r["messageText"] for r in template["quickReplies"][: len(others)]] == [a.question for a in others]


def test_with_a_thumbnail_short_answers_are_basic_cards(tmp_path):
    write_topic(
        tmp_path,
        "waste",
        thumbnail_url="https://www.goyang.go.kr/images/waste.png",
        answer0_text="대형폐기물은 신고하고 필증을 붙여 내놓아 주세요.",
    )
    topic = load_knowledge_base(tmp_path).topic("waste")
    short = topic.answers[0]
    long = dataclasses.replace(short, text="가" * 300 + "요.")
    extra_button = get_subscribe_button_for("transport")
    response = kakao_response(render_answer(topic, short, extra_button))
    assert_valid_skill_response(response)
    card = response["template"]["outputs"][0]["basicCard"]
    assert card["thumbnail"] == {"imageUrl": "https://www.goyang.go.kr/images/waste.png"}
    assert len(card["buttons"]) == 3
    assert card["buttons"][2] == {
        "action": "message",
        "label": "교통 소식 받기",
        "messageText": "교통 소식 받기",
        "extra": {"payload": '/subscribe{"subscription_topic":"transport"}'},
    }
    # 230 characters at most in a basicCard: a longer answer keeps its whole text in a textCard
    (output,) = kakao_response(render_answer(topic, long))["template"]["outputs"]
    assert output["textCard"]["description"] == long.text


def get_subscribe_button_for(civic_topic: str) -> dict:
    from bot.subscriptions.replies import subscribe_card_button

    return subscribe_card_button(get_catalogue().for_civic_topic(civic_topic))


# --- did you mean and the fallback ladder ----------------------------------------------------------------


def parse_data(intent_ranking, topic_ranking=()):
    return {
        "intent": {"name": "nlu_fallback", "confidence": 0.45},
        "intent_ranking": [{"name": name, "confidence": confidence} for name, confidence in intent_ranking],
        "response_selector": {
            "civic_info": {
                "ranking": [
                    {"intent_response_key": f"civic_info/{topic}", "confidence": confidence}
                    for topic, confidence in topic_ranking
                ]
            }
        },
    }


def test_suggestions_merge_intents_and_civic_topics():
    data = parse_data(
        [("nlu_fallback", 0.45), ("civic_info", 0.4), ("report_complaint", 0.3), ("greet", 0.2), ("budget_info", 0.05)],
        [("parking", 0.6), ("transport", 0.3), ("waste", 0.1)],
    )
    suggestions = suggest(data, get_knowledge_base().titles)
    assert [(s.label, s.payload) for s in suggestions] == [
        ("민원 신고", "/report_complaint"),  # 0.30
        ("주차", '/civic_info{"civic_topic":"parking"}'),  # 0.4 × 0.6
        ("교통", '/civic_info{"civic_topic":"transport"}'),  # 0.4 × 0.3; greet is never offered
    ]
    assert_valid_skill_response(kakao_response(did_you_mean(suggestions)))


def user(text, intent):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def test_failed_tries_are_counted_in_a_row_within_the_session():
    bot = {"event": "bot", "text": "…"}
    assert failed_tries_in_a_row([user("안녕", "greet"), bot, user("asdf", "nlu_fallback")]) == 1
    events = [user("asdf", "nlu_fallback"), bot, user("qwer", "nlu_fallback")]
    assert failed_tries_in_a_row(events) == 2
    assert (
        failed_tries_in_a_row(
            [user("asdf", "nlu_fallback"), {"event": "session_started"}, user("qwer", "nlu_fallback")]
        )
        == 1
    )
    assert failed_tries_in_a_row(events + [user("/civic_info", "civic_info")]) == 0
    assert question_before_tap(events + [user("/civic_info", "civic_info")]) == "qwer"
    assert question_before_tap([user("쓰레기", "civic_info"), user("/civic_info", "civic_info")]) is None


def test_human_offer_has_the_call_centre_and_the_handoff_option():
    profile = get_city_config().profile
    response = kakao_response(human_offer(profile, []))
    assert_valid_skill_response(response)
    card = response["template"]["outputs"][0]["textCard"]
    assert card["buttons"] == [{"action": "phone", "label": "전화 걸기", "phoneNumber": profile.call_centre_phone}]
    assert response["template"]["quickReplies"][0]["extra"] == {"payload": "/human_handoff"}


# --- coverage lint ------------------------------------------------------------------------------------------


class FakeNlu:
    def __init__(self, topics):
        self.intent_examples = [{"intent": "civic_info", "intent_response_key": f"civic_info/{t}"} for t in topics]


def test_the_project_knowledge_covers_the_nlu_data():
    report = check_knowledge_coverage()
    assert report.errors == []
    assert any("sample content" in warning for warning in report.warnings)


def test_coverage_reports_missing_and_unreachable_knowledge(tmp_path):
    for topic_id in ("waste", "parking"):
        shutil.copy(DEFAULT_DATA_DIR / f"{topic_id}.yml", tmp_path)
    write_topic(tmp_path, "tourism", answer0_keywords=[])
    report = check_knowledge_coverage(FakeNlu(["waste", "parking", "tourism", "library"]), tmp_path)
    assert report.errors == [
        "knowledge: civic_info/library has NLU examples but no data/knowledge/library.yml",
        "knowledge: tourism/large_items cannot be reached: it has no keywords",
    ]
    report = check_knowledge_coverage(FakeNlu(["waste", "tourism"]), tmp_path)
    assert (
        "knowledge: topic 'parking' cannot be reached: no civic_info/parking examples in the NLU data" in report.errors
    )


# --- subscriptions: catalogue, store, broadcast queue ---------------------------------------------------------


def test_targets_are_found_in_the_words_of_a_message():
    catalogue = get_catalogue()
    assert [t.key for t in catalogue.find_targets("교통이랑 일산서구 소식 둘 다 받을래요")] == ["transport", "일산서구"]
    assert [t.key for t in catalogue.find_targets("덕양 주민인데 폭염 알림 받고 싶어요")] == ["safety", "덕양구"]
    assert catalogue.find_targets("구독하고 싶어요") == []


@pytest.fixture()
def store(tmp_path) -> SubscriptionStore:
    return SubscriptionStore.from_env(f"sqlite:///{tmp_path / 'sotong.db'}")


def test_consent_and_unsubscribe_are_recorded_and_kept(store):
    alice = Subscriber("alice-key")
    assert store.subscribe(alice, "transport", "v1") is True
    assert store.subscribe(alice, "transport", "v1") is False  # already active
    assert store.unsubscribe("alice-key", ["transport"]) == ["transport"]
    assert store.subscribe(alice, "transport", "v2") is True
    with store.sessions() as session:
        rows = session.execute(select(Subscription).order_by(Subscription.id)).scalars().all()
    assert [(r.consent_version, r.unsubscribed_at is None) for r in rows] == [("v1", False), ("v2", True)]
    assert all(r.consented_at.tzinfo is not None for r in rows)


def test_a_broadcast_is_queued_in_batches_of_100(store):
    for index in range(150):
        store.subscribe(Subscriber(f"user-{index:03}"), "welfare", "v1")
    store.subscribe(Subscriber("other"), "transport", "v1")
    result = broadcast(store, get_catalogue(), "welfare", "기초연금 신청 안내예요.", sent_by="test", settings=SETTINGS)
    assert (result.recipients, result.batches) == (150, 2)
    with store.sessions() as session:
        entries = session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars().all()
    assert [(e.send_method, e.destination) for e in entries] == [
        ("kakao", "https://bot-api.kakao.com/v2/bots/test-bot/talk")
    ] * 2
    bodies = [entry.payload["event_api"] for entry in entries]
    assert [len(body["user"]) for body in bodies] == [100, 50]
    assert bodies[0]["user"][0] == {"type": "botUserKey", "id": "user-000"}
    assert bodies[0]["event"] == {"name": "sotong_notice", "data": {"text": "[복지 소식]\n기초연금 신청 안내예요."}}
    assert bodies[0]["params"]["topic"] == "welfare"


@pytest.mark.parametrize(
    "target, text, settings, message",
    [
        ("lottery", "안내", SETTINGS, "unknown subscription target"),
        ("welfare", "", SETTINGS, "1-900 characters"),
        ("welfare", "안내", EventApiSettings(), "KAKAO_BOT_ID"),
    ],
)
def test_a_broadcast_that_cannot_be_sent_is_refused(store, target, text, settings, message):
    with pytest.raises(BroadcastError, match=message):
        broadcast(store, get_catalogue(), target, text, sent_by="test", settings=settings)
