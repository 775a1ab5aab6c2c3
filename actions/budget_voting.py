"""Rasa action of participatory-budget voting, driven by menu taps (intent budget_vote):

  /budget_vote                                       start: the citizen's stored ballot, if any
  /budget_vote{"budget_vote_project": "<id>"}        select or unselect a candidate
  /budget_vote{"budget_vote_page": 2}                more candidates (when they do not fit one screen)
  /budget_vote{"budget_vote_step": "choose"}         back to choosing, keeping the selection
  /budget_vote{"budget_vote_step": "review"}         confirm the selection
  /budget_vote{"budget_vote_step": "submit"}         cast (or change) the ballot
  /budget_vote{"budget_vote_step": "cancel"}         stop; an earlier ballot stays as it was

The selection in progress is in the slot budget_vote_selection. Rules (maximum selections, budget
ceiling) are checked at every tap and again by the store when the ballot is cast. Only during
the voting phase.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import budget_messages as messages
from actions.budget import in_thread, tapped, utter
from bot.budget import (
    BallotProblem,
    BallotRuleError,
    BudgetData,
    BudgetStore,
    PhaseClosedError,
    PhaseKind,
    PhaseStatus,
    Project,
    check_selection,
    get_budget_store,
    selection_cost,
)

logger = logging.getLogger(__name__)

SELECTION = "budget_vote_selection"
TAP_ENTITIES = (messages.VOTE_PROJECT, messages.VOTE_PAGE, messages.VOTE_STEP)
ONE_PAGE_MAX = 8  # up to 8 candidates: all on one screen with "선택 완료" and "취소"
PAGE_SIZE = 6  # otherwise 6 per screen, plus "이전", "다음", "선택 완료", "취소" (10 quick replies)


def pages(candidates: Sequence[Project]) -> list[Sequence[Project]]:
    size = len(candidates) if len(candidates) <= ONE_PAGE_MAX else PAGE_SIZE
    return [candidates[start : start + size] for start in range(0, len(candidates), size)] or [[]]


def page_of(candidates: Sequence[Project], project_id: str | None) -> int:
    for number, page in enumerate(pages(candidates), start=1):
        if any(project.id == project_id for project in page):
            return number
    return 1


def rule_notice(data: BudgetData, error: BallotRuleError, added: str | None = None) -> str:
    """Why the rules refuse the selection (`added`: the project the citizen just tapped)."""
    if error.problem == BallotProblem.TOO_MANY:
        return messages.too_many(data)
    if error.problem == BallotProblem.OVER_BUDGET and added in data.projects:
        return messages.over_budget(data, data.projects[added])
    if error.problem == BallotProblem.OVER_BUDGET:
        return messages.over_budget_total(data)
    if error.problem == BallotProblem.EMPTY:
        return messages.NOTHING_SELECTED
    return messages.NOT_A_CANDIDATE


def toggled(data: BudgetData, selection: tuple[str, ...], project_id: str) -> tuple[tuple[str, ...], str | None]:
    """The selection with `project_id` added or removed, and a notice when a rule refuses it."""
    if project_id in selection:
        return tuple(p for p in selection if p != project_id), None
    try:
        return check_selection(data, selection + (project_id,), allow_empty=True), None
    except BallotRuleError as error:
        return selection, rule_notice(data, error, added=project_id)


def show_ballot(
    dispatcher: CollectingDispatcher,
    data: BudgetData,
    selection: tuple[str, ...],
    notice: str | None = None,
    page: int = 1,
) -> None:
    candidates = list(data.candidates)
    screens = pages(candidates)
    page = min(max(page, 1), len(screens))
    utter(
        dispatcher,
        messages.ballot_screen(
            data, candidates, selection, page, len(screens), screens[page - 1], selection_cost(data, selection), notice
        ),
    )


class ActionBudgetVote(Action):
    def name(self) -> str:
        return "action_budget_vote"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        store = get_budget_store()
        data = store.data
        status = store.phase_status()
        if not status.is_open(PhaseKind.VOTING):
            utter(dispatcher, messages.voting_closed(data, status))
            return [SlotSet(SELECTION, None)]

        step = tapped(tracker, messages.VOTE_STEP)
        if step == messages.STEP_CANCEL:
            dispatcher.utter_message(text=messages.VOTE_CANCELLED)
            return [SlotSet(SELECTION, None)]

        notice = None
        in_progress = tracker.get_slot(SELECTION)
        starting = not any(
            entity.get("entity") in TAP_ENTITIES for entity in tracker.latest_message.get("entities") or []
        )
        if starting or in_progress is None:
            selection = await in_thread(store.ballot_of, tracker.sender_id)
            if selection:
                notice = messages.already_voted(status.current.ends, status.today)
        else:
            selection = tuple(project_id for project_id in in_progress if project_id in data.projects)

        if step == messages.STEP_SUBMIT:
            return await self._cast(dispatcher, tracker, store, status, selection)
        if step == messages.STEP_REVIEW and selection:
            projects = [data.projects[project_id] for project_id in selection]
            utter(dispatcher, messages.ballot_review(data, projects, selection_cost(data, selection)))
            return [SlotSet(SELECTION, list(selection))]
        if step == messages.STEP_REVIEW:
            notice = messages.NOTHING_SELECTED

        project_id = tapped(tracker, messages.VOTE_PROJECT)
        if project_id:
            selection, toggle_notice = toggled(data, selection, str(project_id))
            notice = toggle_notice or notice
        page = tapped(tracker, messages.VOTE_PAGE)
        page = int(page) if str(page or "").isdigit() else page_of(list(data.candidates), project_id)
        show_ballot(dispatcher, data, selection, notice, page)
        return [SlotSet(SELECTION, list(selection))]

    @staticmethod
    async def _cast(
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        store: BudgetStore,
        status: PhaseStatus,
        selection: tuple[str, ...],
    ) -> list[EventType]:
        data = store.data
        try:
            receipt = await in_thread(store.cast_ballot, tracker.sender_id, selection)
        except PhaseClosedError as closed:
            utter(dispatcher, messages.voting_closed(data, closed.status))
            return [SlotSet(SELECTION, None)]
        except BallotRuleError as error:
            show_ballot(dispatcher, data, selection, rule_notice(data, error))
            return [SlotSet(SELECTION, list(selection))]
        except Exception:
            logger.exception("Ballot could not be stored")
            dispatcher.utter_message(text=messages.VOTE_FAILED)
            return [SlotSet(SELECTION, list(selection))]
        utter(dispatcher, messages.ballot_cast(data, receipt, status.today))
        return [SlotSet(SELECTION, None)]
