"""``/v1/agencies``: the registered agencies, their recorder keys and budget totals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import query
from api.deps import Cursor, Db, Limit, PathCode, Strict
from api.errors import NotFoundError
from api.query import Agency
from api.render import money, provenance
from api.responses import json_answer
from api.schemas import AgencyDetailPublic, AgencyListPublic

router = APIRouter(prefix="/v1/agencies", tags=["agencies"], dependencies=[Strict])


def _agency(agency: Agency) -> dict[str, Any]:
    return {
        "code": agency.code,
        "name": agency.name,
        "name_en": agency.name_en,
        "ministry": agency.ministry,
        "recorders": agency.recorders,
        "registered": provenance(*agency.registered),
    }


@router.get("", response_model=AgencyListPublic, summary="Registered agencies, by code")
async def list_agencies(request: Request, mirror: Db, limit: Limit = 50, cursor: Cursor | None = None) -> Response:
    page = await query.agencies(mirror, limit, cursor, request.app.state.settings.cursor_secret)
    return json_answer(request, {"items": [_agency(agency) for agency in page.items], "next_cursor": page.next_cursor})


# ``:path``: agency codes may contain "/" (``MOE/OBEC``); PathCode still checks the whole code.
@router.get("/{code:path}", response_model=AgencyDetailPublic, summary="One agency with its budget totals")
async def get_agency(request: Request, mirror: Db, code: PathCode) -> Response:
    found = await query.agency(mirror, code)
    if found is None:
        raise NotFoundError(f"no agency with code {code!r}")
    totals = found.totals
    body = _agency(found.agency) | {
        "project_count": totals.projects,
        "allocated": money(totals.allocated),
        "disbursed": money(totals.disbursed),
        "reversed": money(totals.reversed),
        "net": money(totals.net),
    }
    return json_answer(request, body)
