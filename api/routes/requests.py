"""``/v1/requests/{tracking_code}``: a service request's timeline, with the legal deadline of each step.

Nothing personal is shown (not even the applicant commitment), and an unknown code gets the same
plain 404 whatever the reason, so probing reveals nothing.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import Strict, TrackingCode
from api.errors import NotFoundError
from api.render import iso_utc
from api.responses import json_answer
from api.schemas import RequestPublic
from ledger.types import ValueFormatError, decode_tracking, encode_tracking
from ledger.workdays import bangkok_date, working_days_between

router = APIRouter(prefix="/v1/requests", tags=["requests"], dependencies=[Strict])


async def chain_time(request: Request) -> int:
    """Time of the latest indexed block: "now" for deadlines, so every mirror of a chain agrees."""
    row = await request.app.state.mirror.fetch_one(
        "SELECT b.timestamp FROM checkpoint c JOIN blocks b ON b.number = c.block_number WHERE c.id = 1"
    )
    return int(row[0]) if row else int(time.time())


def step_status(limit: int | None, deadline: date | None, end: date, closed: bool, on_time: bool | None) -> str:
    if limit is None or deadline is None:
        return "no-limit"
    if closed:
        return "met" if on_time or (on_time is None and end <= deadline) else "overdue"
    return "overdue" if end > deadline else "open"


@router.get("/{tracking_code}", response_model=RequestPublic, summary="A request's status timeline with deadlines")
async def get_request(request: Request, tracking_code: TrackingCode) -> Response:
    not_found = NotFoundError("no such request")
    try:
        code = decode_tracking(encode_tracking(tracking_code))
    except ValueFormatError:
        raise not_found from None
    mirror = request.app.state.mirror
    head = await mirror.fetch_one(
        "SELECT r.service_code, r.agency_code, r.state_name, r.terminal, r.opened_time, r.deadline, r.overdue,"
        " s.states, s.time_limit_days FROM requests r JOIN services s ON s.code = r.service_code"
        " WHERE r.tracking_code = :code",
        {"code": code},
    )
    if head is None:
        raise not_found
    service, agency, state, terminal, opened_time, deadline, overdue, states_json, limits_json = head
    states: list[str] = orjson.loads(states_json)
    limits: list[int] = orjson.loads(limits_json)
    transitions = await mirror.fetch_all(
        "SELECT from_state, to_state, agency_code, reason, from_time, deadline, on_time, block_time"
        " FROM request_transitions WHERE tracking_code = :code ORDER BY seq",
        {"code": code},
    )
    now = await chain_time(request)
    steps: list[dict[str, Any]] = []
    # (state index, entered at, entered by, reason) of the step currently being walked.
    current = (0, opened_time, agency, "opened")
    for _from_state, to_state, by, reason, _from_time, step_deadline, on_time, at in transitions:
        steps.append(_step(states, limits, current, at, _as_date(step_deadline), on_time))
        current = (to_state, at, by, reason)
    steps.append(_step(states, limits, current, None, _as_date(deadline) if not terminal else None, None, now))
    body = {
        "tracking_code": code,
        "service": service,
        "agency": agency,
        "state": state,
        "terminal": bool(terminal),
        "opened_at": iso_utc(opened_time),
        "deadline": _as_date(deadline).isoformat() if deadline is not None and not terminal else None,
        "overdue": bool(overdue) and not terminal,
        "steps": steps,
    }
    return json_answer(request, body)


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
) -> dict[str, Any]:
    index, entered_at, by, reason = current
    limit = limits[index] if index < len(limits) and limits[index] > 0 else None
    entered = bangkok_date(entered_at)
    end = bangkok_date(left_at if left_at is not None else (now or entered_at))
    closed = left_at is not None
    status = step_status(limit, deadline, end, closed, None if on_time is None else bool(on_time))
    overdue_days = working_days_between(deadline, end) if deadline is not None and status == "overdue" else 0
    return {
        "state": states[index] if index < len(states) else str(index),
        "entered_at": iso_utc(entered_at),
        "entered_by": by,
        "reason": reason,
        "left_at": iso_utc(left_at) if left_at is not None else None,
        "time_limit_working_days": limit,
        "deadline": deadline.isoformat() if deadline is not None and limit is not None else None,
        "working_days_taken": working_days_between(entered, end),
        "status": status,
        "overdue_working_days": overdue_days,
    }
