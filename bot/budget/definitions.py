"""Typed, read-only view of the participatory-budget data in data/budget/ (see loader.py)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from bot.city.models import ConsentText, SendTarget


class PhaseKind(str, enum.Enum):
    """The steps of a cycle, in order (CONSUL's and Decidim's participatory-budget phases)."""

    PROPOSALS = "proposals"  # citizens submit project proposals
    REVIEW = "review"  # the city checks feasibility and costs; candidates are chosen
    VOTING = "voting"  # citizens vote for candidates
    RESULTS = "results"  # selected projects are announced


PHASE_ORDER = (PhaseKind.PROPOSALS, PhaseKind.REVIEW, PhaseKind.VOTING, PhaseKind.RESULTS)


class ProjectStatus(str, enum.Enum):
    CANDIDATE = "candidate"  # on the ballot of the voting phase
    SELECTED = "selected"  # chosen (this cycle's results, or an earlier cycle's project under way)


class QuestionKind(str, enum.Enum):
    CHOICE = "choice"  # one of the listed choices
    SCALE = "scale"  # 1 (lowest) to 5 (highest)


SCALE_VALUES = ("1", "2", "3", "4", "5")


@dataclass(frozen=True)
class Phase:
    kind: PhaseKind
    label: str  # as citizens read it, e.g. 사업 제안 접수
    starts: date  # first day, inclusive, in the city's time zone
    ends: date | None  # last day, inclusive; None: open-ended (only the results phase)
    description: str = ""

    def includes(self, day: date) -> bool:
        return self.starts <= day and (self.ends is None or day <= self.ends)


@dataclass(frozen=True)
class Category:
    id: str
    label: str


@dataclass(frozen=True)
class VotingRules:
    max_selections: int  # projects one ballot may select
    budget_ceiling_won: int | None = None  # total cost one ballot may select; None: no ceiling


@dataclass(frozen=True)
class ProposalRules:
    min_cost_won: int
    max_cost_won: int


@dataclass(frozen=True)
class BudgetOffice:
    """The PB office (주민참여예산 담당) that receives proposals through the outbox."""

    id: str
    name: str
    phone: str
    send: SendTarget


@dataclass(frozen=True)
class BudgetCycle:
    id: str
    name: str  # e.g. 2027년도 고양시 주민참여예산
    about: str  # what participatory budgeting is, for citizens
    info_url: str
    number_prefix: str  # proposal reference numbers: PB-2026-0001
    phases: tuple[Phase, ...]  # in PHASE_ORDER
    voting: VotingRules
    proposals: ProposalRules
    categories: Mapping[str, Category]
    office: BudgetOffice
    consent: ConsentText

    def phase(self, kind: PhaseKind) -> Phase:
        return next(phase for phase in self.phases if phase.kind == kind)


@dataclass(frozen=True)
class Project:
    id: str
    title: str
    category_id: str
    cost_won: int
    description: str
    status: ProjectStatus
    district: str | None = None  # None: city-wide
    dong: str | None = None
    image_url: str | None = None
    feedback_open: bool = True

    @property
    def place(self) -> str:
        """ "덕양구 행신동", "일산동구", or "" for a city-wide project."""
        return " ".join(part for part in (self.district, self.dong) if part)


@dataclass(frozen=True)
class SurveyQuestion:
    id: str
    text: str
    kind: QuestionKind
    choices: tuple[str, ...] = ()  # CHOICE only

    @property
    def answers(self) -> tuple[str, ...]:
        return self.choices if self.kind == QuestionKind.CHOICE else SCALE_VALUES


@dataclass(frozen=True)
class Survey:
    id: str
    title: str
    intro: str
    questions: tuple[SurveyQuestion, ...]
    open_during: tuple[PhaseKind, ...] = ()  # empty: always open


@dataclass(frozen=True)
class BudgetData:
    """Everything the city configures for participatory budgeting, validated."""

    cycle: BudgetCycle
    projects: Mapping[str, Project]  # in data order
    surveys: Mapping[str, Survey]
    timezone: str  # the city's, from data/city/city.yml
    city_id: str
    city_name: str
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def projects_with_status(self, status: ProjectStatus) -> tuple[Project, ...]:
        return tuple(project for project in self.projects.values() if project.status == status)

    @property
    def candidates(self) -> tuple[Project, ...]:
        return self.projects_with_status(ProjectStatus.CANDIDATE)

    @property
    def feedback_projects(self) -> tuple[Project, ...]:
        return tuple(project for project in self.projects.values() if project.feedback_open)
