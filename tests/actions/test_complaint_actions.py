"""The complaint actions (actions/complaints.py) turn by turn, as the Rasa form calls them, on a
real SQLite ticket store: no trained model needed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import complaint_messages as messages
from actions import complaints
from bot.delivery.outbox import OutboxEntry
from bot.privacy.contacts import reveal_phone
from bot.tickets import Ticket, TicketStatus
from bot.tickets.models import TicketWatcher

FORM_DOMAIN = {
    "forms": {
        "complaint_form": {
            "required_slots": ["complaint_category", "location", "description", "consent", "complaint_decision"]
        }
    },
    "slots": {slot: {"type": "text", "mappings": [{"type": "custom"}]} for slot in complaints.FORM_SLOTS},
}
POTHOLE = {"entity": "complaint_category", "value": "road_damage"}
ASK_ACTIONS = [
    complaints.ActionAskComplaintCategory(),
    complaints.ActionAskLocation(),
    complaints.ActionAskDescription(),
    complaints.ActionAskDuplicateChoice(),
    complaints.ActionAskPhotoUrl(),
    complaints.ActionAskConsent(),
    complaints.ActionAskPhone(),
    complaints.ActionAskComplaintDecision(),
]


@pytest.fixture(autouse=True)
def ticket_database(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SOTONG_DATABASE_URL", f"sqlite:///{tmp_path / 'sotong.db'}")
    complaints.ticket_store.cache_clear()
    yield
    complaints.ticket_store.cache_clear()


class Conversation:
    """One citizen's form state, advanced turn by turn like Rasa's FormAction does."""

    def __init__(self, sender: str = "kakao-user-1"):
        self.sender = sender
        self.slots: dict[str, Any] = {slot: None for slot in (*complaints.FORM_SLOTS, "requested_slot")}
        self.active_loop: dict[str, Any] = {}
        self.replies: list[dict] = []

    def tracker(self, text: str, intent: str, entities=(), metadata=None) -> Tracker:
        message = {
            "text": text,
            "intent": {"name": intent, "confidence": 0.99},
            "entities": list(entities),
            "metadata": metadata or {},
        }
        return Tracker(self.sender, dict(self.slots), message, [], False, None, self.active_loop, "action_listen")

    def run(self, action, tracker: Tracker) -> list[dict]:
        dispatcher = CollectingDispatcher()
        events = asyncio.run(action.run(dispatcher, tracker, FORM_DOMAIN))
        for event in events:
            if event.get("event") == "slot":
                self.slots[event["name"]] = event["value"]
        self.replies = dispatcher.messages
        return events

    def say(self, text: str, intent: str = "inform", entities=(), metadata=None) -> list[dict]:
        """The citizen's message, validated by validate_complaint_form, then the next question."""
        events = self.run(complaints.ValidateComplaintForm(), self.tracker(text, intent, entities, metadata))
        self.active_loop = {"name": "complaint_form"}
        validation_replies = self.replies
        self.ask(text, intent)
        self.replies = validation_replies + self.replies
        return events

    def ask(self, text: str = "", intent: str = "inform") -> None:
        """The form's question for the requested slot (action_ask_<slot>), if any is left."""
        self.replies = []
        if self.requested:
            asker = next(action for action in ASK_ACTIONS if action.name() == f"action_ask_{self.requested}")
            self.run(asker, self.tracker(text, intent))

    def submit(self) -> None:
        self.run(complaints.ActionSubmitComplaint(), self.tracker("", "inform"))
        self.active_loop = {}

    @property
    def requested(self) -> str | None:
        return self.slots.get("requested_slot")

    @property
    def text(self) -> str:
        return "\n".join(reply.get("text") or "" for reply in self.replies)


def store():
    return complaints.ticket_store()


def tickets() -> list[Ticket]:
    with store().sessions() as session:
        return list(session.execute(select(Ticket).order_by(Ticket.id)).scalars())


def file_pothole(conversation: Conversation, phone: str = "010-1234-5678") -> None:
    conversation.say(
        "주엽역 2번 출구 앞 도로에 포트홀이 생겼어요",
        "report_complaint",
        [POTHOLE, {"entity": "location", "value": "일산서구 주엽동 주엽역 2번 출구 앞"}],
    )
    conversation.say("사진 없음")
    conversation.say("동의해요", "affirm")
    conversation.say(phone)


# --- the form ----------------------------------------------------------------------------------------


def test_first_message_fills_category_location_and_description():
    talk = Conversation()
    talk.say(
        "주엽역 2번 출구 앞 도로에 포트홀이 생겼어요",
        "report_complaint",
        [POTHOLE, {"entity": "location", "value": "주엽역 2번 출구 앞"}],
    )
    assert talk.slots["complaint_category"] == "road_damage"
    assert talk.slots["location"] == "주엽역 2번 출구 앞"
    assert talk.slots["description"] == "주엽역 2번 출구 앞 도로에 포트홀이 생겼어요"
    assert talk.requested == "photo_url"  # road damage asks for a photo
    assert "사진 없음" in [button["title"] for button in talk.replies[0]["buttons"]]


def test_whole_complaint_is_filed_with_number_department_and_due_date():
    talk = Conversation()
    file_pothole(talk)
    assert talk.requested == "complaint_decision"
    assert "도로 파손" in talk.text and "010-****-5678" in talk.text

    talk.say("네, 접수해요", "affirm")
    assert talk.slots["complaint_decision"] == "submit" and talk.requested is None
    talk.submit()
    [ticket] = tickets()
    assert ticket.number in talk.text and "도로관리과" in talk.text and "처리 기한" in talk.text
    assert reveal_phone(ticket.contact_phone) == "010-1234-5678" and ticket.consent_given
    assert "1234-5678" not in ticket.contact_phone  # encrypted at rest
    assert ticket.sender_id == "kakao-user-1"
    assert all(talk.slots[slot] is None for slot in complaints.FORM_SLOTS)
    with store().sessions() as session:
        assert session.execute(select(OutboxEntry)).scalar_one().target_id == "road_management"


def test_category_asked_with_quick_replies_and_typed_synonyms_understood():
    talk = Conversation()
    talk.say("민원 신고할게요", "report_complaint")
    assert talk.requested == "complaint_category" and talk.slots["description"] is None
    assert len(talk.replies[0]["buttons"]) <= 10
    talk.say("뭔지 모르겠어요")
    assert talk.requested == "complaint_category" and "알아듣지 못했어요" in talk.text
    talk.say("집 앞 가로등이 깜빡거려요")
    assert talk.slots["complaint_category"] == "streetlight" and talk.requested == "location"


def test_a_complaint_no_category_fits_is_offered_the_catch_all_and_not_asked_twice():
    talk = Conversation()
    talk.say("민원 넣을게요", "report_complaint")
    labels = [button["title"] for button in talk.replies[0]["buttons"]]
    assert len(labels) <= 10 and labels[-1] == "기타 생활민원"  # among the choices although listed last
    talk.say("우리 동네에 어르신 쉼터가 하나도 없어서 불편해요")
    assert talk.requested == "complaint_category" and "'기타 생활민원'을 눌러 주세요" in talk.text
    assert talk.replies[0]["buttons"][0]["title"] == "기타 생활민원"
    assert talk.slots["description"] == "우리 동네에 어르신 쉼터가 하나도 없어서 불편해요"
    talk.say("기타 생활민원")
    assert talk.slots["complaint_category"] == "other" and talk.requested == "location"
    talk.say("일산동구 풍산동 주민센터 앞")
    assert talk.requested != "description"  # the description given with the category is kept


def test_first_message_without_an_entity_takes_the_category_from_its_words():
    talk = Conversation()
    talk.say("공사장 먼지가 너무 심해서 창문을 못 열어요", "report_complaint")
    assert talk.slots["complaint_category"] == "construction_noise" and talk.requested == "location"
    assert talk.slots["description"] == "공사장 먼지가 너무 심해서 창문을 못 열어요"


def test_a_clarification_tap_opens_the_form_with_what_nlu_found():
    asked = {
        "text": "주엽역 앞 불법 주정차 단속 좀",
        "intent": {"name": "civic_info", "confidence": 0.55},
        "intent_ranking": [{"name": "civic_info", "confidence": 0.55}, {"name": "report_complaint", "confidence": 0.4}],
        "entities": [],
    }
    tap = {
        "text": '/report_complaint{"complaint_category":"illegal_parking","location":"주엽역 앞"}',
        "intent": {"name": "report_complaint", "confidence": 1.0},
        "metadata": {},
        "entities": [
            {"entity": "complaint_category", "value": "illegal_parking"},
            {"entity": "location", "value": "주엽역 앞"},
        ],
    }
    events = [
        {"event": "session_started"},
        {"event": "user", "text": asked["text"], "parse_data": asked},
        {"event": "bot", "text": None},
        {"event": "user", "text": tap["text"], "parse_data": tap},
    ]
    talk = Conversation()
    talk.run(
        complaints.ValidateComplaintForm(),
        Tracker(talk.sender, dict(talk.slots), tap, events, False, None, {}, "action_listen"),
    )
    assert talk.slots["complaint_category"] == "illegal_parking" and talk.slots["location"] == "주엽역 앞"
    assert talk.slots["description"] == "주엽역 앞 불법 주정차 단속 좀"  # not the payload
    assert talk.slots["requested_slot"] == "photo_url"


def test_vague_location_and_oversize_description_are_asked_again():
    talk = Conversation()
    talk.say("포트홀 신고요", "report_complaint", [POTHOLE])
    talk.say("일산서구")
    assert talk.requested == "location" and messages.LOCATION_TOO_VAGUE in talk.text
    talk.say("일산서구 대화동 킨텍스로 앞")
    assert talk.requested == "description"
    talk.say("가" * 1001)
    assert talk.requested == "description" and "1000자" in talk.text
    talk.say("   ")
    assert talk.requested == "description"


def test_resident_registration_number_is_masked_and_the_citizen_told():
    talk = Conversation()
    talk.say("소음 신고", "report_complaint", [{"entity": "complaint_category", "value": "noise"}])
    talk.say("장항동 공사장")
    talk.say("새벽부터 공사해요. 제 주민번호 850505-1234567")
    assert messages.RRN_MASKED in talk.text
    assert talk.slots["description"].endswith("850505-1******")


def test_invalid_phone_then_valid_number_in_a_sentence():
    talk = Conversation()
    talk.say("소음 신고", "report_complaint", [{"entity": "complaint_category", "value": "noise"}])
    talk.say("장항동 공사장")
    talk.say("새벽 공사 소음이 심해요")
    assert talk.requested == "consent"  # noise needs no photo
    talk.say("동의합니다", "affirm")
    talk.say("010-12-34")
    assert talk.requested == "phone" and messages.PHONE_INVALID in talk.text
    talk.say("제 번호는 01098765432예요")
    assert talk.slots["phone"] == "010-9876-5432" and talk.requested == "complaint_decision"


def test_anonymous_without_consent_skips_the_phone():
    talk = Conversation()
    talk.say("소음 신고", "report_complaint", [{"entity": "complaint_category", "value": "noise"}])
    talk.say("장항동 공사장")
    talk.say("새벽 공사 소음이 심해요")
    talk.say("동의하지 않아요", "deny")
    assert talk.slots["consent"] is False and talk.requested == "complaint_decision"
    assert "연락처: 익명" in talk.text
    talk.say("네", "affirm")
    talk.submit()
    [ticket] = tickets()
    assert ticket.contact_phone is None and not ticket.consent_given and "익명 접수" in talk.text


def test_correcting_a_field_from_the_summary():
    talk = Conversation()
    file_pothole(talk)
    talk.say("아니요", "deny")
    assert talk.requested == "complaint_decision" and "어떤 항목을 고칠까요?" in talk.text
    talk.say("위치")
    assert talk.slots["location"] is None and talk.requested == "location"
    talk.say("마두동 정발산역 3번 출구")
    assert talk.requested == "complaint_decision" and "정발산역 3번 출구" in talk.text
    talk.say("연락처 수정할게요")
    assert talk.requested == "consent" and talk.slots["phone"] is None


def test_cancel_at_any_step():
    talk = Conversation()
    talk.say("포트홀 신고요", "report_complaint", [POTHOLE])
    talk.say("취소")
    assert talk.slots["complaint_decision"] == "cancel" and talk.requested is None
    talk.submit()
    assert messages.CANCELLED in talk.text and tickets() == []


def test_emergency_during_the_form_rejects_the_form_turn():
    talk = Conversation()
    talk.say("포트홀 신고요", "report_complaint", [POTHOLE])
    events = talk.run(
        complaints.ValidateComplaintForm(),
        talk.tracker("불이 났어요!", "report_emergency", [{"entity": "emergency_type", "value": "fire"}]),
    )
    assert events[0]["event"] == "action_execution_rejected"


def test_duplicate_is_offered_and_joined():
    file_pothole(first := Conversation("kakao-user-1"))
    first.say("네", "affirm")
    first.submit()
    [ticket] = tickets()

    second = Conversation("kakao-user-2")
    second.say(
        "주엽동 주엽역 2번출구 앞 포트홀",
        "report_complaint",  # two location mentions, one span
        [
            POTHOLE,
            {"entity": "location", "value": "주엽동", "start": 0, "end": 3},
            {"entity": "location", "value": "주엽역 2번출구 앞", "start": 4, "end": 14},
        ],
    )
    assert second.slots["location"] == "주엽동 주엽역 2번출구 앞"
    assert second.slots["duplicate_ticket_id"] == ticket.number and second.requested == "duplicate_choice"
    assert ticket.number in second.text
    assert "함께 알림 받기" in [button["title"] for button in second.replies[-1]["buttons"]]
    second.say("함께 알림 받기")
    assert second.slots["complaint_decision"] == "join" and second.requested is None
    second.submit()
    assert ticket.number in second.text and len(tickets()) == 1
    with store().sessions() as session:
        assert session.execute(select(TicketWatcher.sender_id)).scalar_one() == "kakao-user-2"


def test_duplicate_declined_files_a_new_ticket():
    file_pothole(first := Conversation("kakao-user-1"))
    first.say("네", "affirm")
    first.submit()
    second = Conversation("kakao-user-2")
    second.say(
        "주엽동 주엽역 2번출구 앞 포트홀",
        "report_complaint",
        [POTHOLE, {"entity": "location", "value": "주엽동 주엽역 2번출구 앞"}],
    )
    second.say("새로 접수")
    assert second.slots["duplicate_choice"] == "new" and second.requested == "photo_url"


# (emergencies: tests/actions/test_emergency_actions.py)


# --- status ------------------------------------------------------------------------------------------


def check_status(sender: str, text: str, entities=()) -> str:
    talk = Conversation(sender)
    talk.run(complaints.ActionCheckComplaintStatus(), talk.tracker(text, "check_complaint_status", entities))
    return talk.text


def test_status_by_number_only_for_the_owner():
    file_pothole(talk := Conversation("kakao-user-1"))
    talk.say("네", "affirm")
    talk.submit()
    number = tickets()[0].number
    store().change_status(number, TicketStatus.IN_PROGRESS, actor="staff-1")

    own = check_status("kakao-user-1", f"{number.lower()} 어떻게 됐어요?")
    assert "처리 중" in own and "주엽역" in own
    stranger = check_status("kakao-user-2", f"{number} 상태", [{"entity": "ticket_id", "value": number}])
    unknown = check_status("kakao-user-2", "GY-2026-999999 상태")
    assert stranger == messages.ticket_not_found(number)
    assert unknown == messages.ticket_not_found("GY-2026-999999")


def test_my_complaints_without_a_number():
    assert check_status("kakao-user-1", "내 민원 어떻게 됐어요") == messages.NO_TICKETS
    file_pothole(talk := Conversation("kakao-user-1"))
    talk.say("네", "affirm")
    talk.submit()
    listing = check_status("kakao-user-1", "내 민원 어떻게 됐어요")
    assert "최근 민원 1건" in listing and tickets()[0].number in listing
