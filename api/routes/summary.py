"""``/v1/summary``: a fiscal year's totals, each ministry's and each agency's, summed in SQL.

An agency's ministry is the root of its code (``agencies.ministry_code``): ``MOE/OBEC`` belongs to
``MOE``. A ministry's totals cover every agency under it, its own projects included.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import query
from api.deps import Db, FiscalYear, Strict
from api.query import Totals
from api.render import money
from api.responses import json_answer
from api.schemas import SummaryPublic

router = APIRouter(prefix="/v1", tags=["summary"], dependencies=[Strict])


def _totals(totals: Totals) -> dict[str, Any]:
    return {
        "projects": totals.projects,
        "allocated": money(totals.allocated),
        "disbursed": money(totals.disbursed),
        "reversed": money(totals.reversed),
        "net": money(totals.net),
    }


@router.get("/summary", response_model=SummaryPublic, summary="Totals allocated, disbursed, reversed, net")
async def summary(request: Request, mirror: Db, fiscal_year: FiscalYear | None = None) -> Response:
    found = await query.summary(mirror, fiscal_year)
    body = {
        "fiscal_year": fiscal_year,
        **_totals(found.totals),
        "remaining": money(found.remaining),
        "ministries": [
            {"code": m.code, "name": m.name, "name_en": m.name_en, "agencies": m.agencies, **_totals(m.totals)}
            for m in found.ministries
        ],
        "agencies": [
            {"agency": a.agency, "name": a.name, "ministry": a.ministry, **_totals(a.totals)} for a in found.agencies
        ],
    }
    return json_answer(request, body)
