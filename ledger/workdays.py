"""Working days for service-request deadlines: Monday-Friday except Thai public holidays.

Holidays come from the ``holidays`` package's Thailand calendar (public holidays and their
in-lieu days), never from a hand-written list, so a package upgrade is how new holidays
arrive. Dates are Bangkok calendar dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays

from ledger.types import BANGKOK

_ONE_DAY = timedelta(days=1)


class WorkingCalendar:
    """Adds working days to a date; holiday years are loaded once and cached."""

    def __init__(self) -> None:
        self._holidays: dict[int, frozenset[date]] = {}

    def _year(self, year: int) -> frozenset[date]:
        found = self._holidays.get(year)
        if found is None:
            found = frozenset(holidays.country_holidays("TH", years=year))
            self._holidays[year] = found
        return found

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._year(day.year)

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself does not count)."""
        day = start
        counted = 0
        while counted < days:
            day += _ONE_DAY
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days ``d`` with ``start < d <= end``; 0 when ``end`` is not after ``start``."""
        count = 0
        day = start
        # Steps last days to months; a plain walk is fast enough and obviously right.
        while day < end:
            day += _ONE_DAY
            if self.is_working_day(day):
                count += 1
        return count


# One calendar for the indexer's deadlines and the API's "days taken", so the two never disagree.
CALENDAR = WorkingCalendar()
is_working_day = CALENDAR.is_working_day
add_working_days = CALENDAR.add_working_days
working_days_between = CALENDAR.working_days_between


def bangkok_date(timestamp: int) -> date:
    """The Bangkok calendar date of a Unix timestamp (block time)."""
    return datetime.fromtimestamp(timestamp, tz=UTC).astimezone(BANGKOK).date()
