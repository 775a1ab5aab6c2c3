"""Rasa actions of the emergency hotline (긴급 신고): emergency_form and what follows it.

First answer, always: 119/112 guidance (the type's own when the message says what happened),
before any question. Then emergency_form asks, only when the message did not say:
  emergency_type   the kind, read from the NLU entity or the type's words (data/city/emergency_types.yml),
                   asked with quick replies
  emergency_place  where; "몰라요" sends the alert marked 위치 미상 at once
As soon as both are known the incident is reported (bot.tickets.incidents: a new incident alerts
the agencies, the same kind in the same 동 within the window joins the open one) and the citizen
is told the number, kind, place and agencies. The form then stays on
  emergency_details  further words or photos within FOLLOW_UP_MINUTES, each forwarded to the same
                     agencies as an update, until "더 없어요" (or the time is over).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import emergency_messages as messages
from actions.complaint_answers import CategoryMatcher, compact, entity_span, entity_value, photo_url_in
from actions.complaints import AskAction, form_slots_cleared, ticket_store
from actions.shared import in_thread, latest_intent, latest_text, place_normaliser, utter
from bot.city import follows_city_config, get_city_config
from bot.replies import Reply
from bot.tickets.incidents import IncidentInput, IncidentReceipt, IncidentStore

logger = logging.getLogger(__name__)

FORM = "emergency_form"
REQUESTED_SLOT = "requested_slot"
KIND, PLACE, DETAILS = "emergency_type", "emergency_place", "emergency_details"
INCIDENT, REPORTED_AT, WORDS, GUIDED = (
    "emergency_incident",
    "emergency_reported_at",
    "emergency_words",
    "emergency_guided",
)
FORM_SLOTS = (KIND, PLACE, DETAILS, INCIDENT, REPORTED_AT, WORDS, GUIDED)
UNKNOWN_PLACE = "unknown"  # emergency_place when the citizen cannot say where
DONE = "done"  # emergency_details when the citizen has nothing more
FOLLOW_UP_SECONDS = messages.FOLLOW_UP_MINUTES * 60

UNKNOWN_PLACE_WORDS = ("몰라", "모르겠", "모름", "잘모르", "위치를몰라", "어딘지", "어디인지")
NO_MORE_WORDS = ("더없어", "없어요", "없습니다", "없음", "끝", "그만", "괜찮아", "됐어", "취소")
MAX_SHORT_ANSWER_CHARS = 12
CLOSING_INTENTS = ("thank", "goodbye", "deny")  # "고마워요" after the alert ends the follow-ups


@follows_city_config
def incident_store(_config, _previous) -> IncidentStore:
    return IncidentStore(ticket_store())


@follows_city_config
def kind_matcher(config, _previous) -> CategoryMatcher:
    return CategoryMatcher(config, config.emergency_types.values())


def says_unknown_place(text: str) -> bool:
    squeezed = compact(text)
    return any(word in squeezed for word in UNKNOWN_PLACE_WORDS)


def says_no_more(text: str) -> bool:
    squeezed = compact(text)
    return 0 < len(squeezed) <= MAX_SHORT_ANSWER_CHARS and any(word in squeezed for word in NO_MORE_WORDS)


def place_in_message(message: dict[str, Any], kind: str | None) -> str | None:
    """The place named in a first report, if usable (it names a 동 or district), in the citizen's
    own words: the longer of the NLU's location span and the words before the kind's words
    ("일산동구 마두동 강촌마을 3단지 상가 지하에서 | 가스 냄새가 나요"); else the whole message when it
    names a 동."""
    normaliser = place_normaliser()
    text = message.get("text") or ""
    candidates = [entity_span(message, "location") or ""]
    emergency = get_city_config().emergency_types.get(kind or "")
    if emergency is not None:
        starts = [text.find(word) for word in emergency.synonyms if word and text.find(word) > 0]
        if starts:
            cut = min(starts)
            if not text[cut - 1].isspace():  # inside a word ("백석지하차도 침수"): keep the whole word
                cut = text.find(" ", cut) if " " in text[cut:] else len(text)
            candidates.append(text[:cut].strip(" ,.!?"))
    usable = [c for c in candidates if c and (normaliser.normalise(c).dong or normaliser.normalise(c).district)]
    if usable:
        return max(usable, key=len)
    return text if normaliser.normalise(text).dong else None


def emergency_slots_cleared() -> list[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS] + [SlotSet(REQUESTED_SLOT, None)]


class ValidateEmergencyForm(FormValidationAction):
    def name(self) -> str:
        return "validate_emergency_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        events: list[EventType] = []
        first = not tracker.get_slot(GUIDED)
        if first:
            # Guidance before anything else; an emergency ends any other form in progress.
            kind = self._kind_in(tracker.latest_message)
            events += form_slots_cleared() + [SlotSet(slot, None) for slot in (PLACE, DETAILS, INCIDENT, REPORTED_AT)]
            dispatcher.utter_message(text=messages.guidance(get_city_config().emergency_types.get(kind or "")))
            events += [SlotSet(KIND, kind), SlotSet(GUIDED, True), SlotSet(WORDS, latest_text(tracker))]
        events += await super().run(dispatcher, tracker, domain)
        slots = {**tracker.slots, **{event["name"]: event["value"] for event in events if event.get("event") == "slot"}}
        if slots.get(KIND) and slots.get(PLACE) and not slots.get(INCIDENT):
            events += await self._report(dispatcher, tracker, slots)
        return events

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        return [KIND, PLACE, DETAILS]

    async def next_requested_slot(self, dispatcher, tracker: Tracker, domain) -> EventType | None:
        required = await self.required_slots([], dispatcher, tracker, domain)
        return SlotSet(REQUESTED_SLOT, next((slot for slot in required if tracker.get_slot(slot) is None), None))

    # --- extraction ------------------------------------------------------------------------------

    @staticmethod
    def _asked(tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot(REQUESTED_SLOT) == slot

    @staticmethod
    def _kind_in(message: dict[str, Any]) -> str | None:
        value = entity_value(message, KIND)
        if value in get_city_config().emergency_types:
            return value
        return kind_matcher().match(message.get("text") or "")

    async def extract_emergency_type(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        if tracker.get_slot(GUIDED) and not self._asked(tracker, KIND):
            return {}
        kind = self._kind_in(tracker.latest_message)
        if kind is None and self._asked(tracker, KIND):
            return {KIND: latest_text(tracker)}  # not understood: validate asks again
        return {KIND: kind} if kind else {}

    async def extract_emergency_place(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        if self._asked(tracker, PLACE):
            text = latest_text(tracker).strip()
            return {PLACE: UNKNOWN_PLACE if not text or says_unknown_place(text) else text}
        if tracker.get_slot(PLACE) or tracker.get_slot(GUIDED):
            return {}
        place = place_in_message(tracker.latest_message, self._kind_in(tracker.latest_message))
        return {PLACE: place} if place else {}

    async def extract_emergency_details(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        if not self._asked(tracker, DETAILS):
            return {}
        return {DETAILS: latest_text(tracker) or photo_url_in(tracker.latest_message) or ""}

    # --- validation ------------------------------------------------------------------------------

    async def validate_emergency_type(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        config = get_city_config()
        if value in config.emergency_types:
            if self._asked(tracker, KIND):  # the generic guidance came first: now the type's own
                dispatcher.utter_message(text=messages.guidance(config.emergency_types[value]))
            return {KIND: value}
        dispatcher.utter_message(text=messages.KIND_NOT_UNDERSTOOD)
        return {KIND: None}

    async def validate_emergency_place(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return {PLACE: value or UNKNOWN_PLACE}

    async def validate_emergency_details(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        text = str(value or "")
        closing = latest_intent(tracker) in CLOSING_INTENTS
        if (says_no_more(text) or closing) and not photo_url_in(tracker.latest_message):
            return {DETAILS: DONE}
        reported_at = tracker.get_slot(REPORTED_AT) or 0
        if time.time() - float(reported_at) > FOLLOW_UP_SECONDS:
            dispatcher.utter_message(text=messages.FOLLOW_UP_EXPIRED)
            return {DETAILS: DONE}
        photo = photo_url_in(tracker.latest_message)
        try:
            receipt = await in_thread(
                incident_store().follow_up, tracker.get_slot(INCIDENT) or "", tracker.sender_id, text, photo
            )
        except Exception:
            logger.exception("Follow-up to incident %s could not be stored", tracker.get_slot(INCIDENT))
            receipt = None
        if receipt is None:
            dispatcher.utter_message(text=messages.alert_failed())
            return {DETAILS: DONE}
        utter(dispatcher, messages.follow_up_sent(receipt))
        return {DETAILS: None}  # asked again (silently): the next message is a follow-up too

    # --- the alert -------------------------------------------------------------------------------

    async def _report(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slots: dict[str, Any]
    ) -> list[EventType]:
        place = slots.get(PLACE)
        report = IncidentInput(
            emergency_type=slots[KIND],
            sender_id=tracker.sender_id,
            text=slots.get(WORDS) or latest_text(tracker),
            location_text="" if place == UNKNOWN_PLACE else str(place),
            photo_url=photo_url_in(tracker.latest_message),
        )
        try:
            receipt: IncidentReceipt = await in_thread(incident_store().report, report)
        except Exception:
            logger.exception("Emergency %s could not be stored", report.emergency_type)
            dispatcher.utter_message(text=messages.alert_failed())
            return [SlotSet(DETAILS, DONE), SlotSet(REQUESTED_SLOT, None)]
        utter(dispatcher, messages.alerted(receipt, get_city_config().profile.name))
        return [SlotSet(INCIDENT, receipt.number), SlotSet(REPORTED_AT, time.time())]


class ActionAskEmergencyType(AskAction):
    slot = KIND

    def question(self) -> Reply:
        return messages.ask_kind(get_city_config())


class ActionAskEmergencyPlace(AskAction):
    slot = PLACE

    def question(self) -> Reply:
        return messages.ask_place()


class ActionAskEmergencyDetails(Action):
    """The confirmation (or the follow-up receipt) already invited more details: nothing to add."""

    def name(self) -> str:
        return "action_ask_emergency_details"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        return []


class ActionEmergencyDone(Action):
    def name(self) -> str:
        return "action_emergency_done"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if tracker.get_slot(INCIDENT):
            dispatcher.utter_message(text=messages.DONE)
        return emergency_slots_cleared()
