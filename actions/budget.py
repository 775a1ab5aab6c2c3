"""Rasa actions of participatory budgeting (주민참여예산): information and the proposal form.
Feedback and surveys are in budget_feedback.py, voting in budget_voting.py; data, phases and
storage in bot.budget.

budget_propose_form asks, in order: budget_title, budget_location, budget_category,
budget_description, budget_benefit, budget_cost, budget_consent, [budget_phone when consent was
given], budget_confirm. It is opened by action_budget_propose only while proposals are open.
"취소" at any step ends it early (budget_cancelled); action_budget_submit_proposal then stores the
proposal (with its outbox entry to the PB office) or says it was cancelled, and clears the slots.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecutionRejected, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import budget_messages as messages
from actions.budget_answers import (
    RESTART,
    SUBMIT,
    category_in,
    confirmation,
    consent_answer,
    is_cancel_request,
    place_in,
    wants_anonymous,
)
from actions.shared import in_thread, latest_intent, latest_text, place_normaliser, utter
from bot.budget import (
    BudgetData,
    BudgetInputError,
    PhaseClosedError,
    PhaseKind,
    PhaseStatus,
    Project,
    ProjectStatus,
    ProposalDraft,
    get_budget_data,
    get_budget_store,
    parse_krw,
)
from bot.budget.store import MAX_BENEFIT_CHARS, MAX_DESCRIPTION_CHARS, MAX_LOCATION_CHARS, MAX_TITLE_CHARS
from bot.city import get_city_config
from bot.privacy.masking import mask_phone, mask_rrn
from bot.replies import Reply
from bot.tickets.phone import find_mobile_number

logger = logging.getLogger(__name__)

REQUESTED_SLOT = "requested_slot"
CANCELLED = "budget_cancelled"  # set when the citizen says "취소" inside a budget form
TITLE, LOCATION, CATEGORY, DESCRIPTION, BENEFIT, COST, CONSENT, PHONE, CONFIRM = (
    "budget_title",
    "budget_location",
    "budget_category",
    "budget_description",
    "budget_benefit",
    "budget_cost",
    "budget_consent",
    "budget_phone",
    "budget_confirm",
)
PROPOSAL_SLOTS = (TITLE, LOCATION, CATEGORY, DESCRIPTION, BENEFIT, COST, CONSENT, PHONE, CONFIRM)
PROPOSE_FORM = "budget_propose_form"

MIN_TITLE_CHARS, MIN_LOCATION_CHARS, MIN_DESCRIPTION_CHARS, MIN_BENEFIT_CHARS = 2, 2, 10, 5


# --- shared helpers (also used by budget_feedback.py and budget_voting.py) -------------------------


def tapped(tracker: Tracker, entity: str) -> Any | None:
    """The value a menu tap (`/intent{"entity": value}`) carried in the latest message."""
    return next(tracker.get_latest_entity_values(entity), None)


def cleared(*slots: str) -> list[EventType]:
    return [SlotSet(slot, None) for slot in slots]


class BudgetFormValidation(FormValidationAction, ABC):
    """Common to the budget forms: "취소" ends the form (budget_cancelled), an emergency report
    interrupts it, and a 주민등록번호 typed by mistake is pointed out (validators mask it).
    Abstract, so that rasa-sdk registers only its subclasses."""

    @abstractmethod
    def name(self) -> str: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        requested = tracker.get_slot(REQUESTED_SLOT)
        if requested:
            if latest_intent(tracker) == "report_emergency":
                return [ActionExecutionRejected(self.form_name())]
            if is_cancel_request(latest_text(tracker)):
                return [SlotSet(requested, None), SlotSet(CANCELLED, True), SlotSet(REQUESTED_SLOT, None)]
            if mask_rrn(latest_text(tracker)) != latest_text(tracker):
                dispatcher.utter_message(text=messages.RRN_MASKED)
        return await super().run(dispatcher, tracker, domain)

    @staticmethod
    def checked_text(value: Any, minimum: int, maximum: int, dispatcher: CollectingDispatcher) -> str | None:
        text = mask_rrn(" ".join(str(value or "").split()))
        if not minimum <= len(text) <= maximum:
            dispatcher.utter_message(text=messages.text_length(minimum, maximum))
            return None
        return text


# --- budget_info ---------------------------------------------------------------------------------


def showcase(data: BudgetData, status: PhaseStatus) -> list[Project]:
    """The projects of the carousel: the ballot while voting, otherwise the selected projects
    (or the candidates when none is selected yet)."""
    if status.kind == PhaseKind.VOTING:
        return list(data.candidates)
    return list(data.projects_with_status(ProjectStatus.SELECTED) or data.candidates)


class ActionBudgetInfo(Action):
    """What participatory budgeting is, the schedule and current phase, and a project carousel."""

    def name(self) -> str:
        return "action_budget_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        data, store = get_budget_data(), get_budget_store()
        status = store.phase_status()
        projects = showcase(data, status)
        open_surveys = [survey for survey in data.surveys.values() if store.survey_is_open(survey.id)]
        dispatcher.utter_message(text=messages.info_text(data, status))
        utter(
            dispatcher,
            messages.projects_reply(data, status, projects, messages.info_buttons(data, status, open_surveys)),
        )
        return []


# --- proposals -----------------------------------------------------------------------------------


class ActionBudgetPropose(Action):
    """Opens the proposal form while proposals are open; otherwise says when they open."""

    def name(self) -> str:
        return "action_budget_propose"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        data = get_budget_data()
        status = get_budget_store().phase_status()
        if not status.is_open(PhaseKind.PROPOSALS):
            utter(dispatcher, messages.proposals_closed(data, status))
            return []
        dispatcher.utter_message(text=messages.proposal_intro(data, status))
        return cleared(*PROPOSAL_SLOTS, CANCELLED) + [FollowupAction(PROPOSE_FORM)]


class ValidateBudgetProposeForm(BudgetFormValidation):
    def name(self) -> str:
        return "validate_budget_propose_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        if tracker.get_slot(CANCELLED):
            return []
        slots = [TITLE, LOCATION, CATEGORY, DESCRIPTION, BENEFIT, COST, CONSENT]
        if tracker.get_slot(CONSENT) is True:
            slots.append(PHONE)
        return slots + [CONFIRM]

    async def validate_budget_title(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return {TITLE: self.checked_text(value, MIN_TITLE_CHARS, MAX_TITLE_CHARS, dispatcher)}

    async def validate_budget_location(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        location = self.checked_text(value, MIN_LOCATION_CHARS, MAX_LOCATION_CHARS, dispatcher)
        if location is None:
            return {LOCATION: None}
        if place_in(location, place_normaliser()) is None:
            dispatcher.utter_message(
                text=messages.location_not_understood(get_budget_data(), get_city_config().districts)
            )
            return {LOCATION: None}
        return {LOCATION: location}

    async def validate_budget_category(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        data = get_budget_data()
        category_id = category_in(str(value or ""), data.cycle.categories)
        if category_id is None:
            utter(dispatcher, messages.category_not_understood(data))
        return {CATEGORY: category_id}

    async def validate_budget_description(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return {DESCRIPTION: self.checked_text(value, MIN_DESCRIPTION_CHARS, MAX_DESCRIPTION_CHARS, dispatcher)}

    async def validate_budget_benefit(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        return {BENEFIT: self.checked_text(value, MIN_BENEFIT_CHARS, MAX_BENEFIT_CHARS, dispatcher)}

    async def validate_budget_cost(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        data = get_budget_data()
        amount = value if isinstance(value, int) and not isinstance(value, bool) else parse_krw(str(value or ""))
        rules = data.cycle.proposals
        if amount is None:
            dispatcher.utter_message(text=messages.COST_NOT_UNDERSTOOD)
        elif amount < rules.min_cost_won:
            dispatcher.utter_message(text=messages.cost_too_small(data, amount))
        elif amount > rules.max_cost_won:
            dispatcher.utter_message(text=messages.cost_too_large(data, amount))
        else:
            return {COST: amount}
        return {COST: None}

    async def validate_budget_consent(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        answer = value if isinstance(value, bool) else consent_answer(str(value or ""), latest_intent(tracker))
        if answer is None:
            dispatcher.utter_message(text=messages.CONSENT_NOT_UNDERSTOOD)
            return {CONSENT: None}
        return {CONSENT: answer} if answer else {CONSENT: False, PHONE: None}

    async def validate_budget_phone(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        text = str(value or "")
        if wants_anonymous(text):
            return {PHONE: None, CONSENT: False}
        phone = find_mobile_number(text)
        if phone is None:
            dispatcher.utter_message(text=messages.PHONE_INVALID)
        return {PHONE: phone}

    async def validate_budget_confirm(self, value, dispatcher, tracker, domain) -> dict[str, Any]:
        answer = value if value == SUBMIT else confirmation(str(value or ""), latest_intent(tracker))
        if answer == RESTART:
            dispatcher.utter_message(text=messages.RESTARTING)
            return {slot: None for slot in PROPOSAL_SLOTS}
        if answer is None:
            dispatcher.utter_message(text=messages.CONFIRM_NOT_UNDERSTOOD)
        return {CONFIRM: answer}


class BudgetAsk(Action, ABC):
    """Asks for one form slot (Rasa calls action_ask_<slot>); `reply` builds the question."""

    slot: str = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    @abstractmethod
    def reply(self, tracker: Tracker) -> Reply: ...

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        utter(dispatcher, self.reply(tracker))
        return []


class ActionAskBudgetTitle(BudgetAsk):
    slot = TITLE

    def reply(self, tracker: Tracker) -> Reply:
        return messages.ASK_TITLE


class ActionAskBudgetLocation(BudgetAsk):
    slot = LOCATION

    def reply(self, tracker: Tracker) -> Reply:
        return messages.ask_location(get_budget_data(), get_city_config().districts)


class ActionAskBudgetCategory(BudgetAsk):
    slot = CATEGORY

    def reply(self, tracker: Tracker) -> Reply:
        return messages.ask_category(get_budget_data())


class ActionAskBudgetDescription(BudgetAsk):
    slot = DESCRIPTION

    def reply(self, tracker: Tracker) -> Reply:
        return messages.ASK_DESCRIPTION


class ActionAskBudgetBenefit(BudgetAsk):
    slot = BENEFIT

    def reply(self, tracker: Tracker) -> Reply:
        return messages.ASK_BENEFIT


class ActionAskBudgetCost(BudgetAsk):
    slot = COST

    def reply(self, tracker: Tracker) -> Reply:
        return messages.ask_cost(get_budget_data())


class ActionAskBudgetConsent(BudgetAsk):
    slot = CONSENT

    def reply(self, tracker: Tracker) -> Reply:
        return messages.ask_consent(get_budget_data())


class ActionAskBudgetPhone(BudgetAsk):
    slot = PHONE

    def reply(self, tracker: Tracker) -> Reply:
        return messages.ASK_PHONE


class ActionAskBudgetConfirm(BudgetAsk):
    slot = CONFIRM

    def reply(self, tracker: Tracker) -> Reply:
        slots = {slot: tracker.get_slot(slot) for slot in PROPOSAL_SLOTS}
        phone = slots[PHONE] if slots[CONSENT] is True else None
        return messages.proposal_summary(get_budget_data(), slots, mask_phone(phone))


class ActionBudgetSubmitProposal(Action):
    """Stores the confirmed proposal (routed to the PB office), or reports the cancellation."""

    def name(self) -> str:
        return "action_budget_submit_proposal"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        reset = cleared(*PROPOSAL_SLOTS, CANCELLED, REQUESTED_SLOT)
        if tracker.get_slot(CANCELLED) or tracker.get_slot(CONFIRM) != SUBMIT:
            dispatcher.utter_message(text=messages.PROPOSAL_CANCELLED)
            return reset
        data, store = get_budget_data(), get_budget_store()
        draft = self._draft(tracker)
        try:
            receipt = await in_thread(store.submit_proposal, draft)
        except PhaseClosedError as closed:
            utter(dispatcher, messages.proposals_closed(data, closed.status))
        except BudgetInputError as error:
            logger.warning("Budget proposal refused by the store: %s", error.field)
            dispatcher.utter_message(text=messages.proposal_failed(data))
        except Exception:  # the citizen gets an answer whatever failed; the log has the cause
            logger.exception("Budget proposal could not be stored")
            dispatcher.utter_message(text=messages.proposal_failed(data))
        else:
            dispatcher.utter_message(
                text=messages.proposal_received(
                    receipt, anonymous=draft.contact_phone is None, today=store.phase_status().today
                )
            )
        return reset

    @staticmethod
    def _draft(tracker: Tracker) -> ProposalDraft:
        location = tracker.get_slot(LOCATION) or ""
        place = place_in(location, place_normaliser())
        consent = tracker.get_slot(CONSENT) is True
        return ProposalDraft(
            sender_id=tracker.sender_id,
            title=tracker.get_slot(TITLE) or "",
            category_id=tracker.get_slot(CATEGORY) or "",
            location_text=location,
            district=place.district if place else None,
            dong=place.dong if place else None,
            description=tracker.get_slot(DESCRIPTION) or "",
            expected_benefit=tracker.get_slot(BENEFIT) or "",
            estimated_cost_won=int(tracker.get_slot(COST) or 0),
            contact_phone=tracker.get_slot(PHONE) if consent else None,
            consent_given=consent,
        )
