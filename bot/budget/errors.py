"""Errors of the budget store: input that cannot be stored, and actions outside their phase."""

from __future__ import annotations

import enum

from bot.budget.definitions import PhaseKind
from bot.budget.phases import PhaseStatus
from bot.privacy.citizen_input import CitizenInputError


class BudgetInputError(CitizenInputError):
    """Input that cannot be stored; `field` names the offending field."""


class BallotProblem(str, enum.Enum):
    EMPTY = "empty"
    DUPLICATE = "duplicate"
    NOT_A_CANDIDATE = "not_a_candidate"
    TOO_MANY = "too_many"
    OVER_BUDGET = "over_budget"


class BallotRuleError(BudgetInputError):
    """A selection the cycle's voting rules do not allow."""

    def __init__(self, problem: BallotProblem, message: str, project_id: str | None = None):
        super().__init__("selection", message)
        self.problem = problem
        self.project_id = project_id


class PhaseClosedError(Exception):
    """The action needs a phase that is not open now (`status` says what is open, what comes next)."""

    def __init__(self, needed: PhaseKind, status: PhaseStatus):
        current = status.kind.value if status.kind else "none"
        super().__init__(f"{needed.value} is not open on {status.today} (current phase: {current})")
        self.needed = needed
        self.status = status
