"""``/v1/services/{service}/stats``: how fast agencies move requests, against the legal limits.

Counts and on-time shares are computed in SQL; the working-day durations need the Thai holiday
calendar, so they are counted here from each step's entry and exit times.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import PathCode, Strict
from api.errors import NotFoundError
from api.responses import json_answer
from api.schemas import ServiceStatsPublic
from ledger.workdays import bangkok_date, working_days_between

router = APIRouter(prefix="/v1/services", tags=["services"], dependencies=[Strict])


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


@router.get("/{service}/stats", response_model=ServiceStatsPublic, summary="Counts per state and time per step")
async def service_stats(request: Request, service: PathCode) -> Response:
    mirror = request.app.state.mirror
    definition = await mirror.fetch_one(
        "SELECT states, time_limit_days, transitions FROM services WHERE code = :service", {"service": service}
    )
    if definition is None:
        raise NotFoundError(f"no service {service!r}")
    states: list[str] = orjson.loads(definition[0])
    limits: list[int] = orjson.loads(definition[1])
    transitions: list[list[int]] = orjson.loads(definition[2])
    outgoing = {int(t[0]) for t in transitions}
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
        limit = limits[index] if index < len(limits) and limits[index] > 0 else None
        total, on_time = per_step.get(index, (0, 0))
        steps.append(
            {
                "state": name,
                "time_limit_working_days": limit,
                "completed": completed.get(index, 0),
                "median_working_days": quantile(durations.get(index, []), 0.5),
                "p80_working_days": quantile(durations.get(index, []), 0.8),
                "on_time_share": _share(on_time, total),
            }
        )
    body: dict[str, Any] = {
        "service": service,
        "requests": sum(int(n) for n in counts.values()),
        "states": [
            {"state": name, "terminal": index not in outgoing, "count": int(counts.get(index, 0))}
            for index, name in enumerate(states)
        ],
        "steps": steps,
        "agencies": [
            {
                "agency": agency,
                "steps_with_limit": int(total),
                "on_time": int(on_time or 0),
                "on_time_share": _share(int(on_time or 0), int(total)),
            }
            for agency, total, on_time in per_agency
        ],
    }
    return json_answer(request, body)
