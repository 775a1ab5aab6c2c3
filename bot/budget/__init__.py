"""Participatory budgeting (주민참여예산): the cycle's data, phases, the Korean amount parser, the
store of proposals, feedback, survey answers and ballots, and the staff results.

`get_budget_data()` loads data/budget/ (or SOTONG_BUDGET_DATA_DIR) once per process, checked
against the city data; `get_budget_store()` opens the store on SOTONG_DATABASE_URL.
"""

from __future__ import annotations

from functools import cache

from bot.budget.amounts import format_krw, parse_krw
from bot.budget.ballots import check_selection, selection_cost
from bot.budget.definitions import (
    BudgetCycle,
    BudgetData,
    Phase,
    PhaseKind,
    Project,
    ProjectStatus,
    QuestionKind,
    Survey,
    SurveyQuestion,
)
from bot.budget.errors import BallotProblem, BallotRuleError, BudgetInputError, PhaseClosedError
from bot.budget.loader import BudgetDataError, default_data_dir, load_budget_data
from bot.budget.phases import PhaseStatus, budget_now, parse_moment, phase_status
from bot.budget.store import BallotReceipt, BudgetStore, ProposalDraft, ProposalReceipt, open_budget_store
from bot.city import get_city_config


@cache
def get_budget_data() -> BudgetData:
    """The validated budget data of this process (loaded on first use)."""
    return load_budget_data(get_city_config(), default_data_dir())


@cache
def get_budget_store() -> BudgetStore:
    """The process's budget store on SOTONG_DATABASE_URL (tables created on first use)."""
    return open_budget_store(get_budget_data())


__all__ = [
    "BallotProblem",
    "BallotReceipt",
    "BallotRuleError",
    "BudgetCycle",
    "BudgetData",
    "BudgetDataError",
    "BudgetInputError",
    "BudgetStore",
    "Phase",
    "PhaseClosedError",
    "PhaseKind",
    "PhaseStatus",
    "Project",
    "ProjectStatus",
    "ProposalDraft",
    "ProposalReceipt",
    "QuestionKind",
    "Survey",
    "SurveyQuestion",
    "budget_now",
    "check_selection",
    "default_data_dir",
    "format_krw",
    "get_budget_data",
    "get_budget_store",
    "load_budget_data",
    "open_budget_store",
    "parse_krw",
    "parse_moment",
    "phase_status",
    "selection_cost",
]
