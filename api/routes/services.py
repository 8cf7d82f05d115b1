"""``/v1/services/{service}/stats``: how fast agencies move requests, against the legal limits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import query
from api.deps import Db, PathCode, Strict
from api.errors import NotFoundError
from api.responses import json_answer
from api.schemas import ServiceStatsPublic

router = APIRouter(prefix="/v1/services", tags=["services"], dependencies=[Strict])


@router.get("/{service}/stats", response_model=ServiceStatsPublic, summary="Counts per state and time per step")
async def service_stats(request: Request, mirror: Db, service: PathCode) -> Response:
    stats = await query.service_stats(mirror, service)
    if stats is None:
        raise NotFoundError(f"no service {service!r}")
    body = {
        "service": stats.service,
        "requests": stats.requests,
        "states": [state._asdict() for state in stats.states],
        "steps": [step._asdict() for step in stats.steps],
        "agencies": [agency._asdict() for agency in stats.agencies],
    }
    return json_answer(request, body)
