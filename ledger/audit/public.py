"""What the public API must show, derived from the auditor's own replay of the proven entries.

Written from the API's documented shapes (api/schemas.py, docs) and the ledger rules, never from
the indexer's code: a bug or a falsification in the mirror cannot hide behind a shared helper.
Everything is as of the bundle's head block, whose time is "now" for deadlines, as the API's is.

Working days are Monday to Friday except Thai public holidays, taken from the ``holidays``
package's Thailand calendar (the calendar the project documents); dates are Bangkok dates.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import holidays
from eth_utils import to_checksum_address

from ledger.audit.events import Entry, tracking_text
from ledger.types import BANGKOK, decode_code, format_baht

ZERO32 = b"\0" * 32


@lru_cache(maxsize=65536)  # entries share their block's time
def _iso(timestamp: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


@lru_cache(maxsize=65536)
def _day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, tz=BANGKOK).date()


def _tracking(raw: bytes) -> str:
    # The auditor's own rendering: one shared with the indexer would hide its bugs (issue 12).
    return tracking_text(raw)


class Workdays:
    def __init__(self) -> None:
        self._years: dict[int, Any] = {}

    def working(self, day: date) -> bool:
        if day.year not in self._years:
            self._years[day.year] = set(holidays.country_holidays("TH", years=day.year))
        return day.weekday() < 5 and day not in self._years[day.year]

    def after(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start``."""
        day = start
        while days:
            day += timedelta(days=1)
            days -= self.working(day)
        return day

    def between(self, start: date, end: date) -> int:
        """Working days d with start < d <= end."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.working(day)
        return count


@dataclass
class _Service:
    code: str
    states: list[str]
    limits: list[int]
    terminal: set[int]


@dataclass
class _Request:
    code: str
    service: _Service
    agency: str
    opened: int
    # (state, entered at, entered by, reason); and for each step left: (left at, deadline)
    current: tuple[int, int, str, str]
    steps: list[dict[str, Any]] = field(default_factory=list)
    deadline: date | None = None


@dataclass
class PublicLedger:
    agencies: dict[str, dict[str, Any]]
    projects: dict[str, dict[str, Any]]
    disbursements: dict[int, dict[str, Any]]
    requests: dict[str, dict[str, Any]]
    services: dict[str, dict[str, Any]]  # service -> /v1/services/{service}/stats
    summary: dict[str, Any]


def public_ledger(
    entries: Iterable[Entry],
    times: Mapping[int, int],
    block_hashes: Mapping[int, str],
    tx_hashes: Mapping[tuple[int, int], str],
    now: int,
) -> PublicLedger:
    """The public tables after ``entries`` (in chain order). ``times``/``block_hashes``: per block;
    ``tx_hashes``: per (block, log index); ``now``: the head block's time."""
    days = Workdays()
    agencies: dict[str, dict[str, Any]] = {}
    recorders: dict[str, dict[str, int]] = {}  # agency -> address -> added seq
    projects: dict[str, dict[str, Any]] = {}
    sums: dict[str, list[int]] = {}  # project -> [allocation, disbursed, reversed]
    disbursements: dict[int, dict[str, Any]] = {}
    services: dict[str, _Service] = {}
    requests: dict[str, _Request] = {}
    # Per service: state left -> working days each time; (state | acting agency) -> [with a limit, on time]
    durations: dict[str, dict[int, list[int]]] = {}
    state_on_time: dict[str, dict[int, list[int]]] = {}
    agency_on_time: dict[str, dict[str, list[int]]] = {}

    def provenance(e: Entry) -> dict[str, Any]:
        return {
            "ledger_seq": e.seq,
            "ledger_head": "0x" + e.head.hex(),
            "tx_hash": tx_hashes[(e.block_number, e.log_index)].lower(),
            "block_number": e.block_number,
            "block_hash": block_hashes[e.block_number].lower(),
            "log_index": e.log_index,
            "recorded_at": _iso(times[e.block_number]),
        }

    def deadline(service: _Service, state: int, entered: int) -> date | None:
        limit = service.limits[state] if state < len(service.limits) else 0
        if limit == 0 or state in service.terminal:
            return None
        return days.after(_day(entered), limit)

    def step(r: _Request, left: int | None, limit_deadline: date | None) -> dict[str, Any]:
        state, entered, by, reason = r.current
        limits = r.service.limits
        limit = limits[state] if state < len(limits) and limits[state] > 0 else None
        end = _day(left if left is not None else now)
        if limit is None or limit_deadline is None:
            status = "no-limit"
        elif left is not None:
            status = "met" if end <= limit_deadline else "overdue"
        else:
            status = "overdue" if end > limit_deadline else "open"
        return {
            "state": r.service.states[state] if state < len(r.service.states) else str(state),
            "entered_at": _iso(entered),
            "entered_by": by,
            "reason": reason,
            "left_at": _iso(left) if left is not None else None,
            "time_limit_working_days": limit,
            "deadline": limit_deadline.isoformat() if limit_deadline is not None and limit is not None else None,
            "working_days_taken": days.between(_day(entered), end),
            "status": status,
            "overdue_working_days": days.between(limit_deadline, end) if status == "overdue" else 0,
        }

    for e in entries:
        f = e.fields
        at = times[e.block_number]
        if e.name == "AgencyRegistered":
            code = decode_code(f["agencyCode"])
            agencies[code] = {
                "code": code,
                "name": f["name"],
                "name_en": f["nameEn"],
                "ministry": code.split("/", 1)[0],
                "registered": provenance(e),
            }
            recorders[code] = {}
        elif e.name == "RecorderAdded":
            recorders[decode_code(f["agencyCode"])][to_checksum_address(f["recorder"])] = e.seq
        elif e.name == "RecorderRemoved":
            recorders[decode_code(f["agencyCode"])].pop(to_checksum_address(f["recorder"]), None)
        elif e.name == "ProjectRegistered":
            code = decode_code(f["projectCode"])
            projects[code] = {
                "code": code,
                "agency": decode_code(f["agencyCode"]),
                "fiscal_year": f["fiscalYear"],
                "name": f["name"],
                "last_activity_at": at,
            }
            sums[code] = [f["allocation"], 0, 0]
        elif e.name == "AllocationAmended":
            code = decode_code(f["projectCode"])
            sums[code][0] = f["newAllocation"]
            projects[code]["last_activity_at"] = at
        elif e.name == "DisbursementRecorded":
            code = decode_code(f["projectCode"])
            sums[code][1] += f["amount"]
            projects[code]["last_activity_at"] = at
            disbursements[e.seq] = {
                "id": e.seq,
                "project": code,
                "agency": decode_code(f["agencyCode"]),
                "fiscal_year": projects[code]["fiscal_year"],
                "voucher": decode_code(f["voucher"]),
                "amount": format_baht(f["amount"]),
                "payee": decode_code(f["payee"]),
                "document_hash": None if f["documentHash"] == ZERO32 else "0x" + f["documentHash"].hex(),
                "request": None if f["requestTracking"] == ZERO32 else _tracking(f["requestTracking"]),
                "reversed": False,
                "provenance": provenance(e),
            }
        elif e.name == "DisbursementReversed":
            code = decode_code(f["projectCode"])
            sums[code][2] += f["amount"]
            projects[code]["last_activity_at"] = at
            disbursements[f["originalSeq"]]["reversed"] = True
        elif e.name == "ServiceDefined":
            code = decode_code(f["service"])
            exits = {t[0] for t in f["transitions"]}
            states = list(f["states"])
            services[code] = _Service(
                code, states, list(f["timeLimitDays"]), {i for i in range(len(states)) if i not in exits}
            )
            durations[code], state_on_time[code], agency_on_time[code] = {}, {}, {}
        elif e.name == "RequestOpened":
            service = services[decode_code(f["service"])]
            agency = decode_code(f["agencyCode"])
            r = _Request(_tracking(f["trackingCode"]), service, agency, at, (0, at, agency, "opened"))
            r.deadline = deadline(service, 0, at)
            requests[r.code] = r
        elif e.name == "RequestAdvanced":
            r = requests[_tracking(f["trackingCode"])]
            left, actor = r.current[0], decode_code(f["agencyCode"])
            durations[r.service.code].setdefault(left, []).append(days.between(_day(r.current[1]), _day(at)))
            if r.deadline is not None:
                met = _day(at) <= r.deadline
                for counts in (
                    state_on_time[r.service.code].setdefault(left, [0, 0]),
                    agency_on_time[r.service.code].setdefault(actor, [0, 0]),
                ):
                    counts[0] += 1
                    counts[1] += met
            r.steps.append(step(r, at, r.deadline))
            r.current = (f["toState"], at, decode_code(f["agencyCode"]), f["reason"])
            r.deadline = deadline(r.service, f["toState"], at)

    today = _day(now)
    public_requests: dict[str, dict[str, Any]] = {}
    per_service: dict[str, dict[int, int]] = {code: {} for code in services}
    for code, r in requests.items():
        state = r.current[0]
        terminal = state in r.service.terminal
        public_requests[code] = {
            "tracking_code": code,
            "service": r.service.code,
            "agency": r.agency,
            "state": r.service.states[state] if state < len(r.service.states) else f"#{state}",
            "terminal": terminal,
            "opened_at": _iso(r.opened),
            "deadline": r.deadline.isoformat() if r.deadline is not None and not terminal else None,
            "overdue": r.deadline is not None and r.deadline < today and not terminal,
            "steps": [*r.steps, step(r, None, r.deadline if not terminal else None)],
        }
        per_service[r.service.code][state] = per_service[r.service.code].get(state, 0) + 1
    public_services = {
        code: {
            "service": code,
            "requests": sum(per_service[code].values()),
            "states": [
                {"state": name, "terminal": i in s.terminal, "count": per_service[code].get(i, 0)}
                for i, name in enumerate(s.states)
            ],
            "steps": [
                {
                    "state": name,
                    "time_limit_working_days": s.limits[i] if i < len(s.limits) and s.limits[i] > 0 else None,
                    "completed": len(durations[code].get(i, [])),
                    "median_working_days": _quantile(durations[code].get(i, []), 0.5),
                    "p80_working_days": _quantile(durations[code].get(i, []), 0.8),
                    "on_time_share": _share(*state_on_time[code].get(i, [0, 0])),
                }
                for i, name in enumerate(s.states)
                if i not in s.terminal
            ],
            "agencies": [
                {"agency": agency, "steps_with_limit": total, "on_time": met, "on_time_share": _share(total, met)}
                for agency, (total, met) in sorted(agency_on_time[code].items())
            ],
        }
        for code, s in services.items()
    }

    for code, p in projects.items():
        allocation, disbursed, reversed_ = sums[code]
        net = disbursed - reversed_
        p.update(
            allocation=format_baht(allocation),
            net=format_baht(net),
            remaining=format_baht(allocation - net),
            last_activity_at=_iso(p["last_activity_at"]),
        )
    for code, a in agencies.items():
        a["recorders"] = sorted(recorders[code], key=recorders[code].__getitem__)
    return PublicLedger(
        agencies, projects, disbursements, public_requests, public_services, _summary(agencies, projects, sums)
    )


def _quantile(values: list[int], q: float) -> float | None:
    """The q-quantile by linear interpolation between closest ranks (PERCENTILE.INC), 2 places."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    below = int(rank)
    above = min(below + 1, len(ordered) - 1)
    return round(ordered[below] + (ordered[above] - ordered[below]) * (rank - below), 2)


def _share(total: int, met: int) -> float | None:
    return round(met / total, 4) if total else None


def _totals(rows: list[list[int]]) -> dict[str, Any]:
    allocated = sum(r[0] for r in rows)
    disbursed = sum(r[1] for r in rows)
    reversed_ = sum(r[2] for r in rows)
    return {
        "projects": len(rows),
        "allocated": format_baht(allocated),
        "disbursed": format_baht(disbursed),
        "reversed": format_baht(reversed_),
        "net": format_baht(disbursed - reversed_),
    }


def _summary(
    agencies: dict[str, dict[str, Any]], projects: dict[str, dict[str, Any]], sums: dict[str, list[int]]
) -> dict[str, Any]:
    """``/v1/summary`` over every fiscal year."""
    by_agency: dict[str, list[list[int]]] = {}
    for code, p in projects.items():
        by_agency.setdefault(p["agency"], []).append(sums[code])
    by_ministry: dict[str, list[str]] = {}
    for agency in by_agency:
        by_ministry.setdefault(agency.split("/", 1)[0], []).append(agency)
    everything = list(sums.values())
    return {
        "fiscal_year": None,
        **_totals(everything),
        "remaining": format_baht(sum(r[0] - (r[1] - r[2]) for r in everything)),
        "ministries": [
            {
                "code": ministry,
                "name": agencies.get(ministry, {}).get("name", ""),
                "name_en": agencies.get(ministry, {}).get("name_en", ""),
                "agencies": len(members),
                **_totals([row for agency in members for row in by_agency[agency]]),
            }
            for ministry, members in sorted(by_ministry.items())
        ],
        "agencies": [
            {
                "agency": agency,
                "name": agencies.get(agency, {}).get("name", ""),
                "ministry": agency.split("/", 1)[0],
                **_totals(rows),
            }
            for agency, rows in sorted(by_agency.items())
        ],
    }
