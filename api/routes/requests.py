"""``/v1/requests/{tracking_code}``: a service request's timeline, with the legal deadline of each step.

Nothing personal is shown (not even the applicant commitment), and an unknown code gets the same
plain 404 whatever the reason, so probing reveals nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import query
from api.deps import Db, Strict, TrackingCode
from api.errors import NotFoundError
from api.query import Step
from api.render import iso_utc
from api.responses import json_answer
from api.schemas import RequestPublic
from ledger.types import ValueFormatError, decode_tracking, encode_tracking

router = APIRouter(prefix="/v1/requests", tags=["requests"], dependencies=[Strict])


def _step(step: Step) -> dict[str, Any]:
    return {
        "state": step.state,
        "entered_at": iso_utc(step.entered_at),
        "entered_by": step.entered_by,
        "reason": step.reason,
        "left_at": iso_utc(step.left_at) if step.left_at is not None else None,
        "time_limit_working_days": step.time_limit_working_days,
        "deadline": step.deadline.isoformat() if step.deadline is not None else None,
        "working_days_taken": step.working_days_taken,
        "status": step.status,
        "overdue_working_days": step.overdue_working_days,
    }


@router.get("/{tracking_code}", response_model=RequestPublic, summary="A request's status timeline with deadlines")
async def get_request(request: Request, mirror: Db, tracking_code: TrackingCode) -> Response:
    not_found = NotFoundError("no such request")
    try:
        code = decode_tracking(encode_tracking(tracking_code))
    except ValueFormatError:
        raise not_found from None
    found = await query.service_request(mirror, code)
    if found is None:
        raise not_found
    body = {
        "tracking_code": found.tracking_code,
        "service": found.service,
        "agency": found.agency,
        "state": found.state,
        "terminal": found.terminal,
        "opened_at": iso_utc(found.opened_at),
        "deadline": found.deadline.isoformat() if found.deadline is not None else None,
        "overdue": found.overdue,
        "steps": [_step(step) for step in found.steps],
    }
    return json_answer(request, body)
