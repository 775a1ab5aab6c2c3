"""Which phase of the cycle is open at a given moment, and the clock that says what "now" is.

Phase dates are whole days in the city's time zone: a phase that ends on 2026-04-30 is open
until 23:59:59 that day in Seoul. Between two phases nothing is open and the next phase is
"upcoming".

The clock is the real one unless SOTONG_BUDGET_NOW is set (for tests and demos), e.g.
SOTONG_BUDGET_NOW=2026-06-10 (that day, 00:00 in the city's time zone) or
SOTONG_BUDGET_NOW=2026-06-10T14:30 / 2026-06-10T14:30+09:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.budget.definitions import BudgetCycle, Phase, PhaseKind
from bot.settings import env_str
from bot.storage.db import utc_now

NOW_ENV = "SOTONG_BUDGET_NOW"
DEFAULT_TIMEZONE = "Asia/Seoul"


def parse_moment(text: str, timezone: str = DEFAULT_TIMEZONE) -> datetime:
    """An aware datetime from an ISO date or datetime; naive values are in `timezone`."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO date or date-time like 2026-06-10 or 2026-06-10T14:30") from None
    if len(text) == 10:  # a date only: the start of that day
        moment = datetime.combine(moment.date(), time())
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))


def budget_now(timezone: str = DEFAULT_TIMEZONE) -> datetime:
    """Now, or the moment in SOTONG_BUDGET_NOW when it is set."""
    override = env_str(NOW_ENV)
    return parse_moment(override, timezone) if override else utc_now()


@dataclass(frozen=True)
class PhaseStatus:
    today: date  # in the city's time zone
    current: Phase | None  # None before the cycle, between phases, or after an ending results phase
    upcoming: Phase | None  # the next phase that starts after today

    @property
    def kind(self) -> PhaseKind | None:
        return self.current.kind if self.current else None

    def is_open(self, kind: PhaseKind) -> bool:
        return self.kind == kind

    @property
    def days_left(self) -> int | None:
        """Days after today until the current phase ends (0: it ends today)."""
        if self.current is None or self.current.ends is None:
            return None
        return (self.current.ends - self.today).days


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def phase_status(cycle: BudgetCycle, now: datetime, timezone: str) -> PhaseStatus:
    today = local_day(now, timezone)
    current = next((phase for phase in cycle.phases if phase.includes(today)), None)
    upcoming = next((phase for phase in cycle.phases if phase.starts > today), None)
    return PhaseStatus(today=today, current=current, upcoming=upcoming)
