"""The emergency form's actions turn by turn (no Rasa server): guidance first, kind and place read
from the message or asked, the alert, follow-ups and the end; a real SQLite ticket database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import complaints, emergency
from bot.city import get_city_config
from bot.tickets import Ticket
from bot.tickets.models import IncidentReport

DOMAIN = {
    "forms": {"emergency_form": {"required_slots": [emergency.KIND, emergency.PLACE, emergency.DETAILS]}},
    "slots": {slot: {"type": "text", "mappings": [{"type": "custom"}]} for slot in emergency.FORM_SLOTS},
}
ASKERS = {
    action.name(): action
    for action in (
        emergency.ActionAskEmergencyType(),
        emergency.ActionAskEmergencyPlace(),
        emergency.ActionAskEmergencyDetails(),
    )
}


@pytest.fixture(autouse=True)
def ticket_database(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SOTONG_DATABASE_URL", f"sqlite:///{tmp_path / 'sotong.db'}")
    complaints.ticket_store.cache_clear()
    emergency.incident_store.cache_clear()
    yield
    complaints.ticket_store.cache_clear()
    emergency.incident_store.cache_clear()


class Citizen:
    def __init__(self, sender: str = "kakao-user-1"):
        self.sender = sender
        self.slots: dict[str, Any] = {slot: None for slot in (*emergency.FORM_SLOTS, "requested_slot")}
        self.replies: list[dict] = []
        self.active = False

    def _run(self, action, text: str, intent: str, entities) -> None:
        message = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": list(entities)}
        tracker = Tracker(
            self.sender,
            dict(self.slots),
            message,
            [],
            False,
            None,
            {"name": emergency.FORM} if self.active else {},
            "action_listen",
        )
        dispatcher = CollectingDispatcher()
        for event in asyncio.run(action.run(dispatcher, tracker, DOMAIN)):
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.replies += dispatcher.messages

    def say(self, text: str, intent: str = "inform", entities=()) -> str:
        self.replies = []
        self._run(emergency.ValidateEmergencyForm(), text, intent, entities)
        self.active = True
        requested = self.slots.get("requested_slot")
        if requested:
            self._run(ASKERS[f"action_ask_{requested}"], text, intent, entities)
        else:
            self._run(emergency.ActionEmergencyDone(), text, intent, entities)
            self.active = False
        return "\n".join(reply.get("text") or "" for reply in self.replies)


def reports() -> list[IncidentReport]:
    with complaints.ticket_store().sessions() as session:
        return list(session.execute(select(IncidentReport).order_by(IncidentReport.id)).scalars())


def test_kind_from_the_words_place_asked_then_alerted_and_follow_up():
    citizen = Citizen()
    citizen.say("지하차도에 물이 차서 차가 갇혔어요 사람 있어요", "report_emergency")
    assert citizen.replies[0]["text"].startswith("🚨 침수") and citizen.slots["requested_slot"] == "emergency_place"
    answer = citizen.say("일산동구 백석동 지하차도요")
    assert "긴급 접수번호" in answer and "일산동구 백석동 지하차도요" in answer and "일산소방서" in answer
    assert "전달했어요" in citizen.say("아이도 한 명 있어요")
    assert [r.kind for r in reports()] == ["report", "follow_up"]
    assert "고마워요" in citizen.say("더 없어요") and citizen.slots["emergency_incident"] is None


def test_unknown_kind_gets_general_guidance_then_choices_and_the_kind_guidance():
    citizen = Citizen()
    citizen.say("도와주세요 큰일 났어요", "report_emergency")
    assert "119" in citizen.replies[0]["text"] and "112" in citizen.replies[0]["text"]
    assert len(citizen.replies[1]["buttons"]) == len(get_city_config().emergency_types)  # one per type
    citizen.say(
        '/report_emergency{"emergency_type": "fire"}',
        "report_emergency",
        [{"entity": "emergency_type", "value": "fire"}],
    )
    assert "엘리베이터" in citizen.replies[0]["text"] and citizen.slots["requested_slot"] == "emergency_place"
    answer = citizen.say("모르겠어요")
    assert "위치 미상" in answer
    with complaints.ticket_store().sessions() as session:
        [ticket] = session.execute(select(Ticket)).scalars().all()
    assert ticket.location_text == "위치 미상" and ticket.description == "도와주세요 큰일 났어요"


@pytest.mark.parametrize(
    "text, kind, place",
    [
        (
            "일산동구 마두동 강촌마을 3단지 상가 지하에서 가스 냄새가 심하게 나요",
            "gas",
            "일산동구 마두동 강촌마을 3단지 상가 지하에서",
        ),
        ("백석동 백석지하차도 침수됐어요 차들이 못 나가요", "flood", "백석동 백석지하차도"),
        ("지하차도에 물이 차서 차가 갇혔어요 사람 있어요", "flood", None),  # no 동, no district: asked
    ],
)
def test_the_place_in_a_first_report_keeps_the_citizens_words(text, kind, place):
    assert emergency.place_in_message({"text": text, "entities": []}, kind) == place


def test_an_emergency_during_the_complaint_form_clears_it():
    citizen = Citizen()
    citizen.slots.update({"complaint_category": "road_damage", "location": "주엽동"})
    citizen.say(
        "일산서구 대화동 상가에서 불이 났어요", "report_emergency", [{"entity": "emergency_type", "value": "fire"}]
    )
    assert citizen.slots["complaint_category"] is None and citizen.slots["location"] is None
    assert citizen.replies[0]["text"].startswith("🚨 화재") and "일산소방서" in citizen.replies[1]["text"]
