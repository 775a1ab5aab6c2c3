"""Results for staff: proposals, ratings and comments per project, vote counts, survey answers,
as tables that the staff console shows and exports as CSV (`python -m bot.budget results`).

Citizens' phone numbers are stored encrypted (bot.privacy.contacts) and shown masked unless
`include_contacts=True` (the PB office reviewing proposals, `--with-contacts`); Kakao user keys
never appear.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.budget.definitions import BudgetData
from bot.budget.tables import Ballot, BallotSelection, BudgetProposal, ProjectFeedback, SurveyAnswer
from bot.privacy.contacts import reveal_phone
from bot.privacy.masking import mask_phone
from bot.storage.db import utc_now

RATING_VALUES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Table:
    name: str  # proposals, votes, ratings, comments, surveys
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class BudgetResults:
    cycle_id: str
    cycle_name: str
    generated_at: datetime
    ballots_cast: int
    tables: tuple[Table, ...]

    def table(self, name: str) -> Table:
        return next(table for table in self.tables if table.name == name)


TABLE_NAMES = ("proposals", "votes", "ratings", "comments", "surveys")


def build_results(
    session_factory: sessionmaker, data: BudgetData, include_contacts: bool = False, now: datetime | None = None
) -> BudgetResults:
    zone = ZoneInfo(data.timezone)
    cycle_id = data.cycle.id
    with session_factory() as session:
        ballots_cast = session.execute(
            select(func.count()).select_from(Ballot).where(Ballot.cycle_id == cycle_id)
        ).scalar_one()
        tables = (
            proposals_table(session, data, zone, include_contacts),
            votes_table(session, data, ballots_cast),
            ratings_table(session, data),
            comments_table(session, data, zone),
            surveys_table(session, data),
        )
    return BudgetResults(
        cycle_id=cycle_id,
        cycle_name=data.cycle.name,
        generated_at=now or utc_now(),
        ballots_cast=ballots_cast,
        tables=tables,
    )


# --- tables --------------------------------------------------------------------------------------


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def proposals_table(session: Session, data: BudgetData, zone: ZoneInfo, include_contacts: bool) -> Table:
    proposals = session.execute(
        select(BudgetProposal).where(BudgetProposal.cycle_id == data.cycle.id).order_by(BudgetProposal.id)
    ).scalars()
    rows = []
    for proposal in proposals:
        category = data.cycle.categories.get(proposal.category)
        phone = reveal_phone(proposal.contact_phone)  # stored sealed; opened for this table only
        contact = "anonymous" if not phone else (phone if include_contacts else mask_phone(phone))
        rows.append(
            (
                proposal.number,
                _local(proposal.created_at, zone),
                proposal.title,
                proposal.category,
                category.label if category else "",
                proposal.district or "",
                proposal.dong or "",
                proposal.location_text,
                proposal.estimated_cost_won,
                proposal.expected_benefit,
                proposal.description,
                contact,
                proposal.consent_text_version or "",
            )
        )
    return Table(
        "proposals",
        "Proposals",
        (
            "number",
            "created_at",
            "title",
            "category",
            "category_label",
            "district",
            "dong",
            "location",
            "estimated_cost_won",
            "expected_benefit",
            "description",
            "contact",
            "consent_version",
        ),
        tuple(rows),
    )


def vote_totals(session: Session, cycle_id: str) -> dict[str, int]:
    """Votes per project: each ballot counts once for each project it selects."""
    rows = session.execute(
        select(BallotSelection.project_id, func.count())
        .join(Ballot, Ballot.id == BallotSelection.ballot_id)
        .where(Ballot.cycle_id == cycle_id)
        .group_by(BallotSelection.project_id)
    ).all()
    return {project_id: count for project_id, count in rows}


def votes_table(session: Session, data: BudgetData, ballots_cast: int) -> Table:
    totals = vote_totals(session, data.cycle.id)
    ranked = sorted(data.candidates, key=lambda project: (-totals.get(project.id, 0), project.cost_won))
    rows = []
    for rank, project in enumerate(ranked, start=1):
        votes = totals.get(project.id, 0)
        share = round(100 * votes / ballots_cast, 1) if ballots_cast else 0.0
        rows.append((rank, project.id, project.title, project.place or "city-wide", project.cost_won, votes, share))
    return Table(
        "votes",
        f"Votes ({ballots_cast} ballots)",
        ("rank", "project_id", "title", "place", "cost_won", "votes", "percent_of_ballots"),
        tuple(rows),
    )


def ratings_table(session: Session, data: BudgetData) -> Table:
    counts: dict[str, dict[int, int]] = {}
    comments: dict[str, int] = {}
    for project_id, rating, comment_count, count in session.execute(
        select(ProjectFeedback.project_id, ProjectFeedback.rating, func.count(ProjectFeedback.comment), func.count())
        .where(ProjectFeedback.cycle_id == data.cycle.id)
        .group_by(ProjectFeedback.project_id, ProjectFeedback.rating)
    ):
        counts.setdefault(project_id, {})[rating] = count
        comments[project_id] = comments.get(project_id, 0) + comment_count
    rows = []
    for project in data.projects.values():
        distribution = counts.get(project.id, {})
        total = sum(distribution.values())
        average = round(sum(r * n for r, n in distribution.items()) / total, 2) if total else ""
        rows.append(
            (
                project.id,
                project.title,
                project.status.value,
                total,
                average,
                *(distribution.get(value, 0) for value in RATING_VALUES),
                comments.get(project.id, 0),
            )
        )
    return Table(
        "ratings",
        "Ratings per project",
        ("project_id", "title", "status", "ratings", "average", *(f"rated_{v}" for v in RATING_VALUES), "comments"),
        tuple(rows),
    )


def comments_table(session: Session, data: BudgetData, zone: ZoneInfo) -> Table:
    feedback = session.execute(
        select(ProjectFeedback)
        .where(ProjectFeedback.cycle_id == data.cycle.id, ProjectFeedback.comment.is_not(None))
        .order_by(ProjectFeedback.project_id, ProjectFeedback.updated_at)
    ).scalars()
    rows = tuple(
        (
            item.project_id,
            _project_title(data, item.project_id),
            item.rating,
            mask_phone(item.comment),
            _local(item.updated_at, zone),
        )
        for item in feedback
    )
    return Table("comments", "Comments per project", ("project_id", "title", "rating", "comment", "updated_at"), rows)


def surveys_table(session: Session, data: BudgetData) -> Table:
    counts = {
        (survey_id, question_id, answer): count
        for survey_id, question_id, answer, count in session.execute(
            select(SurveyAnswer.survey_id, SurveyAnswer.question_id, SurveyAnswer.answer, func.count()).group_by(
                SurveyAnswer.survey_id, SurveyAnswer.question_id, SurveyAnswer.answer
            )
        )
    }
    rows = []
    for survey in data.surveys.values():
        for question in survey.questions:
            for answer in question.answers:
                rows.append(
                    (survey.id, question.id, question.text, answer, counts.get((survey.id, question.id, answer), 0))
                )
    return Table("surveys", "Survey answers", ("survey_id", "question_id", "question", "answer", "count"), tuple(rows))


def _project_title(data: BudgetData, project_id: str) -> str:
    project = data.projects.get(project_id)
    return project.title if project else project_id


# --- output --------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Citizen text that a spreadsheet would run as a formula ("=HYPERLINK(…)") is quoted."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def write_csv(results: BudgetResults, stream: TextIO, table_names: Iterable[str] | None = None) -> None:
    """One table: plain CSV. Several: each preceded by its title row and followed by a blank row,
    so the file opens in a spreadsheet as consecutive sections."""
    names = tuple(table_names or TABLE_NAMES)
    writer = csv.writer(stream)
    for table in (results.table(name) for name in names):
        if len(names) > 1:
            writer.writerow([f"# {table.title}"])
        writer.writerow(table.headers)
        writer.writerows([spreadsheet_safe(value) for value in row] for row in table.rows)
        if len(names) > 1:
            writer.writerow([])


def format_text(results: BudgetResults, table_names: Iterable[str] | None = None) -> str:
    """A plain-text report for a terminal."""
    lines: list[str] = [f"{results.cycle_name} ({results.cycle_id}) — {results.ballots_cast} ballot(s)"]
    for table in (results.table(name) for name in (table_names or TABLE_NAMES)):
        lines += ["", f"== {table.title} ==", " | ".join(table.headers)]
        lines += [" | ".join(_cell(value) for value in row) for row in table.rows] or ["(none)"]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"
