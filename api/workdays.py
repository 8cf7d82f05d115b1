"""Working days as Thai law counts them: not Saturday or Sunday, not a Thai public holiday.

The Licensing Facilitation Act B.E. 2558 states every time limit in working days, so deadlines and
"days taken" here are counted on this calendar, in Bangkok dates (a step entered at 23:30 UTC on
Sunday was entered on Monday in Bangkok).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import holidays

from ledger.types import BANGKOK


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("TH", years=year).keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays_of(day.year)


def bangkok_date(timestamp: int) -> date:
    """The Bangkok calendar date of a Unix timestamp (a block's time)."""
    return datetime.fromtimestamp(timestamp, tz=UTC).astimezone(BANGKOK).date()


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself does not count)."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days ``d`` with ``start < d <= end``; 0 when ``end`` is not after ``start``."""
    if end <= start:
        return 0
    count = 0
    day = start
    # Steps last days to months; a plain walk is fast enough and obviously right.
    while day < end:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
