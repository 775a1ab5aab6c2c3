"""Rasa actions of the complaint conversation (민원): the complaint form, submitting and status
lookups (emergencies: actions/emergency.py). Routing, storage and delivery live in bot.tickets and bot.delivery.

complaint_form asks, in order: complaint_category, location, [duplicate_choice when an open ticket
of the same category exists at the same place], description, [photo_url when the category wants
one], consent, [phone when consent was given], complaint_decision (the confirmation). "취소" at
any step, or "join"/"cancel" decisions, end the form early; action_submit_complaint then acts on
complaint_decision (submit, join or cancel) and clears the form's slots.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import complaint_messages as messages
from actions.complaint_answers import (
    CategoryMatcher,
    entity_span,
    entity_value,
    field_to_correct,
    has_no_photo,
    is_cancel_request,
    looks_like_description,
    photo_url_in,
    wants_anonymous,
    wants_new_ticket,
    yes_or_no,
)
from actions.shared import in_thread, latest_intent, latest_text, place_normaliser, utter
from bot.city import follows_city_config, get_city_config
from bot.city.places import PlaceNormaliser
from bot.knowledge.clarification import clarified_text, is_typed
from bot.privacy.masking import mask_rrn
from bot.replies import Reply
from bot.tickets import ComplaintDraft, JoinOutcome, TicketInputError, TicketStore
from bot.tickets.notices import pending_notices_text, take_pending_notices
from bot.tickets.numbers import parse_ticket_number
from bot.tickets.phone import find_mobile_number
from bot.tickets.store import MAX_DESCRIPTION_CHARS, MAX_LOCATION_CHARS, open_ticket_store

logger = logging.getLogger(__name__)

REQUESTED_SLOT = "requested_slot"
CATEGORY, LOCATION, DESCRIPTION, PHOTO, CONSENT, PHONE = (
    "complaint_category",
    "location",
    "description",
    "photo_url",
    "consent",
    "phone",
)
DUPLICATE_TICKET, DUPLICATE_CHOICE, DECISION = "duplicate_ticket_id", "duplicate_choice", "complaint_decision"
WANTS_CORRECTION = "complaint_wants_correction"  # said "no" to the summary: offer the fields to fix
FORM_SLOTS = (
    CATEGORY,
    LOCATION,
    DESCRIPTION,
    PHOTO,
    CONSENT,
    PHONE,
    DUPLICATE_TICKET,
    DUPLICATE_CHOICE,
    DECISION,
    WANTS_CORRECTION,
)

NO_PHOTO = "none"  # photo_url when the citizen has no photo
ANONYMOUS = "anonymous"  # phone when the citizen files without a number
JOIN, NEW = "join", "new"  # duplicate_choice
SUBMIT, CANCEL = "submit", "cancel"  # complaint_decision (JOIN too)

# Slot cleared when the citizen corrects a field at the confirmation step (its validator clears
# the slots that depend on it: the duplicate check, the phone number).
SLOT_CLEARED_BY_CORRECTION = {
    CATEGORY: CATEGORY,
    LOCATION: LOCATION,
    DESCRIPTION: DESCRIPTION,
    PHOTO: PHOTO,
    PHONE: CONSENT,
}
NO_DUPLICATE = {DUPLICATE_TICKET: None, DUPLICATE_CHOICE: None}


@follows_city_config
def category_matcher(config, _previous) -> CategoryMatcher:
    return CategoryMatcher(config)


@follows_city_config
def ticket_store(config, previous: TicketStore | None) -> TicketStore:
    """The action server's ticket store (SOTONG_DATABASE_URL), opened on first use; a change of the
    city data renews its routing and keeps its database."""
    return TicketStore(previous.sessions, config) if previous else open_ticket_store(config)


def form_slots_cleared() -> list[EventType]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS] + [SlotSet(REQUESTED_SLOT, None)]


class ValidateComplaintForm(FormValidationAction):
    def name(self) -> str:
        return "validate_complaint_form"

    @property
    def config(self):
        return get_city_config()

    @property
    def matcher(self) -> CategoryMatcher:
        return category_matcher()

    @property
    def places(self) -> PlaceNormaliser:
        return place_normaliser()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        text = latest_text(tracker)
        if mask_rrn(text) != text:
            dispatcher.utter_message(text=messages.RRN_MASKED)
        if tracker.get_slot(REQUESTED_SLOT):
            if latest_intent(tracker) == "report_emergency":
                # Let the emergency rule answer first (the form is rejected for this turn).
                return [ActionExecutionRejected(self.form_name())]
            if is_cancel_request(text):
                return [SlotSet(DECISION, CANCEL), SlotSet(REQUESTED_SLOT, None)]
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        category = self.config.complaint_categories.get(tracker.get_slot(CATEGORY) or "")
        slots = [CATEGORY, LOCATION]
        if tracker.get_slot(DUPLICATE_TICKET):
            slots.append(DUPLICATE_CHOICE)
        slots.append(DESCRIPTION)
        if category is None or category.needs_photo:
            slots.append(PHOTO)
        slots.append(CONSENT)
        if tracker.get_slot(CONSENT) is True:
            slots.append(PHONE)
        return slots + [DECISION]

    async def get_validation_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events = await super().get_validation_events(dispatcher, tracker, domain)
        # complaint_wants_correction is bookkeeping, not a question of the form: keep it as extracted.
        extracted = tracker.slots_to_validate()
        if WANTS_CORRECTION in extracted:
            events.append(SlotSet(WANTS_CORRECTION, extracted[WANTS_CORRECTION]))
        return events

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> EventType | None:
        if tracker.get_slot(DECISION) in (JOIN, CANCEL):
            return SlotSet(REQUESTED_SLOT, None)  # ends the form; action_submit_complaint follows
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet(REQUESTED_SLOT, next((slot for slot in required if tracker.get_slot(slot) is None), None))

    # --- extraction: what the latest message says about each slot ---------------------------------

    @staticmethod
    def _asked(tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot(REQUESTED_SLOT) == slot

    @staticmethod
    def _first_message(tracker: Tracker) -> bool:
        return tracker.get_slot(REQUESTED_SLOT) is None and latest_intent(tracker) == "report_complaint"

    async def extract_complaint_category(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        asked = self._asked(tracker, CATEGORY)
        if tracker.get_slot(CATEGORY) and not asked:
            return {}
        value = entity_value(tracker.latest_message, CATEGORY)
        if value is None and asked:
            value = latest_text(tracker)
        elif value is None and self._first_message(tracker) and is_typed(tracker.latest_message):
            value = self.matcher.match(latest_text(tracker))  # a category's own words (data synonyms)
        return {CATEGORY: value} if value else {}

    async def extract_location(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        if self._asked(tracker, LOCATION):
            return {LOCATION: latest_text(tracker)}
        value = entity_span(tracker.latest_message, LOCATION)
        return {LOCATION: value} if value and not tracker.get_slot(LOCATION) else {}

    async def extract_description(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        text = latest_text(tracker)
        if self._asked(tracker, DESCRIPTION):
            return {DESCRIPTION: text}
        if not self._first_message(tracker) or tracker.get_slot(DESCRIPTION):
            return {}
        if not is_typed(tracker.latest_message):  # a tap: the message the citizen was asked about, if any
            text = clarified_text(tracker.events) or ""
        return {DESCRIPTION: text} if looks_like_description(text) else {}

    async def extract_photo_url(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        url = photo_url_in(tracker.latest_message)
        if self._asked(tracker, PHOTO):
            return {PHOTO: url or (NO_PHOTO if has_no_photo(latest_text(tracker)) else latest_text(tracker))}
        return {PHOTO: url} if url and not tracker.get_slot(PHOTO) else {}

    async def extract_consent(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        if not self._asked(tracker, CONSENT):
            return {}
        answer = yes_or_no(latest_text(tracker), latest_intent(tracker))
        return {CONSENT: answer if answer is not None else latest_text(tracker)}

    async def extract_phone(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        if not self._asked(tracker, PHONE):
            return {}
        text = latest_text(tracker)
        return {PHONE: find_mobile_number(text) or (ANONYMOUS if wants_anonymous(text) else text)}

    async def extract_duplicate_choice(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        if not self._asked(tracker, DUPLICATE_CHOICE):
            return {}
        text = latest_text(tracker)
        if wants_new_ticket(text):
            return {DUPLICATE_CHOICE: NEW}
        answer = yes_or_no(text, latest_intent(tracker))
        return {DUPLICATE_CHOICE: JOIN if answer else (NEW if answer is False else text)}

    async def extract_complaint_decision(self, dispatcher, tracker: Tracker, domain) -> dict[str, Any]:
        if not self._asked(tracker, DECISION):
            return {}
        text = latest_text(tracker)
        correction = field_to_correct(text)
        if correction:
            return {SLOT_CLEARED_BY_CORRECTION[correction]: None, DECISION: None}
        answer = yes_or_no(text, latest_intent(tracker))
        return {DECISION: SUBMIT if answer else None, WANTS_CORRECTION: answer is False}

    # --- validation: accept, normalise or explain and ask again -----------------------------------

    async def validate_complaint_category(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value is None:
            return {CATEGORY: None, **NO_DUPLICATE}
        category_id = value if value in self.config.complaint_categories else self.matcher.match(value)
        if category_id is None:
            utter(dispatcher, messages.unknown_category(self.config))
            # An answer that describes the problem is kept, so only the category is asked again.
            text = (mask_rrn(str(value)) or "").strip()
            described = (
                not tracker.get_slot(DESCRIPTION)
                and looks_like_description(text)
                and len(text) <= MAX_DESCRIPTION_CHARS
            )
            return {CATEGORY: None, **({DESCRIPTION: text} if described else {})}
        return {CATEGORY: category_id, **await self._duplicate_slots(tracker, category_id, tracker.get_slot(LOCATION))}

    async def validate_location(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        location = self._checked_text(value, MAX_LOCATION_CHARS, dispatcher)
        if location is None:
            return {LOCATION: None, **NO_DUPLICATE}
        category = self.config.complaint_categories.get(tracker.get_slot(CATEGORY) or "")
        if category and category.needs_exact_location and not self.places.normalise(location).is_specific:
            dispatcher.utter_message(text=messages.LOCATION_TOO_VAGUE)
            return {LOCATION: None, **NO_DUPLICATE}
        return {LOCATION: location, **await self._duplicate_slots(tracker, tracker.get_slot(CATEGORY), location)}

    async def validate_duplicate_choice(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value == JOIN:
            return {DUPLICATE_CHOICE: JOIN, DECISION: JOIN}
        if value == NEW:
            return {DUPLICATE_CHOICE: NEW}
        return {DUPLICATE_CHOICE: None}  # not understood: the question is asked again

    async def validate_description(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return {DESCRIPTION: self._checked_text(value, MAX_DESCRIPTION_CHARS, dispatcher)}

    async def validate_photo_url(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value is None or value == NO_PHOTO or str(value).startswith(("http://", "https://")):
            return {PHOTO: value}
        dispatcher.utter_message(text=messages.PHOTO_NOT_UNDERSTOOD)
        return {PHOTO: None}

    async def validate_consent(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value is True:
            return {CONSENT: True}
        if value is not None and value is not False:
            dispatcher.utter_message(text=messages.CONSENT_NOT_UNDERSTOOD)
            value = None
        return {CONSENT: value, PHONE: None}  # no consent (yet): no phone number

    async def validate_phone(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        if value is None or value == ANONYMOUS or find_mobile_number(value) == value:
            return {PHONE: value}
        dispatcher.utter_message(text=messages.PHONE_INVALID)
        return {PHONE: None}

    async def validate_complaint_decision(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return {DECISION: value if value in (SUBMIT, CANCEL, JOIN) else None}

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _checked_text(value: str | None, max_chars: int, dispatcher: CollectingDispatcher) -> str | None:
        """Trimmed, 주민등록번호-masked text, or None after telling the citizen what is wrong."""
        if value is None:
            return None
        text = (mask_rrn(str(value)) or "").strip()
        if not text:
            dispatcher.utter_message(text=messages.TEXT_EMPTY)
            return None
        if len(text) > max_chars:
            dispatcher.utter_message(text=messages.text_too_long(max_chars))
            return None
        return text

    @staticmethod
    async def _duplicate_slots(tracker: Tracker, category: str | None, location: str | None) -> dict[str, Any]:
        """duplicate_ticket_id of an open ticket of this category at this place, if any."""
        if not category or not location:
            return {}
        try:
            duplicate = await in_thread(ticket_store().find_open_duplicate, category, location, tracker.sender_id)
        except Exception:  # a lookup failure must not block filing
            logger.exception("Duplicate lookup failed")
            duplicate = None
        return {DUPLICATE_TICKET: duplicate.number if duplicate else None, DUPLICATE_CHOICE: None}


# --- the form's questions ------------------------------------------------------------------------------


class AskAction(Action, ABC):
    """action_ask_<slot>: the question of one form slot (texts in complaint_messages.py)."""

    slot: str

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    @abstractmethod
    def question(self) -> Reply: ...

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        utter(dispatcher, self.question())
        return []


class ActionAskComplaintCategory(AskAction):
    slot = CATEGORY

    def question(self) -> Reply:
        return messages.ask_category(get_city_config())


class ActionAskLocation(AskAction):
    slot = LOCATION

    def question(self) -> Reply:
        return Reply(messages.ASK_LOCATION)


class ActionAskDescription(AskAction):
    slot = DESCRIPTION

    def question(self) -> Reply:
        return Reply(messages.ASK_DESCRIPTION)


class ActionAskPhotoUrl(AskAction):
    slot = PHOTO

    def question(self) -> Reply:
        return messages.photo_question()


class ActionAskConsent(AskAction):
    slot = CONSENT

    def question(self) -> Reply:
        return messages.ask_consent(get_city_config().profile.consent)


class ActionAskPhone(AskAction):
    slot = PHONE

    def question(self) -> Reply:
        return messages.phone_question()


class ActionAskDuplicateChoice(Action):
    def name(self) -> str:
        return "action_ask_duplicate_choice"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        store = ticket_store()
        number = tracker.get_slot(DUPLICATE_TICKET) or ""
        view = await in_thread(store.lookup, number, tracker.sender_id)
        if view is None:  # not the citizen's own: only the public summary of the duplicate
            view = await in_thread(
                store.find_open_duplicate,
                tracker.get_slot(CATEGORY) or "",
                tracker.get_slot(LOCATION) or "",
                tracker.sender_id,
            )
        if view is None:  # closed in the meantime: file a new ticket
            return [SlotSet(DUPLICATE_TICKET, None), SlotSet(DUPLICATE_CHOICE, NEW)]
        utter(dispatcher, messages.ask_duplicate(view, store.config.profile.timezone))
        return []


class ActionAskComplaintDecision(Action):
    """The summary to confirm, or the correction menu after a "no"."""

    def name(self) -> str:
        return "action_ask_complaint_decision"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        if tracker.get_slot(WANTS_CORRECTION):
            utter(dispatcher, messages.correction_menu())
            return [SlotSet(WANTS_CORRECTION, False)]
        slots = {slot: tracker.get_slot(slot) for slot in (CATEGORY, LOCATION, DESCRIPTION, PHOTO, PHONE)}
        utter(dispatcher, messages.summary(get_city_config(), slots, tracker.get_slot(CONSENT), NO_PHOTO, ANONYMOUS))
        return []


# --- after the form ----------------------------------------------------------------------------------


class ActionSubmitComplaint(Action):
    def name(self) -> str:
        return "action_submit_complaint"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        decision = tracker.get_slot(DECISION)
        if decision == JOIN:
            await self._join(dispatcher, tracker)
        elif decision == SUBMIT:
            await self._file(dispatcher, tracker)
        else:
            dispatcher.utter_message(text=messages.CANCELLED)
        return form_slots_cleared()

    @staticmethod
    async def _join(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        number = tracker.get_slot(DUPLICATE_TICKET) or ""
        outcome = await in_thread(ticket_store().join, number, tracker.sender_id)
        text = {
            JoinOutcome.JOINED: messages.joined,
            JoinOutcome.ALREADY_WATCHING: messages.already_joined,
            JoinOutcome.OWN_TICKET: messages.own_ticket,
        }.get(outcome, messages.join_closed)(number)
        dispatcher.utter_message(text=text)

    @staticmethod
    async def _file(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        store = ticket_store()
        phone = tracker.get_slot(PHONE)
        consent = tracker.get_slot(CONSENT) is True
        photo = tracker.get_slot(PHOTO)
        draft = ComplaintDraft(
            category=tracker.get_slot(CATEGORY) or "",
            location_text=tracker.get_slot(LOCATION) or "",
            description=tracker.get_slot(DESCRIPTION) or "",
            sender_id=tracker.sender_id,
            photo_url=photo if photo and photo != NO_PHOTO else None,
            contact_phone=phone if consent and phone and phone != ANONYMOUS else None,
            consent_given=consent,
        )
        try:
            receipt = await in_thread(store.file_complaint, draft)
        except TicketInputError as error:  # the form checks inputs first: a bug if it happens
            logger.error("Complaint refused by the store: %s", error)
        except Exception:
            logger.exception("Complaint could not be stored")
        else:
            category = store.config.complaint_categories[draft.category]
            utter(dispatcher, messages.filed(receipt, category, anonymous=draft.contact_phone is None))
            return
        dispatcher.utter_message(text=messages.submit_failed(store.config.profile.call_centre_phone))


class ActionCheckComplaintStatus(Action):
    """One ticket by number (owner or watcher only), or the citizen's latest tickets."""

    def name(self) -> str:
        return "action_check_complaint_status"

    async def run(self, dispatcher, tracker, domain) -> list[EventType]:
        store = ticket_store()
        profile = store.config.profile
        typed = entity_value(tracker.latest_message, "ticket_id") or latest_text(tracker)
        number = parse_ticket_number(typed, profile.ticket_prefix)
        try:
            if number:
                view = await in_thread(store.lookup, number, tracker.sender_id)
                text = messages.ticket_status(view, profile.timezone) if view else messages.ticket_not_found(number)
                dispatcher.utter_message(text=text)
            else:
                views = await in_thread(store.tickets_of, tracker.sender_id)
                if views:
                    utter(dispatcher, messages.ticket_list(views, profile.timezone))
                else:
                    dispatcher.utter_message(text=messages.NO_TICKETS)
        except Exception:
            logger.exception("Status lookup failed")
            dispatcher.utter_message(text=messages.STATUS_UNAVAILABLE)
        await utter_pending_notices(dispatcher, store, tracker.sender_id)
        return [SlotSet("ticket_id", None)]


async def utter_pending_notices(dispatcher: CollectingDispatcher, store: TicketStore, sender_id: str) -> None:
    """Status changes and replies from staff that have not reached the citizen on Kakao (bot.staff)."""
    try:
        notices = await in_thread(take_pending_notices, store.sessions, sender_id)
    except Exception:
        logger.exception("Pending citizen notices could not be read")
        return
    text = pending_notices_text(notices)
    if text:
        dispatcher.utter_message(text=text)
