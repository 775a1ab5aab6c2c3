"""The voting rules of a cycle applied to one ballot's selection (pure functions of the data)."""

from __future__ import annotations

from collections.abc import Iterable

from bot.budget.amounts import format_krw
from bot.budget.definitions import BudgetData, ProjectStatus
from bot.budget.errors import BallotProblem, BallotRuleError


def selection_cost(data: BudgetData, project_ids: Iterable[str]) -> int:
    return sum(data.projects[project_id].cost_won for project_id in project_ids if project_id in data.projects)


def check_selection(data: BudgetData, project_ids: Iterable[str], allow_empty: bool = False) -> tuple[str, ...]:
    """The selection as a tuple if the rules allow it; BallotRuleError says which rule it breaks.

    `allow_empty` accepts an empty selection (while a citizen is still choosing)."""
    selection = tuple(project_ids)
    rules = data.cycle.voting
    if not selection and not allow_empty:
        raise BallotRuleError(BallotProblem.EMPTY, "a ballot selects at least one project")
    if len(set(selection)) != len(selection):
        raise BallotRuleError(BallotProblem.DUPLICATE, "a project is selected twice")
    for project_id in selection:
        project = data.projects.get(project_id)
        if project is None or project.status != ProjectStatus.CANDIDATE:
            raise BallotRuleError(BallotProblem.NOT_A_CANDIDATE, f"'{project_id}' is not a candidate", project_id)
    if len(selection) > rules.max_selections:
        raise BallotRuleError(
            BallotProblem.TOO_MANY, f"{len(selection)} projects selected, at most {rules.max_selections} allowed"
        )
    total = selection_cost(data, selection)
    if rules.budget_ceiling_won is not None and total > rules.budget_ceiling_won:
        raise BallotRuleError(
            BallotProblem.OVER_BUDGET,
            f"selection costs {format_krw(total)}, the ceiling is {format_krw(rules.budget_ceiling_won)}",
        )
    return selection
