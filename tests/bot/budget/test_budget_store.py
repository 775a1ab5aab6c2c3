"""The budget store on a real SQLite file: phases with injected dates, proposals routed through the
outbox to a real local HTTP endpoint, feedback, surveys, ballots (one per citizen, never counted
twice), and the staff results."""

from __future__ import annotations

import csv
import io
import threading
from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from bot.budget import (
    BallotProblem,
    BallotRuleError,
    BudgetInputError,
    BudgetStore,
    PhaseClosedError,
    PhaseKind,
    ProposalDraft,
    phase_status,
)
from bot.budget.documents import SCHEMA
from bot.budget.reports import build_results, vote_totals, write_csv
from bot.budget.tables import Ballot, BudgetProposal, ProjectFeedback
from bot.delivery import DeliverySettings, Dispatcher, OutboxEntry, OutboxState
from bot.privacy.contacts import reveal_phone
from bot.storage.db import create_schema, make_engine, make_session_factory
from tests.budget_helpers import Clock, OfficeEndpoint, day_in, moment_in, moment_on, sample_data

CITIZEN, OTHER = "kakao-user-1", "kakao-user-2"


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sotong.db'}")
    create_schema(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def data():
    return sample_data()


@pytest.fixture
def clock(data):
    return Clock(moment_in(data, PhaseKind.PROPOSALS))


@pytest.fixture
def store(sessions, data, clock):
    return BudgetStore(sessions, data, clock=clock)


def draft(**changes) -> ProposalDraft:
    fields = dict(
        sender_id=CITIZEN,
        title="주엽동 어린이공원 그늘막",
        category_id="environment",
        location_text="일산서구 주엽동",
        district="일산서구",
        dong="주엽동",
        description="놀이터에 그늘이 없어서 여름에 아이들이 놀 수 없어요.",
        expected_benefit="한여름에도 아이들이 놀 수 있어요.",
        estimated_cost_won=30_000_000,
    )
    fields.update(changes)
    return ProposalDraft(**fields)


def candidate_ids(data, count):
    return [project.id for project in sorted(data.candidates, key=lambda p: p.cost_won)[:count]]


# --- phases --------------------------------------------------------------------------------------


def test_each_phase_is_open_only_between_its_dates(data):
    cycle = data.cycle
    for phase in cycle.phases:
        assert phase_status(cycle, moment_on(data, phase.starts, hour=0), data.timezone).kind == phase.kind
        if phase.ends:
            last_moment = moment_on(data, phase.ends, hour=23).replace(minute=59, second=59)
            assert phase_status(cycle, last_moment, data.timezone).kind == phase.kind
    before = phase_status(cycle, moment_in(data, PhaseKind.PROPOSALS, -1), data.timezone)
    assert before.current is None and before.upcoming.kind == PhaseKind.PROPOSALS


def test_between_phases_nothing_is_open_and_the_next_phase_is_upcoming(data):
    review_end = data.cycle.phase(PhaseKind.REVIEW).ends
    voting_start = data.cycle.phase(PhaseKind.VOTING).starts
    if (voting_start - review_end).days < 2:
        pytest.skip("the sample data has no gap between review and voting")
    status = phase_status(data.cycle, moment_on(data, voting_start) - (voting_start - review_end) / 2, data.timezone)
    assert status.current is None and status.upcoming.kind == PhaseKind.VOTING


def test_phase_days_are_counted_in_the_city_time_zone(data):
    starts = data.cycle.phase(PhaseKind.VOTING).starts
    # 23:30 UTC the day before is 08:30 in Seoul on the first voting day.
    moment = datetime.combine(starts - timedelta(days=1), time(23, 30), tzinfo=timezone.utc)
    assert phase_status(data.cycle, moment, data.timezone).kind == PhaseKind.VOTING


def test_budget_now_honours_the_environment_override(monkeypatch, data):
    from bot.budget import budget_now

    voting_day = day_in(data, PhaseKind.VOTING, 2)
    monkeypatch.setenv("SOTONG_BUDGET_NOW", voting_day.isoformat())
    now = budget_now(data.timezone)
    assert phase_status(data.cycle, now, data.timezone).kind == PhaseKind.VOTING
    monkeypatch.setenv("SOTONG_BUDGET_NOW", "not a date")
    with pytest.raises(ValueError):
        budget_now(data.timezone)


# --- proposals -----------------------------------------------------------------------------------


def test_proposal_is_numbered_and_queued_for_the_pb_office_in_one_transaction(store, sessions, data):
    first = store.submit_proposal(draft())
    second = store.submit_proposal(draft(sender_id=OTHER, title="행신동 반려견 놀이터"))
    year = first.number.split("-")[1]
    assert first.number == f"PB-{year}-0001" and second.number == f"PB-{year}-0002"
    assert first.office_name == data.cycle.office.name and first.review.kind == PhaseKind.REVIEW
    with sessions() as session:
        entries = session.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars().all()
        assert [entry.state for entry in entries] == [OutboxState.PENDING] * 2
        entry = entries[0]
        assert (entry.target_kind, entry.target_id) == ("budget_office", data.cycle.office.id)
        assert entry.destination == data.cycle.office.send.destination and entry.ticket_id is None
        document = entry.payload
        assert document["schema"] == SCHEMA and document["proposal"]["number"] == first.number
        assert document["proposal"]["estimated_cost_won"] == 30_000_000
        assert document["proposal"]["estimated_cost_text"] == "3,000만 원"
        assert document["proposal"]["contact"] == {
            "anonymous": True,
            "phone": None,
            "consent": {"given": False, "text_version": None, "at": None},
        }


def test_contact_is_kept_only_with_consent(store, sessions, data):
    store.submit_proposal(draft(contact_phone="010 1234 5678", consent_given=True))
    with sessions() as session:
        proposal = session.execute(select(BudgetProposal)).scalar_one()
        assert reveal_phone(proposal.contact_phone) == "010-1234-5678"
        assert proposal.consent_text_version == data.cycle.consent.version and proposal.consent_at
    with pytest.raises(BudgetInputError) as refused:
        store.submit_proposal(draft(contact_phone="010-1234-5678", consent_given=False))
    assert refused.value.field == "contact_phone"


def test_contact_number_is_encrypted_at_rest_and_shown_only_in_the_report_with_contacts(store, sessions, data):
    """The budget_proposals row and the outbox payload never hold the raw number (plain SQL
    reads); the PB office's report shows it with contacts and masked without."""
    receipt = store.submit_proposal(draft(contact_phone="010 1234 5678", consent_given=True))
    with sessions() as session:
        row = session.execute(text("SELECT * FROM budget_proposals")).mappings().one()
        payload = session.execute(text("SELECT payload_json FROM outbox")).scalar_one()
    stored = " ".join(str(value) for value in row.values())
    assert "1234-5678" not in stored and "12345678" not in stored and "5678" not in row["contact_phone"]
    assert row["contact_phone"].startswith("enc1:") and reveal_phone(row["contact_phone"]) == "010-1234-5678"
    assert "1234-5678" not in payload and receipt.number in payload

    def contact(include_contacts):
        table = build_results(store.session_factory, data, include_contacts=include_contacts).table("proposals")
        return dict(zip(table.headers, table.rows[0]))["contact"]

    assert contact(True) == "010-1234-5678"
    assert contact(False) == "010-****-5678"


def test_results_with_contacts_on_the_command_line_are_audited(store, data, monkeypatch, capsys):
    from bot.budget.__main__ import main
    from bot.staff.audit import recent_entries

    store.submit_proposal(draft(contact_phone="010-1234-5678", consent_given=True))
    monkeypatch.setenv("SOTONG_DATABASE_URL", str(store.session_factory.kw["bind"].url))
    assert main(["results", "--table", "proposals"]) == 0
    assert "010-****-5678" in capsys.readouterr().out
    assert recent_entries(store.session_factory) == []
    assert main(["results", "--table", "proposals", "--with-contacts"]) == 0
    assert "010-1234-5678" in capsys.readouterr().out
    [entry] = recent_entries(store.session_factory)
    assert entry.action == "budget.contacts_revealed" and entry.actor.startswith("cli:")


@pytest.mark.parametrize(
    "changes, field",
    [
        (dict(estimated_cost_won=5_000), "estimated_cost_won"),
        (dict(estimated_cost_won=10**12), "estimated_cost_won"),
        (dict(category_id="lottery"), "category_id"),
        (dict(title="  "), "title"),
        (dict(contact_phone="12345", consent_given=True), "contact_phone"),
        (dict(sender_id=""), "sender_id"),
    ],
)
def test_invalid_proposals_are_refused_and_nothing_is_stored(store, sessions, changes, field):
    with pytest.raises(BudgetInputError) as refused:
        store.submit_proposal(draft(**changes))
    assert refused.value.field == field
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(OutboxEntry)).scalar_one() == 0


def test_resident_registration_numbers_are_masked_in_proposals(store, sessions):
    store.submit_proposal(draft(description="제 주민번호는 900101-1234567 이고 놀이터가 필요해요"))
    with sessions() as session:
        assert "1234567" not in session.execute(select(BudgetProposal.description)).scalar_one()


@pytest.mark.parametrize("kind, offset", [(PhaseKind.PROPOSALS, -1), (PhaseKind.REVIEW, 0), (PhaseKind.VOTING, 1)])
def test_proposals_are_refused_outside_the_proposal_phase(store, clock, data, kind, offset):
    clock.moment = moment_in(data, kind, offset)
    with pytest.raises(PhaseClosedError) as closed:
        store.submit_proposal(draft())
    assert closed.value.needed == PhaseKind.PROPOSALS


def test_dispatcher_delivers_the_proposal_to_the_pb_office_endpoint(sessions, clock):
    with OfficeEndpoint() as office:
        store = BudgetStore(sessions, sample_data(office.url), clock=clock)
        receipt = store.submit_proposal(draft(contact_phone="010-9876-5432", consent_given=True))
        report = Dispatcher(sessions, DeliverySettings()).run_once()
    assert report.delivered == 1
    [request] = office.requests
    assert request["path"] == "/budget/proposals"
    assert request["headers"]["Idempotency-Key"].startswith(f"{receipt.number}/budget_proposal.created/")
    proposal = request["json"]["proposal"]
    assert proposal["number"] == receipt.number and proposal["contact"]["phone"] == "010-9876-5432"
    with sessions() as session:
        assert session.execute(select(OutboxEntry.state)).scalar_one() == OutboxState.DELIVERED


def test_a_failing_pb_office_gets_the_proposal_again_later(sessions, clock):
    with OfficeEndpoint(status=503) as office:
        store = BudgetStore(sessions, sample_data(office.url), clock=clock)
        store.submit_proposal(draft())
        report = Dispatcher(sessions, DeliverySettings()).run_once()
    assert (report.delivered, report.retried) == (0, 1)
    with sessions() as session:
        assert session.execute(select(OutboxEntry.state)).scalar_one() == OutboxState.PENDING


# --- feedback and surveys ------------------------------------------------------------------------


def test_a_new_rating_replaces_the_citizens_earlier_one(store, sessions, data):
    project = data.feedback_projects[0].id
    assert store.rate_project(CITIZEN, project, 2, "그늘이 더 필요해요") is False
    assert store.rate_project(CITIZEN, project, 5) is True
    store.rate_project(OTHER, project, 4, "좋아요")
    with sessions() as session:
        rows = session.execute(select(ProjectFeedback).order_by(ProjectFeedback.id)).scalars().all()
    assert [(row.sender_id, row.rating, row.comment) for row in rows] == [
        (CITIZEN, 5, "그늘이 더 필요해요"),
        (OTHER, 4, "좋아요"),
    ]


@pytest.mark.parametrize(
    "project, rating",
    [("lake_park_shade", 0), ("lake_park_shade", 6), ("lake_park_shade", True), ("no_such_project", 3)],
)
def test_invalid_feedback_is_refused(store, project, rating):
    with pytest.raises(BudgetInputError):
        store.rate_project(CITIZEN, project, rating)


def test_survey_answers_are_checked_and_replaced(store, data):
    survey = next(s for s in data.surveys.values() if not s.open_during)
    question = survey.questions[0]
    store.save_survey_answers(CITIZEN, survey.id, {question.id: question.answers[0]})
    store.save_survey_answers(CITIZEN, survey.id, {question.id: question.answers[-1]})
    with pytest.raises(BudgetInputError):
        store.save_survey_answers(CITIZEN, survey.id, {question.id: "모르겠어요"})
    results = build_results(store.session_factory, data)
    counts = {row[3]: row[4] for row in results.table("surveys").rows if row[1] == question.id}
    assert counts[question.answers[-1]] == 1 and counts[question.answers[0]] == 0


def test_a_survey_is_offered_only_in_its_phases(store, clock, data):
    survey = next(s for s in data.surveys.values() if s.open_during)
    clock.moment = moment_in(data, PhaseKind.PROPOSALS)
    assert PhaseKind.PROPOSALS not in survey.open_during and not store.survey_is_open(survey.id)
    with pytest.raises(BudgetInputError):
        store.save_survey_answers(CITIZEN, survey.id, {})
    clock.moment = moment_in(data, survey.open_during[0])
    assert store.survey_is_open(survey.id)


# --- ballots -------------------------------------------------------------------------------------


@pytest.fixture
def voting_store(store, clock, data):
    clock.moment = moment_in(data, PhaseKind.VOTING)
    return store


def test_a_changed_ballot_replaces_the_first_and_is_counted_once(voting_store, sessions, data):
    first, second, third = candidate_ids(data, 3)
    receipt = voting_store.cast_ballot(CITIZEN, [first, second])
    assert receipt.changed is False and receipt.voting_ends == data.cycle.phase(PhaseKind.VOTING).ends
    changed = voting_store.cast_ballot(CITIZEN, [second, third])
    assert changed.changed is True and voting_store.ballot_of(CITIZEN) == (second, third)
    voting_store.cast_ballot(OTHER, [second])
    with sessions() as session:
        assert vote_totals(session, data.cycle.id) == {second: 2, third: 1}
        assert session.execute(select(func.count()).select_from(Ballot)).scalar_one() == 2


def test_the_database_refuses_a_second_ballot_for_the_same_citizen(voting_store, sessions, data):
    voting_store.cast_ballot(CITIZEN, candidate_ids(data, 1))
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(Ballot(cycle_id=data.cycle.id, sender_id=CITIZEN))


def test_simultaneous_ballots_of_one_citizen_leave_one_ballot(voting_store, sessions, data):
    choices = candidate_ids(data, 2)
    errors = []

    def vote(index):
        try:
            voting_store.cast_ballot(CITIZEN, [choices[index % 2]])
        except Exception as error:  # collected: the assertion below shows it
            errors.append(error)

    threads = [threading.Thread(target=vote, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(Ballot)).scalar_one() == 1
        assert sum(vote_totals(session, data.cycle.id).values()) == 1


@pytest.mark.parametrize(
    "selection, problem",
    [
        ([], BallotProblem.EMPTY),
        (["lake_park_shade"], BallotProblem.NOT_A_CANDIDATE),
        (["dog_park", "dog_park"], BallotProblem.DUPLICATE),
    ],
)
def test_ballots_outside_the_rules_are_refused(voting_store, selection, problem):
    with pytest.raises(BallotRuleError) as refused:
        voting_store.cast_ballot(CITIZEN, selection)
    assert refused.value.problem == problem
    assert voting_store.ballot_of(CITIZEN) == ()


def test_ballots_respect_the_maximum_and_the_budget_ceiling(voting_store, data):
    rules = data.cycle.voting
    cheapest = candidate_ids(data, len(data.candidates))
    if len(cheapest) > rules.max_selections:
        with pytest.raises(BallotRuleError) as too_many:
            voting_store.cast_ballot(CITIZEN, cheapest[: rules.max_selections + 1])
        assert too_many.value.problem in (BallotProblem.TOO_MANY, BallotProblem.OVER_BUDGET)
    dearest = sorted(data.candidates, key=lambda p: -p.cost_won)[: rules.max_selections]
    if rules.budget_ceiling_won and sum(p.cost_won for p in dearest) > rules.budget_ceiling_won:
        with pytest.raises(BallotRuleError) as over:
            voting_store.cast_ballot(CITIZEN, [p.id for p in dearest])
        assert over.value.problem == BallotProblem.OVER_BUDGET


def test_ballots_can_be_changed_until_the_voting_phase_ends_and_not_after(voting_store, clock, data):
    voting = data.cycle.phase(PhaseKind.VOTING)
    first, second = candidate_ids(data, 2)
    voting_store.cast_ballot(CITIZEN, [first])
    clock.moment = moment_on(data, voting.ends, hour=23)
    assert voting_store.cast_ballot(CITIZEN, [second]).changed is True
    clock.moment = moment_in(data, PhaseKind.VOTING, (voting.ends - voting.starts).days + 1)
    with pytest.raises(PhaseClosedError):
        voting_store.cast_ballot(CITIZEN, [first])
    assert voting_store.ballot_of(CITIZEN) == (second,)


def test_voting_is_refused_before_the_voting_phase(store):
    with pytest.raises(PhaseClosedError) as closed:
        store.cast_ballot(CITIZEN, ["dog_park"])
    assert closed.value.needed == PhaseKind.VOTING and closed.value.status.kind == PhaseKind.PROPOSALS


# --- staff results -------------------------------------------------------------------------------


def test_results_list_proposals_ratings_comments_and_votes(store, clock, data, tmp_path, monkeypatch):
    receipt = store.submit_proposal(draft(contact_phone="010-1234-5678", consent_given=True))
    project = data.feedback_projects[0]
    store.rate_project(CITIZEN, project.id, 4, "연락 주세요 010-2222-3333")
    store.rate_project(OTHER, project.id, 2)
    clock.moment = moment_in(data, PhaseKind.VOTING)
    first, second = candidate_ids(data, 2)
    store.cast_ballot(CITIZEN, [first, second])
    store.cast_ballot(OTHER, [first])

    results = build_results(store.session_factory, data)
    assert results.ballots_cast == 2
    [proposal] = results.table("proposals").rows
    assert proposal[0] == receipt.number and "010-****-5678" in proposal
    ratings = {row[0]: row for row in results.table("ratings").rows}
    assert ratings[project.id][3:5] == (2, 3.0)
    [comment] = results.table("comments").rows
    assert comment[3] == "연락 주세요 010-****-3333"
    votes = results.table("votes").rows
    assert votes[0][1:2] == (first,) and votes[0][5] == 2 and votes[0][6] == 100.0
    assert (
        "010-1234-5678" in build_results(store.session_factory, data, include_contacts=True).table("proposals").rows[0]
    )

    stream = io.StringIO()
    write_csv(results, stream, ["votes"])
    rows = list(csv.reader(io.StringIO(stream.getvalue())))
    assert rows[0] == list(results.table("votes").headers) and rows[1][1] == first


def test_csv_export_does_not_let_citizen_text_run_as_a_formula(store, data):
    project = data.feedback_projects[0]
    store.rate_project(CITIZEN, project.id, 1, '=HYPERLINK("http://evil.example","click")')
    stream = io.StringIO()
    write_csv(build_results(store.session_factory, data), stream, ["comments"])
    [_, row] = list(csv.reader(io.StringIO(stream.getvalue())))
    assert row[3].startswith("'=HYPERLINK")


def test_results_command_writes_a_csv_file(store, data, tmp_path, monkeypatch):
    from bot.budget.__main__ import main

    store.submit_proposal(draft())
    database = store.session_factory.kw["bind"].url
    output = tmp_path / "results.csv"
    monkeypatch.setenv("SOTONG_DATABASE_URL", str(database))
    assert main(["results", "--csv", str(output)]) == 0
    text = output.read_text(encoding="utf-8-sig")
    assert "# Proposals" in text and "# Votes" in text and "PB-" in text
