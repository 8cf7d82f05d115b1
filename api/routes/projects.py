"""``/v1/projects``: projects with their allocations and running totals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api import query
from api.deps import Code, Cursor, Db, FiscalYear, Limit, PathCode, Strict
from api.errors import NotFoundError
from api.query import Project
from api.render import iso_utc, money, provenance
from api.responses import json_answer
from api.schemas import ProjectDetailPublic, ProjectListPublic

router = APIRouter(prefix="/v1/projects", tags=["projects"], dependencies=[Strict])

SearchText = Annotated[
    str,
    Query(
        min_length=1,
        max_length=100,
        # No control characters: a NUL would end the pattern early in SQLite and is refused by PostgreSQL.
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Words in the project's name or code, or its agency's Thai or English name (case-insensitive)",
    ),
]


def _project(project: Project) -> dict[str, Any]:
    return {
        "code": project.code,
        "agency": project.agency,
        "fiscal_year": project.fiscal_year,
        "name": project.name,
        "allocation": money(project.allocation),
        "net": money(project.net),
        "remaining": money(project.remaining),
        "last_activity_at": iso_utc(project.last_activity_time),
    }


@router.get("", response_model=ProjectListPublic, summary="Projects, by code, filtered")
async def list_projects(
    request: Request,
    mirror: Db,
    agency: Code | None = None,
    fiscal_year: FiscalYear | None = None,
    q: SearchText | None = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> Response:
    secret = request.app.state.settings.cursor_secret
    page = await query.projects(mirror, agency, fiscal_year, q, limit, cursor, secret)
    return json_answer(request, {"items": [_project(p) for p in page.items], "next_cursor": page.next_cursor})


# ``:path``: codes may contain "/"; PathCode still checks the whole code.
@router.get("/{code:path}", response_model=ProjectDetailPublic, summary="One project: allocation, totals, amendments")
async def get_project(request: Request, mirror: Db, code: PathCode) -> Response:
    found = await query.project(mirror, code)
    if found is None:
        raise NotFoundError(f"no project with code {code!r}")
    body = _project(found.project) | {
        "initial_allocation": money(found.initial_allocation),
        "disbursed": money(found.disbursed),
        "reversed": money(found.reversed),
        "disbursement_count": found.disbursement_count,
        "reversal_count": found.reversal_count,
        "amendment_count": found.amendment_count,
        "last_activity_seq": found.last_activity_seq,
        "last_activity_block": found.last_activity_block,
        "registered": provenance(*found.registered),
        "amendments": [
            {
                "ledger_seq": a.seq,
                "previous_allocation": money(a.previous_allocation),
                "new_allocation": money(a.new_allocation),
                "reason": a.reason,
                "tx_hash": a.tx_hash,
                "block_number": a.block_number,
                "recorded_at": iso_utc(a.block_time),
            }
            for a in found.amendments
        ],
    }
    return json_answer(request, body)
