"""The questions the API and the dashboard ask the mirror, answered as typed rows.

Every function takes the read-only ``Mirror`` and returns rows with named fields: money in integer
satang, times as Unix seconds, dates as ``date``. Nothing here formats: the JSON routes turn the rows
into the ``*Public`` shapes (baht strings, ISO times), the dashboard's pages into HTML. So a page
shows the same figures as ``/v1`` because both read them here, not because one parses the other.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import time as unix_now
from typing import Any, Generic, NamedTuple, TypeVar

import orjson

from api.cursor import decode_cursor, encode_cursor
from api.database import Mirror
from api.deps import to_satang
from api.errors import InvalidParameterError, MirrorUnavailableError
from indexer.digest import DIGEST_QUERY, digest_line
from ledger.types import BANGKOK, MAX_SATANG
from ledger.workdays import bangkok_date, working_days_between

T = TypeVar("T")


class Page(NamedTuple, Generic[T]):
    items: list[T]
    next_cursor: str | None


class Provenance(NamedTuple):
    """Where an entry sits on the chain."""

    seq: int
    head: str
    tx_hash: str
    block_number: int
    block_hash: str
    log_index: int
    block_time: int


# ----------------------------------------------------------------------------- disbursements

COLUMNS = (
    "d.seq, d.project_code, d.agency_code, d.fiscal_year, d.voucher, d.amount, d.payee, d.document_hash,"
    " d.request_tracking, d.reversed_by_seq, d.head, d.tx_hash, d.block_number, d.block_hash, d.log_index,"
    " d.block_time"
)


class Disbursement(NamedTuple):
    """One row of ``COLUMNS``, in its order: a list page wraps the driver's tuples without copying."""

    id: int
    project: str
    agency: str
    fiscal_year: int
    voucher: str
    amount: int
    payee: str
    document_hash: str | None
    request: str | None
    reversed_by: int | None
    head: str
    tx_hash: str
    block_number: int
    block_hash: str
    log_index: int
    block_time: int

    @property
    def reversed(self) -> bool:
        return self.reversed_by is not None

    @property
    def provenance(self) -> Provenance:
        return Provenance(
            self.id, self.head, self.tx_hash, self.block_number, self.block_hash, self.log_index, self.block_time
        )


class Reversal(NamedTuple):
    reason: str
    provenance: Provenance


class DisbursementRecord(NamedTuple):
    entry: Disbursement
    reversal: Reversal | None


@dataclass(frozen=True)
class DisbursementFilters:
    """The filters shared by the list and the CSV export, as SQL over ``disbursements d``."""

    project: str | None = None
    agency: str | None = None
    fiscal_year: int | None = None
    payee: str | None = None
    min_amount: str | None = None
    max_amount: str | None = None
    since: date | None = None
    until: date | None = None

    def scope(self) -> str:
        return "\0".join(str(value) for value in self.__dict__.values())

    def sql(self) -> tuple[list[str], dict[str, Any]]:
        clauses: list[str] = []
        params: dict[str, Any] = {}
        for column, name in (
            ("project_code", "project"),
            ("agency_code", "agency"),
            ("fiscal_year", "fiscal_year"),
            ("payee", "payee"),
        ):
            value = getattr(self, name)
            if value is not None:
                clauses.append(f"d.{column} = :{name}")
                params[name] = value
        low = to_satang("min_amount", self.min_amount) if self.min_amount is not None else None
        high = to_satang("max_amount", self.max_amount) if self.max_amount is not None else None
        if low is not None and high is not None and low > high:
            raise InvalidParameterError("min_amount", "is greater than max_amount")
        if low is not None:
            clauses.append("d.amount >= :min_amount")
            params["min_amount"] = low
        if high is not None:
            clauses.append("d.amount <= :max_amount")
            params["max_amount"] = high
        if self.since is not None and self.until is not None and self.since > self.until:
            raise InvalidParameterError("since", "is after until")
        # Dates are Bangkok calendar days, as people in Thailand read them; blocks carry UTC seconds.
        if self.since is not None:
            clauses.append("d.block_time >= :since")
            params["since"] = _bangkok_midnight(self.since)
        if self.until is not None:
            clauses.append("d.block_time < :until")
            params["until"] = _bangkok_midnight(self.until + timedelta(days=1))
        return clauses, params


def _bangkok_midnight(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=BANGKOK).timestamp())


async def disbursements(
    mirror: Mirror, filters: DisbursementFilters, limit: int, cursor: str | None, secret: bytes
) -> Page[Disbursement]:
    """Newest first, keyset-paged on the ledger seq (the cursor is bound to the filters)."""
    clauses, params = filters.sql()
    scope = "disbursements\0" + filters.scope()
    if cursor is not None:
        (params["before"],) = decode_cursor(secret, scope, cursor, (int,))
        clauses.append("d.seq < :before")
    params["limit"] = limit + 1
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await mirror.fetch_all(
        f"SELECT {COLUMNS} FROM disbursements d {where} ORDER BY d.seq DESC LIMIT :limit", params
    )
    more = len(rows) > limit
    # tuple.__new__ is _make without its length check: the rows are COLUMNS, and this is the list's hot loop.
    items = [tuple.__new__(Disbursement, row) for row in (rows[:limit] if more else rows)]
    return Page(items, encode_cursor(secret, scope, [items[-1].id]) if more else None)


async def disbursement(mirror: Mirror, seq: int) -> DisbursementRecord | None:
    row = await mirror.fetch_one(
        f"SELECT {COLUMNS}, d.reversal_reason, r.head, r.tx_hash, r.block_number, r.block_hash, r.log_index,"
        " r.block_time FROM disbursements d LEFT JOIN reversals r ON r.seq = d.reversed_by_seq WHERE d.seq = :seq",
        {"seq": seq},
    )
    if row is None:
        return None
    *columns, reason, head, tx_hash, block_number, block_hash, log_index, at = row
    entry = Disbursement._make(columns)
    if entry.reversed_by is None:
        return DisbursementRecord(entry, None)
    return DisbursementRecord(
        entry, Reversal(reason, Provenance(entry.reversed_by, head, tx_hash, block_number, block_hash, log_index, at))
    )


# ----------------------------------------------------------------------------- agencies

_AGENCY = """
SELECT a.code, a.name, a.name_en, a.ministry_code,
  a.seq, e.head, e.tx_hash, e.block_number, e.block_hash, e.log_index, a.block_time
FROM agencies a JOIN events e ON e.seq = a.seq
"""


class Agency(NamedTuple):
    code: str
    name: str
    name_en: str
    ministry: str
    recorders: list[str]
    registered: Provenance


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over projects, in satang."""

    projects: int
    allocated: int
    disbursed: int
    reversed: int
    net: int

    @property
    def remaining(self) -> int:
        return self.allocated - self.net

    @property
    def spent_permille(self) -> int:
        return self.net * 1000 // self.allocated if self.allocated else 0


class AgencyRecord(NamedTuple):
    agency: Agency
    totals: Totals


def _totals(count: Any, allocated: Any, disbursed: Any, reversed_: Any, net: Any) -> Totals:
    return Totals(int(count), int(allocated), int(disbursed), int(reversed_), int(net))


async def _recorders(mirror: Mirror, codes: list[str]) -> dict[str, list[str]]:
    if not codes:
        return {}
    names = {f"c{i}": code for i, code in enumerate(codes)}
    rows = await mirror.fetch_all(
        "SELECT agency_code, address FROM recorders WHERE removed_seq IS NULL AND agency_code IN ("
        + ", ".join(f":{name}" for name in names)
        + ") ORDER BY agency_code, added_seq",
        names,
    )
    found: dict[str, list[str]] = {code: [] for code in codes}
    for agency, address in rows:
        found[agency].append(address)
    return found


def _agency(row: Any, recorders: dict[str, list[str]]) -> Agency:
    code, name, name_en, ministry, seq, head, tx_hash, block_number, block_hash, log_index, at = row
    return Agency(
        code,
        name,
        name_en,
        ministry,
        recorders[code],
        Provenance(seq, head, tx_hash, block_number, block_hash, log_index, at),
    )


async def agencies(mirror: Mirror, limit: int, cursor: str | None, secret: bytes) -> Page[Agency]:
    """By code, keyset-paged."""
    params: dict[str, Any] = {"limit": limit + 1}
    where = ""
    if cursor is not None:
        (params["after"],) = decode_cursor(secret, "agencies", cursor, (str,))
        where = "WHERE a.code > :after"
    rows = await mirror.fetch_all(f"{_AGENCY} {where} ORDER BY a.code LIMIT :limit", params)
    more = len(rows) > limit
    rows = rows[:limit]
    recorders = await _recorders(mirror, [row[0] for row in rows])
    items = [_agency(row, recorders) for row in rows]
    return Page(items, encode_cursor(secret, "agencies", [items[-1].code]) if more else None)


async def agency(mirror: Mirror, code: str) -> AgencyRecord | None:
    row = await mirror.fetch_one(f"{_AGENCY} WHERE a.code = :code", {"code": code})
    if row is None:
        return None
    totals = await mirror.fetch_one(
        "SELECT COUNT(*), COALESCE(SUM(allocation), 0), COALESCE(SUM(disbursed), 0), COALESCE(SUM(reversed), 0),"
        " COALESCE(SUM(net), 0) FROM projects WHERE agency_code = :code",
        {"code": code},
    )
    assert totals is not None
    return AgencyRecord(_agency(row, await _recorders(mirror, [code])), _totals(*totals))


async def agency_names(mirror: Mirror) -> dict[str, tuple[str, str]]:
    """Agency code -> (Thai name, English name), each falling back to the other and to the code."""
    rows = await mirror.fetch_all("SELECT code, name, name_en FROM agencies")
    return {code: (name or code, name_en or name or code) for code, name, name_en in rows}


async def has_units(mirror: Mirror, code: str) -> bool:
    """Is this agency a ministry: are other agencies' codes under it?"""
    row = await mirror.fetch_one(
        "SELECT 1 FROM agencies WHERE ministry_code = :code AND code <> :code LIMIT 1", {"code": code}
    )
    return row is not None


# ----------------------------------------------------------------------------- projects

_PROJECT = "p.code, p.agency_code, p.fiscal_year, p.name, p.allocation, p.net, p.remaining, p.last_activity_time"


class Project(NamedTuple):
    code: str
    agency: str
    fiscal_year: int
    name: str
    allocation: int
    net: int
    remaining: int
    last_activity_time: int


class Amendment(NamedTuple):
    seq: int
    previous_allocation: int
    new_allocation: int
    reason: str
    tx_hash: str
    block_number: int
    block_time: int


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    project: Project
    initial_allocation: int
    disbursed: int
    reversed: int
    disbursement_count: int
    reversal_count: int
    amendment_count: int
    last_activity_seq: int
    last_activity_block: int
    registered: Provenance
    amendments: list[Amendment]


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def projects(
    mirror: Mirror,
    agency: str | None,
    fiscal_year: int | None,
    q: str | None,
    limit: int,
    cursor: str | None,
    secret: bytes,
) -> Page[Project]:
    """By code, keyset-paged; ``q`` matches words of the name or code, or of the agency's names."""
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit + 1}
    if agency is not None:
        clauses.append("p.agency_code = :agency")
        params["agency"] = agency
    if fiscal_year is not None:
        clauses.append("p.fiscal_year = :fiscal_year")
        params["fiscal_year"] = fiscal_year
    join = ""
    if q is not None:
        join = "JOIN agencies a ON a.code = p.agency_code"
        clauses.append(
            "(lower(p.name) LIKE :q ESCAPE '\\' OR lower(p.code) LIKE :q ESCAPE '\\'"
            " OR lower(a.name) LIKE :q ESCAPE '\\' OR lower(a.name_en) LIKE :q ESCAPE '\\')"
        )
        params["q"] = _like(q)
    scope = f"projects\0{agency}\0{fiscal_year}\0{q}"
    if cursor is not None:
        (params["after"],) = decode_cursor(secret, scope, cursor, (str,))
        clauses.append("p.code > :after")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await mirror.fetch_all(
        f"SELECT {_PROJECT} FROM projects p {join} {where} ORDER BY p.code LIMIT :limit", params
    )
    more = len(rows) > limit
    items = [Project._make(row) for row in rows[:limit]]
    return Page(items, encode_cursor(secret, scope, [items[-1].code]) if more else None)


async def project(mirror: Mirror, code: str) -> ProjectRecord | None:
    row = await mirror.fetch_one(
        f"SELECT {_PROJECT}, p.initial_allocation, p.disbursed, p.reversed, p.disbursement_count,"
        " p.reversal_count, p.amendment_count, p.last_activity_seq, p.last_activity_block,"
        " p.seq, e.head, e.tx_hash, e.block_number, e.block_hash, e.log_index, p.block_time"
        " FROM projects p JOIN events e ON e.seq = p.seq WHERE p.code = :code",
        {"code": code},
    )
    if row is None:
        return None
    (
        code,
        agency,
        fiscal_year,
        name,
        allocation,
        net,
        remaining,
        last_time,
        initial,
        disbursed,
        reversed_,
        n_disbursed,
        n_reversed,
        n_amended,
        last_seq,
        last_block,
        seq,
        head,
        tx_hash,
        block_number,
        block_hash,
        log_index,
        at,
    ) = row
    amendments = await mirror.fetch_all(
        "SELECT seq, previous_allocation, new_allocation, reason, tx_hash, block_number, block_time"
        " FROM allocation_amendments WHERE project_code = :code ORDER BY seq",
        {"code": code},
    )
    return ProjectRecord(
        Project(code, agency, fiscal_year, name, allocation, net, remaining, last_time),
        initial,
        disbursed,
        reversed_,
        n_disbursed,
        n_reversed,
        n_amended,
        last_seq,
        last_block,
        Provenance(seq, head, tx_hash, block_number, block_hash, log_index, at),
        [Amendment._make(amendment) for amendment in amendments],
    )


async def project_names(mirror: Mirror, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    params = {f"p{i}": code for i, code in enumerate(sorted(codes))}
    rows = await mirror.fetch_all(
        "SELECT code, name FROM projects WHERE code IN (" + ", ".join(f":{k}" for k in params) + ")", params
    )
    return dict(rows)


async def fiscal_years(mirror: Mirror) -> list[int]:
    """The fiscal years that have projects, latest first."""
    rows = await mirror.fetch_all("SELECT DISTINCT fiscal_year FROM projects ORDER BY fiscal_year DESC")
    return [int(year) for (year,) in rows]


# ----------------------------------------------------------------------------- summary

_SUMS = (
    "COUNT(*), COALESCE(SUM(p.allocation), 0), COALESCE(SUM(p.disbursed), 0), COALESCE(SUM(p.reversed), 0),"
    " COALESCE(SUM(p.net), 0)"
)


class MinistryTotals(NamedTuple):
    """The totals of every agency whose code has this root, the ministry's own projects included."""

    code: str
    name: str
    name_en: str
    agencies: int
    totals: Totals


class AgencyTotals(NamedTuple):
    agency: str
    name: str
    ministry: str
    totals: Totals


@dataclass(frozen=True, slots=True)
class Summary:
    fiscal_year: int | None
    totals: Totals
    remaining: int  # summed from projects.remaining
    ministries: list[MinistryTotals]
    agencies: list[AgencyTotals]


async def summary(mirror: Mirror, fiscal_year: int | None) -> Summary:
    """A fiscal year's totals (every year's when None), each ministry's and each agency's, summed in SQL."""
    where = "WHERE p.fiscal_year = :fiscal_year" if fiscal_year is not None else ""
    params = {"fiscal_year": fiscal_year} if fiscal_year is not None else {}
    total = await mirror.fetch_one(f"SELECT {_SUMS}, COALESCE(SUM(p.remaining), 0) FROM projects p {where}", params)
    assert total is not None
    ministries = await mirror.fetch_all(
        f"SELECT a.ministry_code, COALESCE(MAX(m.name), ''), COALESCE(MAX(m.name_en), ''),"
        f" COUNT(DISTINCT p.agency_code), {_SUMS} FROM projects p JOIN agencies a ON a.code = p.agency_code"
        f" LEFT JOIN agencies m ON m.code = a.ministry_code {where} GROUP BY a.ministry_code ORDER BY a.ministry_code",
        params,
    )
    rows = await mirror.fetch_all(
        f"SELECT p.agency_code, COALESCE(MAX(a.name), ''), COALESCE(MAX(a.ministry_code), p.agency_code), {_SUMS}"
        f" FROM projects p LEFT JOIN agencies a ON a.code = p.agency_code {where}"
        " GROUP BY p.agency_code ORDER BY p.agency_code",
        params,
    )
    count, allocated, disbursed, reversed_, net, remaining = total
    return Summary(
        fiscal_year,
        _totals(count, allocated, disbursed, reversed_, net),
        int(remaining),
        [MinistryTotals(code, name, name_en, int(n), _totals(*sums)) for code, name, name_en, n, *sums in ministries],
        [AgencyTotals(code, name, ministry, _totals(*sums)) for code, name, ministry, *sums in rows],
    )


# ----------------------------------------------------------------------------- timelines

BANGKOK_OFFSET = 7 * 3600  # Asia/Bangkok has no daylight saving time
# Which entries a timeline covers: one project's, one agency's, or those of every agency of a ministry.
TIMELINE_SCOPES = {
    "project_code": "project_code = :code",
    "agency_code": "agency_code = :code",
    "ministry_code": "agency_code IN (SELECT code FROM agencies WHERE ministry_code = :code)",
}


class Month(NamedTuple):
    year: int
    month: int
    gross: int
    reversed: int
    cumulative: int  # net disbursed up to the end of this month


async def monthly_net(mirror: Mirror, scope: str, code: str) -> list[Month]:
    """Every Bangkok month from the first entry to the last: gross disbursed and reversed (each in the
    month it was recorded), and the running net."""
    day = f"(block_time + {BANGKOK_OFFSET}) / 86400"
    where = TIMELINE_SCOPES[scope]
    paid = await mirror.fetch_all(
        f"SELECT {day} AS day, SUM(amount) FROM disbursements WHERE {where} GROUP BY {day} ORDER BY 1",
        {"code": code},
    )
    undone = await mirror.fetch_all(
        f"SELECT {day} AS day, SUM(amount) FROM reversals WHERE {where} GROUP BY {day} ORDER BY 1",
        {"code": code},
    )
    months: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for index, rows in enumerate((paid, undone)):
        for number, amount in rows:
            moment = date(1970, 1, 1) + timedelta(days=int(number))
            months[(moment.year, moment.month)][index] += int(amount)
    result: list[Month] = []
    if months:
        (year, month), last = min(months), max(months)
        running = 0
        while (year, month) <= last:
            gross, reversed_ = months.get((year, month), (0, 0))
            running += gross - reversed_
            result.append(Month(year, month, gross, reversed_, running))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


# ----------------------------------------------------------------------------- service requests


def quantile(values: list[int], q: float) -> float | None:
    """Linear interpolation between closest ranks (the method of numpy's default and Excel's PERCENTILE.INC)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 2)


def _share(on_time: int, total: int) -> float | None:
    return round(on_time / total, 4) if total else None


class StateCount(NamedTuple):
    state: str
    terminal: bool
    count: int


class StepStats(NamedTuple):
    state: str
    time_limit_working_days: int | None
    completed: int
    median_working_days: float | None
    p80_working_days: float | None
    on_time_share: float | None


class AgencyOnTime(NamedTuple):
    agency: str
    steps_with_limit: int
    on_time: int
    on_time_share: float | None


class ServiceStats(NamedTuple):
    service: str
    requests: int
    states: list[StateCount]
    steps: list[StepStats]
    agencies: list[AgencyOnTime]


async def service_codes(mirror: Mirror) -> list[str]:
    return [code for (code,) in await mirror.fetch_all("SELECT code FROM services ORDER BY code")]


async def service_stats(mirror: Mirror, service: str) -> ServiceStats | None:
    """Counts per state, and per step the working days taken against the legal limit. Counts and
    on-time shares are summed in SQL; working days need the Thai holiday calendar, so are counted here."""
    definition = await mirror.fetch_one(
        "SELECT states, time_limit_days, transitions FROM services WHERE code = :service", {"service": service}
    )
    if definition is None:
        return None
    states_json, limits_json, transitions_json = definition
    states: list[str] = orjson.loads(states_json)
    limits: list[int] = orjson.loads(limits_json)
    outgoing = {int(t[0]) for t in orjson.loads(transitions_json)}
    counts = dict(
        await mirror.fetch_all(
            "SELECT state, COUNT(*) FROM requests WHERE service_code = :service GROUP BY state", {"service": service}
        )
    )
    per_step = {
        int(state): (int(total), int(on_time or 0))
        for state, total, on_time in await mirror.fetch_all(
            "SELECT from_state, COUNT(*), SUM(CASE WHEN on_time THEN 1 ELSE 0 END) FROM request_transitions"
            " WHERE service_code = :service AND on_time IS NOT NULL GROUP BY from_state",
            {"service": service},
        )
    }
    per_agency = await mirror.fetch_all(
        "SELECT agency_code, COUNT(*), SUM(CASE WHEN on_time THEN 1 ELSE 0 END) FROM request_transitions"
        " WHERE service_code = :service AND on_time IS NOT NULL GROUP BY agency_code ORDER BY agency_code",
        {"service": service},
    )
    durations: dict[int, list[int]] = defaultdict(list)
    completed: dict[int, int] = defaultdict(int)
    async for batch in mirror.stream(
        "SELECT from_state, from_time, block_time FROM request_transitions WHERE service_code = :service",
        {"service": service},
    ):
        for from_state, from_time, block_time in batch:
            completed[from_state] += 1
            durations[from_state].append(working_days_between(bangkok_date(from_time), bangkok_date(block_time)))
    steps = []
    for index, name in enumerate(states):
        if index not in outgoing:
            continue  # a terminal state is never left: no step to time
        total, on_time = per_step.get(index, (0, 0))
        steps.append(
            StepStats(
                name,
                _limit(limits, index),
                completed.get(index, 0),
                quantile(durations.get(index, []), 0.5),
                quantile(durations.get(index, []), 0.8),
                _share(on_time, total),
            )
        )
    return ServiceStats(
        service,
        sum(int(n) for n in counts.values()),
        [StateCount(name, index not in outgoing, int(counts.get(index, 0))) for index, name in enumerate(states)],
        steps,
        [
            AgencyOnTime(agency, int(total), int(on_time or 0), _share(int(on_time or 0), int(total)))
            for agency, total, on_time in per_agency
        ],
    )


class AgencyStep(NamedTuple):
    agency: str
    state: str
    completed: int
    median: float | None
    timed: int
    on_time_share: float | None


async def agency_steps(mirror: Mirror, service: str, states: list[str]) -> list[AgencyStep]:
    """Per agency and step: steps finished, share on time, median working days."""
    rows = await mirror.fetch_all(
        "SELECT agency_code, from_state, from_time, block_time, on_time FROM request_transitions"
        " WHERE service_code = :service ORDER BY seq",
        {"service": service},
    )
    cells: dict[tuple[str, int], dict[str, Any]] = {}
    for agency, from_state, from_time, block_time, on_time in rows:
        cell = cells.setdefault((agency, int(from_state)), {"days": [], "timed": 0, "on_time": 0})
        cell["days"].append(working_days_between(bangkok_date(from_time), bangkok_date(block_time)))
        if on_time is not None:
            cell["timed"] += 1
            cell["on_time"] += 1 if on_time else 0
    return [
        AgencyStep(
            agency,
            states[state] if state < len(states) else str(state),
            len(cell["days"]),
            quantile(cell["days"], 0.5),
            cell["timed"],
            cell["on_time"] / cell["timed"] if cell["timed"] else None,
        )
        for (agency, state), cell in sorted(cells.items())
    ]


def _limit(limits: list[int], index: int) -> int | None:
    return limits[index] if index < len(limits) and limits[index] > 0 else None


def step_status(limit: int | None, deadline: date | None, end: date, closed: bool, on_time: bool | None) -> str:
    if limit is None or deadline is None:
        return "no-limit"
    if closed:
        return "met" if on_time or (on_time is None and end <= deadline) else "overdue"
    return "overdue" if end > deadline else "open"


class Step(NamedTuple):
    """One state a request was in, with its legal deadline in working days."""

    state: str
    entered_at: int
    entered_by: str
    reason: str
    left_at: int | None
    time_limit_working_days: int | None
    deadline: date | None  # None when the state has no limit
    working_days_taken: int
    status: str
    overdue_working_days: int


class RequestRecord(NamedTuple):
    tracking_code: str
    service: str
    agency: str
    state: str
    terminal: bool
    opened_at: int
    deadline: date | None  # None once finished
    overdue: bool
    steps: list[Step]


async def chain_time(mirror: Mirror) -> int:
    """Time of the latest indexed block: "now" for deadlines, so every mirror of a chain agrees."""
    row = await mirror.fetch_one(
        "SELECT b.timestamp FROM checkpoint c JOIN blocks b ON b.number = c.block_number WHERE c.id = 1"
    )
    return int(row[0]) if row else int(unix_now())


async def service_request(mirror: Mirror, code: str) -> RequestRecord | None:
    """A request's timeline, by its canonical tracking code."""
    head = await mirror.fetch_one(
        "SELECT r.service_code, r.agency_code, r.state_name, r.terminal, r.opened_time, r.deadline, r.overdue,"
        " s.states, s.time_limit_days FROM requests r JOIN services s ON s.code = r.service_code"
        " WHERE r.tracking_code = :code",
        {"code": code},
    )
    if head is None:
        return None
    service, agency, state, terminal, opened_time, deadline, overdue, states_json, limits_json = head
    states: list[str] = orjson.loads(states_json)
    limits: list[int] = orjson.loads(limits_json)
    transitions = await mirror.fetch_all(
        "SELECT from_state, to_state, agency_code, reason, from_time, deadline, on_time, block_time"
        " FROM request_transitions WHERE tracking_code = :code ORDER BY seq",
        {"code": code},
    )
    now = await chain_time(mirror)
    steps: list[Step] = []
    # (state index, entered at, entered by, reason) of the step currently being walked.
    current = (0, opened_time, agency, "opened")
    for _from_state, to_state, by, reason, _from_time, step_deadline, on_time, at in transitions:
        steps.append(_step(states, limits, current, at, _as_date(step_deadline), on_time))
        current = (to_state, at, by, reason)
    steps.append(_step(states, limits, current, None, _as_date(deadline) if not terminal else None, None, now))
    return RequestRecord(
        code,
        service,
        agency,
        state,
        bool(terminal),
        opened_time,
        _as_date(deadline) if deadline is not None and not terminal else None,
        bool(overdue) and not terminal,
        steps,
    )


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _step(
    states: list[str],
    limits: list[int],
    current: tuple[int, int, str, str],
    left_at: int | None,
    deadline: date | None,
    on_time: Any,
    now: int | None = None,
) -> Step:
    index, entered_at, by, reason = current
    limit = _limit(limits, index)
    entered = bangkok_date(entered_at)
    end = bangkok_date(left_at if left_at is not None else (now or entered_at))
    closed = left_at is not None
    status = step_status(limit, deadline, end, closed, None if on_time is None else bool(on_time))
    overdue_days = working_days_between(deadline, end) if deadline is not None and status == "overdue" else 0
    return Step(
        states[index] if index < len(states) else str(index),
        entered_at,
        by,
        reason,
        left_at,
        limit,
        deadline if limit is not None else None,
        working_days_between(entered, end),
        status,
        overdue_days,
    )


async def step_exists(mirror: Mirror, code: str, seq: int) -> bool:
    """Is ``seq`` the opening or a step of the request ``code``?"""
    found = await mirror.fetch_one(
        "SELECT seq FROM request_transitions WHERE tracking_code = :code AND seq = :seq"
        " UNION ALL SELECT opened_seq FROM requests WHERE tracking_code = :code AND opened_seq = :seq",
        {"code": code, "seq": seq},
    )
    return found is not None


async def disbursement_exists(mirror: Mirror, seq: int) -> bool:
    return await mirror.fetch_one("SELECT seq FROM disbursements WHERE seq = :seq", {"seq": seq}) is not None


# ----------------------------------------------------------------------------- checkpoint

_STATE = (
    "SELECT c.chain_id, c.contract, c.block_number, c.block_hash, l.seq, l.head"
    " FROM checkpoint c LEFT JOIN ledger l ON l.id = 1 WHERE c.id = 1"
)
ZERO_HASH = "0x" + "00" * 32
SHOWN_UNHELD = 100

# Money cells holding MAX_SATANG: values the mirror's 64-bit columns cannot hold (indexer/tables.py).
_MONEY = {
    "projects": ("code", ("initial_allocation", "allocation", "disbursed", "reversed", "net", "remaining")),
    "disbursements": ("seq", ("amount",)),
    "reversals": ("seq", ("amount",)),
    "allocation_amendments": ("seq", ("previous_allocation", "new_allocation")),
}
_UNHELD = " UNION ALL ".join(
    f"SELECT '{table}', CAST({key} AS TEXT), '{column}' FROM {table} WHERE {column} = :bound"
    for table, (key, columns) in _MONEY.items()
    for column in columns
)


class CheckpointState(NamedTuple):
    chain_id: int
    contract: str
    block_number: int
    block_hash: str
    ledger_seq: int
    ledger_head: str
    mirror_digest: str


async def checkpoint_block(mirror: Mirror) -> int | None:
    row = await mirror.fetch_one("SELECT block_number FROM checkpoint WHERE id = 1")
    return row[0] if row else None


async def as_of(mirror: Mirror) -> tuple[int, int] | None:
    """(indexed block, its time or 0)."""
    row = await mirror.fetch_one(
        "SELECT c.block_number, b.timestamp FROM checkpoint c LEFT JOIN blocks b ON b.number = c.block_number"
        " WHERE c.id = 1"
    )
    return (int(row[0]), int(row[1] or 0)) if row else None


async def _digest(mirror: Mirror) -> str:
    """indexer.digest's SHA-256 over the events, through our read-only handle."""
    sha = hashlib.sha256()
    async for batch in mirror.stream(DIGEST_QUERY + " ORDER BY seq", batch=5000):
        for row in batch:
            sha.update(digest_line(row))
    return sha.hexdigest()


async def checkpoint(mirror: Mirror, cache: dict[tuple[Any, ...], str]) -> CheckpointState:
    """The checkpoint with its digest; the digest is kept in ``cache`` per (ledger head, checkpoint block)."""
    for _ in range(3):
        row = await mirror.fetch_one(_STATE)
        if row is None:
            raise MirrorUnavailableError("the mirror has not indexed any block yet")
        digest = cache.get(row)
        if digest is None:
            digest = await _digest(mirror)
            # The indexer commits rows and checkpoint together; if it committed while we were
            # hashing, the digest may straddle two states, so hash again.
            if await mirror.fetch_one(_STATE) != row:
                continue
            cache.clear()
            cache[row] = digest
        chain_id, contract, block_number, block_hash, seq, head = row
        return CheckpointState(chain_id, contract, block_number, block_hash, seq or 0, head or ZERO_HASH, digest)
    raise MirrorUnavailableError("the mirror is changing too fast to take a consistent checkpoint; retry")


class Unheld(NamedTuple):
    table: str
    key: str  # the row's primary key: a project code, or a seq
    column: str


async def unheld(mirror: Mirror) -> list[Unheld]:
    """The first money cells the mirror could not hold (the exact values are in the events)."""
    rows = await mirror.fetch_all(f"{_UNHELD} LIMIT {SHOWN_UNHELD}", {"bound": MAX_SATANG})
    return [Unheld(table, str(key), column) for table, key, column in rows]
