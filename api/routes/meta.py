"""``/healthz``: is the mirror readable, and how far is it indexed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import query
from api.deps import Db, Strict
from api.errors import MirrorUnavailableError
from api.responses import json_answer, problem_answer
from api.schemas import HealthPublic

router = APIRouter(tags=["meta"], dependencies=[Strict])


@router.get("/healthz", response_model=HealthPublic, summary="Liveness and mirror readiness")
async def health(request: Request, mirror: Db) -> Response:
    try:
        block_number = await query.checkpoint_block(mirror)
    except MirrorUnavailableError as exc:
        return problem_answer(503, "Service Unavailable", exc.detail)
    return json_answer(request, {"status": "ok", "block_number": block_number})
