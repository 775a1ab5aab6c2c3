"""Business days for legal processing deadlines (민원 처리에 관한 법률 시행령 제19조).

Weekends and Korean public holidays (the `holidays` package, KR) do not count, nor any extra
holidays the city lists in city.yml. The counting follows the decree:
- a period of 6 days or more is counted in days and the day of receipt counts as the first day
  (when it is a business day);
- a period of 5 days or less is counted in working hours (8 hours a day) from the time of
  receipt, which lands on the same clock time N business days later: the receipt day does not
  count.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import holidays

# Periods of this many days or more count the day of receipt (시행령 제19조 제2항).
FIRST_DAY_COUNTS_FROM = 6


class BusinessCalendar:
    def __init__(self, extra_holidays: Iterable[date] = ()):
        self._public_holidays = holidays.country_holidays("KR")
        self._extra_holidays = frozenset(extra_holidays)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._public_holidays and day not in self._extra_holidays

    def next_business_day(self, day: date) -> date:
        """The first business day after `day`."""
        day += timedelta(days=1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def processing_deadline(self, received_on: date, business_days: int) -> date:
        """Last day of a processing period of `business_days` for a request received that day."""
        if business_days < 1:
            raise ValueError("a processing period has at least one business day")
        counts_first_day = business_days >= FIRST_DAY_COUNTS_FROM and self.is_business_day(received_on)
        day = received_on if counts_first_day else self.next_business_day(received_on)
        for _ in range(business_days - 1):
            day = self.next_business_day(day)
        return day
