"""Participatory budgeting in the database: proposals (stored with their outbox entry in one
transaction), project feedback, survey answers and ballots — each allowed only in its phase.

Two clocks: `clock` (default: budget_now, which honours SOTONG_BUDGET_NOW) decides which phase
is open; what is recorded — timestamps, the outbox schedule, the year in proposal numbers —
uses `record_clock` (default: the real clock), so a demo set in another phase still delivers
proposals now.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import bot.tickets.models  # noqa: F401  (the outbox table refers to the tickets table)
from bot.budget.ballots import check_selection, selection_cost
from bot.budget.definitions import BudgetData, Phase, PhaseKind
from bot.budget.documents import RECIPIENT_KIND, idempotency_key, proposal_document
from bot.budget.errors import BudgetInputError, PhaseClosedError
from bot.budget.phases import PhaseStatus, budget_now, local_day, phase_status
from bot.budget.tables import Ballot, BallotSelection, BudgetProposal, ProjectFeedback, SurveyAnswer
from bot.delivery import enqueue
from bot.privacy.citizen_input import clean_text, require_sender
from bot.privacy.contacts import seal_phone
from bot.storage.db import create_schema, make_engine, make_session_factory, utc_now
from bot.tickets.numbers import next_ticket_number
from bot.tickets.phone import normalise_mobile_number

logger = logging.getLogger(__name__)

MAX_TITLE_CHARS = 60
MAX_LOCATION_CHARS = 200
MAX_DESCRIPTION_CHARS = 1000
MAX_BENEFIT_CHARS = 500
MAX_COMMENT_CHARS = 500
PROPOSAL_SEQUENCE_DIGITS = 4


@dataclass(frozen=True)
class ProposalDraft:
    sender_id: str
    title: str
    category_id: str
    location_text: str  # as the citizen wrote it; "" for city-wide
    description: str
    expected_benefit: str
    estimated_cost_won: int
    district: str | None = None
    dong: str | None = None
    contact_phone: str | None = None  # a mobile number; None: anonymous
    consent_given: bool = False


@dataclass(frozen=True)
class ProposalReceipt:
    number: str
    title: str
    office_name: str
    office_phone: str
    review: Phase  # when the proposal is reviewed


@dataclass(frozen=True)
class BallotReceipt:
    project_ids: tuple[str, ...]
    total_cost_won: int
    changed: bool  # True: an earlier ballot of the citizen was replaced
    voting_ends: date  # the ballot can be changed until this day


def format_proposal_number(prefix: str, year: int, sequence: int) -> str:
    return f"{prefix}-{year}-{sequence:0{PROPOSAL_SEQUENCE_DIGITS}d}"


def next_proposal_number(session: Session, prefix: str, year: int) -> str:
    """PB-2026-0001, PB-2026-0002, …: the tickets' per-year sequence under the budget prefix."""
    sequence = int(next_ticket_number(session, prefix, year).rsplit("-", 1)[1])
    return format_proposal_number(prefix, year, sequence)


class BudgetStore:
    def __init__(
        self,
        session_factory: sessionmaker,
        data: BudgetData,
        clock: Callable[[], datetime] | None = None,
        record_clock: Callable[[], datetime] = utc_now,
    ):
        self._sessions = session_factory
        self.data = data
        self._clock = clock or partial(budget_now, data.timezone)
        self._record_clock = record_clock

    @property
    def session_factory(self) -> sessionmaker:
        """For staff reports (bot.budget.reports) on the same database."""
        return self._sessions

    # --- phases ----------------------------------------------------------------------------------

    def phase_status(self, now: datetime | None = None) -> PhaseStatus:
        return phase_status(self.data.cycle, now or self._clock(), self.data.timezone)

    def _require_phase(self, kind: PhaseKind, now: datetime) -> PhaseStatus:
        status = self.phase_status(now)
        if not status.is_open(kind):
            raise PhaseClosedError(kind, status)
        return status

    def survey_is_open(self, survey_id: str, now: datetime | None = None) -> bool:
        survey = self.data.surveys.get(survey_id)
        if survey is None:
            return False
        return not survey.open_during or self.phase_status(now).kind in survey.open_during

    # --- proposals -------------------------------------------------------------------------------

    def submit_proposal(self, draft: ProposalDraft) -> ProposalReceipt:
        """Store the proposal and its outbox entry to the PB office in one transaction."""
        self._require_phase(PhaseKind.PROPOSALS, self._clock())
        now = self._record_clock()
        proposal = self._new_proposal(draft, now)
        cycle = self.data.cycle
        with self._sessions.begin() as session:
            year = local_day(now, self.data.timezone).year
            proposal.number = next_proposal_number(session, cycle.number_prefix, year)
            session.add(proposal)
            session.flush()
            enqueue(
                session,
                target_kind=RECIPIENT_KIND,
                target_id=cycle.office.id,
                send=cycle.office.send,
                payload=proposal_document(self.data, proposal),
                idempotency_key=idempotency_key(self.data, proposal),
                now=now,
            )
        logger.info(
            "Budget proposal %s stored (category %s, %s)",
            proposal.number,
            proposal.category,
            "with contact" if proposal.contact_phone else "anonymous",
        )
        return ProposalReceipt(
            number=proposal.number,
            title=proposal.title,
            office_name=cycle.office.name,
            office_phone=cycle.office.phone,
            review=cycle.phase(PhaseKind.REVIEW),
        )

    def _new_proposal(self, draft: ProposalDraft, now: datetime) -> BudgetProposal:
        rules = self.data.cycle.proposals
        if draft.category_id not in self.data.cycle.categories:
            raise BudgetInputError("category_id", f"unknown category '{draft.category_id}'")
        if not rules.min_cost_won <= draft.estimated_cost_won <= rules.max_cost_won:
            raise BudgetInputError("estimated_cost_won", "outside the cycle's cost range")
        phone = None
        if draft.contact_phone:
            phone = normalise_mobile_number(draft.contact_phone)
            if phone is None:
                raise BudgetInputError("contact_phone", "not a mobile number")
            if not draft.consent_given:
                raise BudgetInputError("contact_phone", "a phone number needs the citizen's consent")
        consented = bool(phone and draft.consent_given)
        return BudgetProposal(
            cycle_id=self.data.cycle.id,
            title=_clean("title", draft.title, MAX_TITLE_CHARS),
            category=draft.category_id,
            location_text=_clean("location_text", draft.location_text, MAX_LOCATION_CHARS, required=False),
            district=draft.district,
            dong=draft.dong,
            description=_clean("description", draft.description, MAX_DESCRIPTION_CHARS),
            expected_benefit=_clean("expected_benefit", draft.expected_benefit, MAX_BENEFIT_CHARS),
            estimated_cost_won=draft.estimated_cost_won,
            contact_phone=seal_phone(phone) if consented else None,  # encrypted at rest
            consent_given=consented,
            consent_text_version=self.data.cycle.consent.version if consented else None,
            consent_at=now if consented else None,
            sender_id=require_sender(draft.sender_id, BudgetInputError),
            created_at=now,
        )

    # --- feedback and surveys --------------------------------------------------------------------

    def rate_project(self, sender_id: str, project_id: str, rating: int, comment: str | None = None) -> bool:
        """Record the citizen's rating (1-5) and comment; True when it replaced an earlier one."""
        project = self.data.projects.get(project_id)
        if project is None or not project.feedback_open:
            raise BudgetInputError("project_id", f"'{project_id}' is not open for feedback")
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise BudgetInputError("rating", "must be a whole number from 1 to 5")
        comment = clean_text("comment", comment, MAX_COMMENT_CHARS, required=False) or None
        sender_id = require_sender(sender_id)
        now = self._record_clock()
        key = dict(cycle_id=self.data.cycle.id, project_id=project_id, sender_id=sender_id)

        def upsert(session: Session) -> bool:
            feedback = session.execute(select(ProjectFeedback).filter_by(**key)).scalar_one_or_none()
            if feedback is None:
                session.add(ProjectFeedback(**key, rating=rating, comment=comment, created_at=now, updated_at=now))
                return False
            feedback.rating, feedback.updated_at = rating, now
            if comment is not None:
                feedback.comment = comment
            return True

        return self._with_retry_on_conflict(upsert)

    def save_survey_answers(self, sender_id: str, survey_id: str, answers: Mapping[str, str]) -> None:
        """Store (or replace) the citizen's answers; every answer must be one the question allows."""
        if not self.survey_is_open(survey_id):
            raise BudgetInputError("survey_id", f"survey '{survey_id}' is not open")
        questions = {question.id: question for question in self.data.surveys[survey_id].questions}
        for question_id, answer in answers.items():
            question = questions.get(question_id)
            if question is None or answer not in question.answers:
                raise BudgetInputError("answers", f"'{answer}' is not an answer to '{question_id}'")
        sender_id = require_sender(sender_id)
        now = self._record_clock()

        def upsert(session: Session) -> None:
            for question_id, answer in answers.items():
                key = dict(survey_id=survey_id, question_id=question_id, sender_id=sender_id)
                stored = session.execute(select(SurveyAnswer).filter_by(**key)).scalar_one_or_none()
                if stored is None:
                    session.add(SurveyAnswer(**key, answer=answer, answered_at=now))
                else:
                    stored.answer, stored.answered_at = answer, now

        self._with_retry_on_conflict(upsert)

    # --- ballots ---------------------------------------------------------------------------------

    def ballot_of(self, sender_id: str) -> tuple[str, ...]:
        """The projects on the citizen's ballot of this cycle (empty when they have not voted)."""
        with self._sessions() as session:
            ballot = self._ballot(session, sender_id)
            return tuple(selection.project_id for selection in ballot.selections) if ballot else ()

    def cast_ballot(self, sender_id: str, project_ids: Sequence[str]) -> BallotReceipt:
        """Cast the citizen's ballot, or replace it: one ballot per citizen and cycle, so a vote is
        never counted twice. Only during the voting phase, within the cycle's rules."""
        status = self._require_phase(PhaseKind.VOTING, self._clock())
        selection = check_selection(self.data, project_ids)
        sender_id = require_sender(sender_id)
        now = self._record_clock()

        def upsert(session: Session) -> bool:
            ballot = self._ballot(session, sender_id)
            changed = ballot is not None
            if ballot is None:
                ballot = Ballot(cycle_id=self.data.cycle.id, sender_id=sender_id, created_at=now, changes=0)
                session.add(ballot)
            else:
                session.execute(delete(BallotSelection).where(BallotSelection.ballot_id == ballot.id))
                ballot.changes += 1
            ballot.updated_at = now
            session.flush()
            session.add_all(
                BallotSelection(ballot_id=ballot.id, project_id=project_id, position=position)
                for position, project_id in enumerate(selection, start=1)
            )
            return changed

        changed = self._with_retry_on_conflict(upsert)
        logger.info(
            "Ballot %s for cycle %s (%d project(s))",
            "changed" if changed else "cast",
            self.data.cycle.id,
            len(selection),
        )
        return BallotReceipt(
            project_ids=selection,
            total_cost_won=selection_cost(self.data, selection),
            changed=changed,
            voting_ends=status.current.ends,
        )

    def _ballot(self, session: Session, sender_id: str) -> Ballot | None:
        return session.execute(
            select(Ballot).where(Ballot.cycle_id == self.data.cycle.id, Ballot.sender_id == sender_id)
        ).scalar_one_or_none()

    # --- helpers ---------------------------------------------------------------------------------

    def _with_retry_on_conflict(self, work: Callable[[Session], object]):
        """Run `work` in a transaction; if a concurrent request of the same citizen inserted the
        same row first (unique constraint), run it once more: it then updates that row."""
        for attempt in (1, 2):
            try:
                with self._sessions.begin() as session:
                    return work(session)
            except IntegrityError:
                if attempt == 2:
                    raise


def _clean(field: str, text: str | None, max_chars: int, required: bool = True) -> str:
    return clean_text(field, text, max_chars, required, error=BudgetInputError, collapse_spaces=True)


def open_budget_store(
    data: BudgetData, database_url: str | None = None, clock: Callable[[], datetime] | None = None
) -> BudgetStore:
    """A store on `database_url` (default: SOTONG_DATABASE_URL), creating missing tables."""
    engine = make_engine(database_url)
    create_schema(engine)
    return BudgetStore(make_session_factory(engine), data, clock=clock)
