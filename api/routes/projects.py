"""``/v1/projects``: projects with their allocations and running totals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.cursor import decode_cursor, encode_cursor
from api.deps import Code, Cursor, FiscalYear, Limit, PathCode, Strict
from api.errors import NotFoundError
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

_COLUMNS = "p.code, p.agency_code, p.fiscal_year, p.name, p.allocation, p.net, p.remaining, p.last_activity_time"


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _project(row: Any) -> dict[str, Any]:
    code, agency, fiscal_year, name, allocation, net, remaining, last_time = row[:8]
    return {
        "code": code,
        "agency": agency,
        "fiscal_year": fiscal_year,
        "name": name,
        "allocation": money(allocation),
        "net": money(net),
        "remaining": money(remaining),
        "last_activity_at": iso_utc(last_time),
    }


@router.get("", response_model=ProjectListPublic, summary="Projects, by code, filtered")
async def list_projects(
    request: Request,
    agency: Code | None = None,
    fiscal_year: FiscalYear | None = None,
    q: SearchText | None = None,
    limit: Limit = 50,
    cursor: Cursor | None = None,
) -> Response:
    secret = request.app.state.settings.cursor_secret
    clauses: list[str] = []
    params: dict[str, Any] = {"limit": limit + 1}
    if agency is not None:
        clauses.append("p.agency_code = :agency")
        params["agency"] = agency
    if fiscal_year is not None:
        clauses.append("p.fiscal_year = :fiscal_year")
        params["fiscal_year"] = fiscal_year
    join = ""
    if q is not None:
        join = "JOIN agencies a ON a.code = p.agency_code"
        clauses.append(
            "(lower(p.name) LIKE :q ESCAPE '\\' OR lower(p.code) LIKE :q ESCAPE '\\'"
            " OR lower(a.name) LIKE :q ESCAPE '\\' OR lower(a.name_en) LIKE :q ESCAPE '\\')"
        )
        params["q"] = _like(q)
    scope = f"projects\0{agency}\0{fiscal_year}\0{q}"
    if cursor is not None:
        (params["after"],) = decode_cursor(secret, scope, cursor, (str,))
        clauses.append("p.code > :after")
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await request.app.state.mirror.fetch_all(
        f"SELECT {_COLUMNS} FROM projects p {join} {where} ORDER BY p.code LIMIT :limit", params
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(secret, scope, [rows[-1][0]]) if more else None
    return json_answer(request, {"items": [_project(row) for row in rows], "next_cursor": next_cursor})


# ``:path``: codes may contain "/"; PathCode still checks the whole code.
@router.get("/{code:path}", response_model=ProjectDetailPublic, summary="One project: allocation, totals, amendments")
async def get_project(request: Request, code: PathCode) -> Response:
    mirror = request.app.state.mirror
    row = await mirror.fetch_one(
        f"SELECT {_COLUMNS}, p.initial_allocation, p.disbursed, p.reversed, p.disbursement_count, p.reversal_count,"
        " p.amendment_count, p.last_activity_seq, p.last_activity_block,"
        " p.seq, e.head, e.tx_hash, e.block_number, e.block_hash, e.log_index, p.block_time"
        " FROM projects p JOIN events e ON e.seq = p.seq WHERE p.code = :code",
        {"code": code},
    )
    if row is None:
        raise NotFoundError(f"no project with code {code!r}")
    amendments = await mirror.fetch_all(
        "SELECT seq, previous_allocation, new_allocation, reason, tx_hash, block_number, block_time"
        " FROM allocation_amendments WHERE project_code = :code ORDER BY seq",
        {"code": code},
    )
    (initial, disbursed, reversed_, n_disbursed, n_reversed, n_amended, last_seq, last_block) = row[8:16]
    body = _project(row) | {
        "initial_allocation": money(initial),
        "disbursed": money(disbursed),
        "reversed": money(reversed_),
        "disbursement_count": n_disbursed,
        "reversal_count": n_reversed,
        "amendment_count": n_amended,
        "last_activity_seq": last_seq,
        "last_activity_block": last_block,
        "registered": provenance(*row[16:23]),
        "amendments": [
            {
                "ledger_seq": seq,
                "previous_allocation": money(previous),
                "new_allocation": money(new),
                "reason": reason,
                "tx_hash": tx_hash,
                "block_number": block_number,
                "recorded_at": iso_utc(at),
            }
            for seq, previous, new, reason, tx_hash, block_number, at in amendments
        ],
    }
    return json_answer(request, body)
