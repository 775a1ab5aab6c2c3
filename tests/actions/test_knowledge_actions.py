"""The knowledge and subscription actions in a real action server (`python -m bot.rasa_ext.action_server`), called
with rasa-sdk webhook requests as Rasa sends them; broadcasts go to a real local HTTP server
standing in for Kakao's Event API. No Rasa model is needed."""

from __future__ import annotations

from typing import Any

import pytest
import rasa_sdk
import requests
from sqlalchemy import select

from bot.channels.kakao.response import build_templates, page_response
from bot.delivery import DeliverySettings, Dispatcher
from bot.knowledge import get_knowledge_base
from bot.subscriptions import EventApiSettings, Subscription, SubscriptionStore, broadcast, get_catalogue
from bot.subscriptions.event_api import subscription_senders
from tests.kakao_helpers import EventApiStandIn, assert_valid_skill_response
from tests.stack import action_headers, action_server_service, base_env, free_port, load_domain

# Starts an action-server process: left out of `make test-fast` (marker `integration`).
pytestmark = pytest.mark.integration

BOT_USER_KEY = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
REST_API_KEY = "test-rest-api-key"
QUESTIONS = {
    "waste": "대형폐기물 스티커 어디서 사요?",
    "certificates": "가족관계증명서 온라인 발급",
    "passport": "여권 사진 규격이 어떻게 되나요",
    "parking": "거주자우선주차 신청 방법",
    "local_tax": "지방세 납세증명서 떼야 돼요",
    "welfare": "아동수당 신청 방법",
    "jobs": "공공근로 신청 기간",
    "education": "어린이집 입소 대기 신청",
    "tourism": "행주산성 입장료",
    "transport": "공공자전거 대여 방법",
    "library": "상호대차 신청",
    "health": "금연클리닉 등록",
    "contact": "민원 콜센터 번호",
}


@pytest.fixture(scope="module")
def event_api():
    stand_in = EventApiStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory, event_api) -> dict[str, str]:
    workdir = tmp_path_factory.mktemp("knowledge-actions")
    return base_env(
        SOTONG_DATABASE_URL=f"sqlite:///{workdir / 'sotong.db'}",
        KAKAO_EVENT_API_URL=event_api.url,
        KAKAO_REST_API_KEY=REST_API_KEY,
        KAKAO_BOT_ID="test-bot",
    )


@pytest.fixture(scope="module")
def action_server(env, tmp_path_factory) -> str:
    port = free_port()
    log = tmp_path_factory.mktemp("logs") / "actions.log"
    service = action_server_service(port, env, log).start(timeout=120)
    yield f"http://127.0.0.1:{port}/webhook"
    service.stop()


@pytest.fixture(scope="module")
def store(env) -> SubscriptionStore:
    return SubscriptionStore.from_env(env["SOTONG_DATABASE_URL"])


def message(
    text: str,
    intent: str,
    *,
    entities=(),
    confidence=0.9,
    intent_ranking=None,
    response_key: str | None = None,
    topic_ranking=(),
    kakao_user: str = BOT_USER_KEY,
) -> dict[str, Any]:
    parsed = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": intent_ranking or [{"name": intent, "confidence": confidence}],
        "entities": [{"entity": name, "value": value} for name, value in entities],
        "metadata": {
            "kakao": {
                "user": {
                    "id": kakao_user,
                    "type": "botUserKey",
                    "properties": {"botUserKey": kakao_user, "isFriend": True},
                }
            }
        },
    }
    if response_key or topic_ranking:
        ranking = [{"intent_response_key": f"civic_info/{t}", "confidence": c} for t, c in topic_ranking]
        parsed["response_selector"] = {
            "all_retrieval_intents": ["civic_info"],
            "civic_info": {"response": {"intent_response_key": response_key, "confidence": 0.8}, "ranking": ranking},
        }
    return parsed


def user_event(parsed: dict[str, Any]) -> dict[str, Any]:
    return {"event": "user", "text": parsed["text"], "parse_data": parsed, "input_channel": "kakao"}


def run_action(
    url: str,
    action: str,
    latest: dict[str, Any],
    earlier: list[dict[str, Any]] = (),
    slots: dict[str, Any] | None = None,
    sender: str = BOT_USER_KEY,
) -> dict[str, Any]:
    events = [{"event": "action", "name": "action_session_start"}, {"event": "session_started"}]
    for parsed in earlier:
        events += [user_event(parsed), {"event": "bot", "text": "…"}, {"event": "action", "name": "action_listen"}]
    events.append(user_event(latest))
    tracker = {
        "sender_id": sender,
        "slots": slots or {},
        "latest_message": latest,
        "events": events,
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
        "latest_input_channel": "kakao",
    }
    body = {
        "next_action": action,
        "sender_id": sender,
        "tracker": tracker,
        "domain": load_domain(),
        "version": rasa_sdk.__version__,
    }
    response = requests.post(url, json=body, headers=action_headers(), timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def kakao_answer(result: dict[str, Any]) -> dict[str, Any]:
    """The Kakao SkillResponse the channel makes of the action's messages (checked against the schema)."""
    messages = [{key: value for key, value in m.items() if value not in (None, [], {})} for m in result["responses"]]
    answer = page_response(build_templates(messages), 1, token=None)
    assert_valid_skill_response(answer)
    return answer["template"]


def quick_reply_payloads(template: dict[str, Any]) -> list[str]:
    return [reply["extra"]["payload"] for reply in template.get("quickReplies", [])]


def text_of(template: dict[str, Any]) -> str:
    return "\n".join(o["simpleText"]["text"] for o in template["outputs"] if "simpleText" in o)


# --- civic information ------------------------------------------------------------------------------------


@pytest.mark.parametrize("topic_id", sorted(QUESTIONS))
def test_every_topic_is_answered_with_a_valid_card(action_server, topic_id):
    latest = message(
        QUESTIONS[topic_id], "civic_info", response_key=f"civic_info/{topic_id}", topic_ranking=[(topic_id, 0.8)]
    )
    result = run_action(action_server, "action_answer_civic_info", latest)
    template = kakao_answer(result)
    topic = get_knowledge_base().topic(topic_id)
    (card,) = [o["textCard"] for o in template["outputs"]]
    assert card["title"].startswith(topic.title + " · ")  # a sub-answer was selected
    assert [b["action"] for b in card["buttons"]][:2] == ["webLink", "phone"] and len(card["buttons"]) <= 3
    assert 1 <= len(template["quickReplies"]) <= 10
    assert {"event": "slot", "name": "civic_topic", "value": None, "timestamp": None} in result["events"]


def test_a_quick_reply_tap_picks_the_answer_without_nlu(action_server):
    tap = message(
        '/civic_info{"civic_topic":"waste","civic_answer":"food_waste"}',
        "civic_info",
        entities=[("civic_topic", "waste"), ("civic_answer", "food_waste")],
    )
    card = kakao_answer(run_action(action_server, "action_answer_civic_info", tap))["outputs"][0]["textCard"]
    assert card["title"] == "쓰레기 배출 · 음식물쓰레기"
    subscribe = message('/civic_info{"civic_topic":"transport"}', "civic_info", entities=[("civic_topic", "transport")])
    template = kakao_answer(run_action(action_server, "action_answer_civic_info", subscribe))
    card = template["outputs"][0]["textCard"]
    assert card["title"] == "교통"  # the overview
    assert card["buttons"][2]["label"] == "교통 소식 받기"


# --- the fallback ladder ------------------------------------------------------------------------------------


def unsure(text: str) -> dict[str, Any]:
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "civic_info", "confidence": 0.42},
        {"name": "report_complaint", "confidence": 0.2},
        {"name": "greet", "confidence": 0.1},
    ]
    return message(
        text,
        "nlu_fallback",
        confidence=0.45,
        intent_ranking=ranking,
        response_key="civic_info/waste",
        topic_ranking=[("waste", 0.7), ("parking", 0.2), ("health", 0.1)],
    )


def test_first_failure_offers_the_three_likeliest_topics(action_server):
    template = kakao_answer(run_action(action_server, "action_low_confidence_fallback", unsure("그거 얼마였더라")))
    assert text_of(template) == "말씀을 정확히 이해하지 못했어요. 혹시 이것을 찾으셨나요?"
    assert [r["label"] for r in template["quickReplies"]] == ["쓰레기 배출", "민원 신고", "주차"]


def test_second_failure_in_a_row_offers_a_person(action_server):
    result = run_action(
        action_server, "action_low_confidence_fallback", unsure("그거 있잖아요"), earlier=[unsure("음쓰 칩 얼마야")]
    )
    template = kakao_answer(result)
    card = template["outputs"][0]["textCard"]
    assert "1577-1000" in card["description"]
    assert card["buttons"] == [{"action": "phone", "label": "전화 걸기", "phoneNumber": "1577-1000"}]
    assert quick_reply_payloads(template)[0] == "/human_handoff"


def test_a_did_you_mean_tap_answers_the_question_that_failed(action_server):
    tap = message('/civic_info{"civic_topic":"waste"}', "civic_info", entities=[("civic_topic", "waste")])
    result = run_action(action_server, "action_answer_civic_info", tap, earlier=[unsure("음쓰 칩 얼마야")])
    assert kakao_answer(result)["outputs"][0]["textCard"]["title"] == "쓰레기 배출 · 음식물쓰레기"


# --- searching the knowledge base ----------------------------------------------------------------------


def test_a_long_tail_question_is_answered_from_the_whole_knowledge_base_before_did_you_mean(action_server):
    # NLU is unsure and its likeliest topic is parking; the words are waste's appliance pickup.
    parsed = unsure("냉장고 버리려는데 무료로 가져가 주나요")
    parsed["response_selector"]["civic_info"]["response"]["intent_response_key"] = "civic_info/parking"
    template = kakao_answer(run_action(action_server, "action_low_confidence_fallback", parsed))
    assert template["outputs"][0]["textCard"]["title"] == "쓰레기 배출 · 폐가전 무상수거"


def test_civic_info_whose_topic_has_no_fitting_answer_searches_every_topic(action_server):
    latest = message(
        "아이 예방접종 어디서 맞아요",
        "civic_info",
        response_key="civic_info/parking",
        topic_ranking=[("parking", 0.5), ("health", 0.4)],
    )
    card = kakao_answer(run_action(action_server, "action_answer_civic_info", latest))["outputs"][0]["textCard"]
    assert card["title"] == "보건·건강 · 예방접종"


def test_an_unsure_message_that_may_be_danger_gets_119_first(action_server):
    ranking = [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "civic_info", "confidence": 0.3},
        {"name": "report_emergency", "confidence": 0.28},
        {"name": "smalltalk", "confidence": 0.2},
    ]
    parsed = message(
        "가슴이 너무 아프고 숨쉬기가 힘드네",
        "nlu_fallback",
        confidence=0.45,
        intent_ranking=ranking,
        response_key="civic_info/health",
        topic_ranking=[("health", 0.9)],
    )
    template = kakao_answer(run_action(action_server, "action_low_confidence_fallback", parsed))
    first = template["outputs"][0]["simpleText"]["text"]
    assert "119" in first and "112" in first
    assert "/report_emergency" in quick_reply_payloads(template)  # "긴급 신고" among the choices
    calm = kakao_answer(run_action(action_server, "action_low_confidence_fallback", unsure("그거 얼마였더라")))
    assert "119" not in text_of(calm)


def test_a_question_nothing_answers_clearly_still_gets_did_you_mean(action_server):
    template = kakao_answer(run_action(action_server, "action_low_confidence_fallback", unsure("자존감이 바닥을 친다")))
    assert text_of(template) == "말씀을 정확히 이해하지 못했어요. 혹시 이것을 찾으셨나요?"


# --- complaint or information: ask instead of guessing -------------------------------------------------------

ENFORCEMENT = [("complaint_category", "illegal_parking"), ("location", "주엽역 앞")]
COMPLAINT_TAP = '/report_complaint{"complaint_category":"illegal_parking","location":"주엽역 앞"}'


def parking_question(intent: str, ranking: list[tuple]) -> dict[str, Any]:
    return message(
        "주엽역 앞 불법 주정차 단속 어떻게 되나요",
        intent,
        entities=ENFORCEMENT,
        confidence=ranking[0][1],
        intent_ranking=[{"name": n, "confidence": c} for n, c in ranking],
        response_key="civic_info/parking",
        topic_ranking=[("parking", 0.9)],
    )


def test_close_complaint_and_information_are_asked_about_with_quick_replies(action_server):
    parsed = parking_question(
        "nlu_fallback",
        [("nlu_fallback", 0.45), ("report_complaint", 0.41), ("civic_info", 0.39), ("report_emergency", 0.1)],
    )
    template = kakao_answer(run_action(action_server, "action_low_confidence_fallback", parsed))
    assert text_of(template) == "신고(민원 접수)를 원하시는지, 관련 안내가 필요하신지 골라 주세요."
    assert [r["label"] for r in template["quickReplies"]] == ["신고할래요", "안내가 필요해요", "긴급 신고"]
    assert quick_reply_payloads(template)[:2] == [
        COMPLAINT_TAP,
        '/civic_info{"civic_topic":"parking","civic_answer":"enforcement_alert"}',
    ]


def test_confident_information_with_a_complaint_runner_up_is_asked_about(action_server):
    unsure_which = parking_question("civic_info", [("civic_info", 0.6), ("report_complaint", 0.35), ("greet", 0.05)])
    template = kakao_answer(run_action(action_server, "action_answer_civic_info", unsure_which))
    assert quick_reply_payloads(template)[0] == COMPLAINT_TAP
    clear = parking_question("civic_info", [("civic_info", 0.85), ("report_complaint", 0.1), ("greet", 0.05)])
    card = kakao_answer(run_action(action_server, "action_answer_civic_info", clear))["outputs"][0]["textCard"]
    assert card["title"] == "주차 · 단속 알림 서비스"


def test_a_complaint_opens_the_form_unless_information_is_a_close_runner_up(action_server):
    clear = parking_question("report_complaint", [("report_complaint", 0.9), ("civic_info", 0.05)])
    result = run_action(action_server, "action_start_complaint", clear)
    assert (
        result["responses"] == []
        and {"event": "followup", "name": "complaint_form", "timestamp": None} in result["events"]
    )
    unsure_which = parking_question("report_complaint", [("report_complaint", 0.55), ("civic_info", 0.4)])
    result = run_action(action_server, "action_start_complaint", unsure_which)
    assert not [e for e in result["events"] if e["event"] == "followup"]
    assert quick_reply_payloads(kakao_answer(result))[:2] == [
        COMPLAINT_TAP,
        '/civic_info{"civic_topic":"parking","civic_answer":"enforcement_alert"}',
    ]
    tap = message(COMPLAINT_TAP, "report_complaint", entities=ENFORCEMENT)
    result = run_action(action_server, "action_start_complaint", tap, earlier=[unsure_which])
    assert [e["name"] for e in result["events"] if e["event"] == "followup"] == ["complaint_form"]


def test_the_information_tap_answers_without_asking_again(action_server):
    asked = parking_question("civic_info", [("civic_info", 0.6), ("report_complaint", 0.35)])
    tap = message('/civic_info{"civic_topic":"parking"}', "civic_info", entities=[("civic_topic", "parking")])
    card = kakao_answer(run_action(action_server, "action_answer_civic_info", tap, earlier=[asked]))
    assert card["outputs"][0]["textCard"]["title"] == "주차 · 단속 알림 서비스"  # from the question asked about


# --- subscriptions ------------------------------------------------------------------------------------------


def dispatch(store: SubscriptionStore, env: dict[str, str]) -> None:
    settings = DeliverySettings(max_attempts=3, backoff_base_seconds=0.01)
    senders = subscription_senders(store, EventApiSettings.from_env(env))
    Dispatcher(store.sessions, settings, senders=senders).run_once()


def send_notice(store: SubscriptionStore, env: dict[str, str], target: str, text: str) -> int:
    result = broadcast(store, get_catalogue(), target, text, sent_by="test", settings=EventApiSettings.from_env(env))
    return result.recipients


def test_subscribe_broadcast_unsubscribe(action_server, store, env, event_api):
    asked = run_action(action_server, "action_subscribe", message("교통 소식 받고 싶어요", "subscribe"))
    template = kakao_answer(asked)
    assert "개인정보 수집·이용에 동의" in text_of(template)
    assert (
        quick_reply_payloads(template)[0] == '/subscribe{"subscription_topic":"transport","subscription_consent":"yes"}'
    )
    assert {"event": "slot", "name": "subscription_pending", "value": ["transport"], "timestamp": None} in asked[
        "events"
    ]
    assert store.recipients("transport") == []  # nothing recorded before consent

    consent = message(
        quick_reply_payloads(template)[0],
        "subscribe",
        entities=[("subscription_topic", "transport"), ("subscription_consent", "yes")],
    )
    assert "구독을 시작했어요: 교통 소식" in text_of(
        kakao_answer(run_action(action_server, "action_subscribe", consent))
    )
    with store.sessions() as session:
        (row,) = session.execute(select(Subscription).where(Subscription.user_key == BOT_USER_KEY)).scalars()
    assert (row.target, row.consent_version, row.unsubscribed_at) == ("transport", "2026-01-sub", None)

    listed = kakao_answer(
        run_action(action_server, "action_list_subscriptions", message("내 구독 목록", "list_subscriptions"))
    )
    assert "• 교통 소식 (" in text_of(listed)

    assert send_notice(store, env, "transport", "3월 4일부터 700번 버스 노선이 바뀌어요.") == 1
    dispatch(store, env)
    (request,) = event_api.requests
    assert request["path"] == "/v2/bots/test-bot/talk"
    assert request["authorization"] == f"KakaoAK {REST_API_KEY}"
    assert request["body"]["user"] == [{"type": "botUserKey", "id": BOT_USER_KEY}]
    assert request["body"]["event"]["name"] == "sotong_notice"
    assert request["body"]["params"]["text"] == "3월 4일부터 700번 버스 노선이 바뀌어요."

    stopped = run_action(action_server, "action_unsubscribe", message("교통 소식 그만 받을래요", "unsubscribe"))
    assert "구독을 해지했어요: 교통 소식" in text_of(kakao_answer(stopped))
    assert send_notice(store, env, "transport", "두 번째 안내예요.") == 0
    dispatch(store, env)
    assert len(event_api.requests) == 1  # no more delivery
    with store.sessions() as session:
        rows = session.execute(select(Subscription).where(Subscription.user_key == BOT_USER_KEY)).scalars().all()
    assert rows[0].unsubscribed_at is not None  # consent and unsubscribe are both kept


def test_typed_consent_and_a_queued_notice_after_unsubscribing(action_server, store, env, event_api):
    user = "second-user-key"
    asked = run_action(
        action_server,
        "action_subscribe",
        message("일산서구 소식 구독할래요", "subscribe", kakao_user=user),
        sender=user,
    )
    pending = next(e["value"] for e in asked["events"] if e.get("name") == "subscription_pending")
    assert pending == ["일산서구"]
    agreed = run_action(
        action_server,
        "action_subscribe",
        message("네 좋아요", "affirm", kakao_user=user),
        slots={"subscription_pending": pending},
        sender=user,
    )
    assert "구독을 시작했어요: 일산서구 소식" in text_of(kakao_answer(agreed))

    sent_before = len(event_api.requests)
    assert send_notice(store, env, "일산서구", "주엽동 도로 공사 안내예요.") == 1  # queued, not yet sent
    stopped = run_action(
        action_server, "action_unsubscribe", message("구독 해지", "unsubscribe", kakao_user=user), sender=user
    )  # the only subscription: no need to ask which
    assert "일산서구 소식" in text_of(kakao_answer(stopped))
    dispatch(store, env)
    assert len(event_api.requests) == sent_before  # unsubscribed before delivery: left out at send time


def test_unsubscribing_with_nothing_subscribed_says_so(action_server):
    result = run_action(
        action_server, "action_unsubscribe", message("알림 그만", "unsubscribe", kakao_user="nobody"), sender="nobody"
    )
    assert "지금 받고 계신 소식이 없어요" in text_of(kakao_answer(result))
