"""Issue 14's examples as whole KakaoTalk conversations: Kakao-shaped skill JSON over HTTP to the
running test stack (trained model, `rasa run` with the Kakao channel, action server), quick-reply
taps sent back as Open Builder sends them (`action.clientExtra`). Every answer is checked against
the SkillResponse schema; what the conversation did is read from Rasa's tracker."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from bot.channels.kakao.response import build_templates
from bot.knowledge import texts
from bot.knowledge.clarification import complaint_or_info, complaint_or_info_question
from bot.replies import rasa_message
from tests.kakao_helpers import assert_valid_skill_response, post_skill, skill_payload

TICKET_NUMBER = re.compile(r"GY-\d{4}-\d{6}")
# Answers to the complaint form's questions, by requested slot, for filing a complaint to the end.
FORM_ANSWERS = {
    "complaint_category": "기타 생활민원",
    "location": "일산동구 풍산동 풍산역 1번 출구 앞",
    "description": "공사장에서 날리는 먼지 때문에 창문을 열 수가 없어요",
    "photo_url": "사진 없음",
    "duplicate_choice": "새로 접수할게요",
    "consent": "동의하지 않아요",
    "complaint_decision": "네 접수해 주세요",
}
# A typed message on one subject that may be a complaint or a question, as NLU reads it when the two
# paths are close. Whether a given model finds some wording close depends on its training run, so
# the conversation starts from this parse (appended through Rasa's API) and goes on over Kakao.
MAYBE_EITHER = "주차 단속 좀"
CLOSE_PARSE = {
    "text": MAYBE_EITHER,
    "intent": {"name": "report_complaint", "confidence": 0.55},
    "intent_ranking": [
        {"name": "report_complaint", "confidence": 0.55},
        {"name": "civic_info", "confidence": 0.40},
        {"name": "smalltalk", "confidence": 0.05},
    ],
    "entities": [
        {
            "entity": "complaint_category",
            "value": "illegal_parking",
            "start": 0,
            "end": 2,
            "extractor": "DIETClassifier",
        }
    ],
    "response_selector": {
        "all_retrieval_intents": ["civic_info"],
        "civic_info": {
            "response": {"intent_response_key": "civic_info/parking", "confidence": 0.9},
            "ranking": [{"intent_response_key": "civic_info/parking", "confidence": 0.9}],
        },
    },
}


@pytest.fixture(scope="module")
def stack(rasa_stack: Any) -> Any:
    return rasa_stack


def turn(stack: Any, user: str, text: str, payload: str | None = None) -> dict[str, Any]:
    """One message (or a quick-reply tap carrying `payload`) and the SkillResponse template."""
    extra = {"payload": payload} if payload else None
    response = post_skill(
        stack.kakao_url, skill_payload(text, user, client_extra=extra), stack.kakao_secret, timeout=30
    )
    assert response.status_code == 200, response.text
    assert_valid_skill_response(response.json())
    return response.json()["template"]


def tap(stack: Any, user: str, template: dict[str, Any], label: str) -> dict[str, Any]:
    (reply,) = [reply for reply in template.get("quickReplies", []) if reply["label"] == label]
    return turn(stack, user, reply["messageText"], reply["extra"]["payload"])


def words(template: dict[str, Any]) -> str:
    """Every text of the answer: simple texts and card titles and descriptions."""
    found = []
    for output in template["outputs"]:
        for kind in ("simpleText", "textCard", "basicCard"):
            if kind in output:
                found += [output[kind].get(key) or "" for key in ("text", "title", "description")]
    return "\n".join(part for part in found if part)


def tracker(stack: Any, user: str) -> dict[str, Any]:
    response = requests.get(stack.api_url(f"/conversations/{user}/tracker"), timeout=10)
    response.raise_for_status()
    return response.json()


def form_state(stack: Any, user: str) -> tuple:
    state = tracker(stack, user)
    return (state.get("active_loop") or {}).get("name"), state["slots"]


def assert_no_form(stack: Any, user: str) -> None:
    loop, slots = form_state(stack, user)
    assert loop is None and slots.get("complaint_category") is None


def test_an_enforcement_request_opens_the_complaint_form_not_the_parking_card(stack):
    answer = turn(stack, "e2e-i14-parking", "불법 주정차 단속 요청합니다")
    loop, slots = form_state(stack, "e2e-i14-parking")
    assert loop == "complaint_form" and slots["complaint_category"] == "illegal_parking", words(answer)
    assert not [o for o in answer["outputs"] if "textCard" in o and o["textCard"]["title"].startswith("주차")]


def test_a_bus_that_does_not_stop_is_a_bus_service_complaint(stack):
    answer = turn(stack, "e2e-i14-bus", "버스가 정류장에 안 서고 그냥 지나가요")
    loop, slots = form_state(stack, "e2e-i14-bus")
    assert loop == "complaint_form" and slots["complaint_category"] == "bus_service", words(answer)


def test_construction_dust_can_be_filed_to_the_end(stack):
    user = "e2e-i14-dust"
    answer = turn(stack, user, "공사장 먼지가 너무 심해서 창문을 못 열어요")
    for _ in range(8):
        loop, slots = form_state(stack, user)
        if loop != "complaint_form":
            break
        answer = turn(stack, user, FORM_ANSWERS[slots["requested_slot"]])
    assert TICKET_NUMBER.search(words(answer)), words(answer)
    assert tracker(stack, user)["slots"]["complaint_category"] is None  # the form's slots were cleared


def test_casual_talk_gets_a_friendly_reply_and_no_form(stack):
    answer = turn(stack, "e2e-i14-chat", "자존감이 바닥을 친다")
    assert_no_form(stack, "e2e-i14-chat")
    assert tracker(stack, "e2e-i14-chat")["latest_message"]["intent"]["name"] == "smalltalk", words(answer)
    assert "고양시 소통 챗봇" in words(answer) or "수고 많으셨어요" in words(answer)


def test_a_person_in_danger_gets_119_first(stack):
    answer = turn(stack, "e2e-i14-chest", "가슴이 너무 아프고 숨쉬기가 힘드네")
    first = answer["outputs"][0]["simpleText"]["text"]
    assert "119" in first, words(answer)
    assert form_state(stack, "e2e-i14-chest")[0] in (None, "emergency_form")  # never the complaint form


def asked_about_close_message(stack: Any, user: str) -> dict[str, Any]:
    """The citizen's message with CLOSE_PARSE and the complaint path's question about it, written
    into the conversation through Rasa's API as a turn leaves them (the question itself, from the
    action server, is tested in tests/actions/test_knowledge_actions.py); returns the Kakao quick replies
    the channel makes of its choices, by label."""
    assert complaint_or_info(CLOSE_PARSE)  # the parse is one the dialogue must ask about
    question = rasa_message(complaint_or_info_question({"complaint_category": "illegal_parking"}, "parking"))
    events = [
        {"event": "user", "text": MAYBE_EITHER, "parse_data": CLOSE_PARSE, "input_channel": "kakao"},
        {"event": "action", "name": "action_start_complaint"},
        {"event": "bot", "text": question["text"], "data": {"buttons": question["buttons"]}},
        {"event": "action", "name": "action_listen"},
    ]
    requests.post(stack.api_url(f"/conversations/{user}/tracker/events"), json=events, timeout=30).raise_for_status()
    (template,) = build_templates([{"text": question["text"], "buttons": question["buttons"]}])
    return {reply["label"]: reply for reply in template["quickReplies"]}


def tap_reply(stack: Any, user: str, reply: dict[str, Any]) -> dict[str, Any]:
    return turn(stack, user, reply["messageText"], reply["extra"]["payload"])


def test_a_message_that_may_be_either_is_asked_about_then_the_choice_is_followed(stack):
    asked = asked_about_close_message(stack, "e2e-i14-ask-1")
    assert list(asked)[:2] == ["신고할래요", "안내가 필요해요"] and len(asked) <= 3
    assert_no_form(stack, "e2e-i14-ask-1")

    form = tap_reply(stack, "e2e-i14-ask-1", asked["신고할래요"])
    loop, slots = form_state(stack, "e2e-i14-ask-1")
    assert loop == "complaint_form" and slots["requested_slot"], words(form)
    assert texts.CLARIFY_COMPLAINT_OR_INFO not in words(form)  # not asked again
    assert slots["complaint_category"] == "illegal_parking"  # the category NLU found is carried
    assert slots["requested_slot"] != "complaint_category"

    asked = asked_about_close_message(stack, "e2e-i14-ask-2")
    info = tap_reply(stack, "e2e-i14-ask-2", asked["안내가 필요해요"])
    assert [o for o in info["outputs"] if "textCard" in o or "basicCard" in o], words(info)
    assert texts.CLARIFY_COMPLAINT_OR_INFO not in words(info)
    assert_no_form(stack, "e2e-i14-ask-2")
