"""``/v1/summary``: a fiscal year's totals, each ministry's and each agency's, summed in SQL.

An agency's ministry is the root of its code (``agencies.ministry_code``): ``MOE/OBEC`` belongs to
``MOE``. A ministry's totals cover every agency under it, its own projects included.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import FiscalYear, Strict
from api.render import money
from api.responses import json_answer
from api.schemas import SummaryPublic

router = APIRouter(prefix="/v1", tags=["summary"], dependencies=[Strict])

_SUMS = (
    "COUNT(*), COALESCE(SUM(p.allocation), 0), COALESCE(SUM(p.disbursed), 0), COALESCE(SUM(p.reversed), 0),"
    " COALESCE(SUM(p.net), 0)"
)


def _totals(values: Any) -> dict[str, Any]:
    count, allocated, disbursed, reversed_, net = (int(value) for value in values)
    return {
        "projects": count,
        "allocated": money(allocated),
        "disbursed": money(disbursed),
        "reversed": money(reversed_),
        "net": money(net),
    }


@router.get("/summary", response_model=SummaryPublic, summary="Totals allocated, disbursed, reversed, net")
async def summary(request: Request, fiscal_year: FiscalYear | None = None) -> Response:
    mirror = request.app.state.mirror
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
    body = {
        "fiscal_year": fiscal_year,
        **_totals(total[:5]),
        "remaining": money(int(total[5])),
        "ministries": [
            {"code": row[0], "name": row[1], "name_en": row[2], "agencies": int(row[3]), **_totals(row[4:])}
            for row in ministries
        ],
        "agencies": [{"agency": row[0], "name": row[1], "ministry": row[2], **_totals(row[3:])} for row in rows],
    }
    return json_answer(request, body)
