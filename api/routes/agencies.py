"""``/v1/agencies``: the registered agencies, their recorder keys and budget totals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.cursor import decode_cursor, encode_cursor
from api.deps import Cursor, Limit, PathCode, Strict
from api.errors import NotFoundError
from api.render import money, provenance
from api.responses import json_answer
from api.schemas import AgencyDetailPublic, AgencyListPublic

router = APIRouter(prefix="/v1/agencies", tags=["agencies"], dependencies=[Strict])

_SELECT = """
SELECT a.code, a.name, a.name_en, a.ministry_code,
  a.seq, e.head, e.tx_hash, e.block_number, e.block_hash, e.log_index, a.block_time
FROM agencies a JOIN events e ON e.seq = a.seq
"""


async def _recorders(request: Request, codes: list[str]) -> dict[str, list[str]]:
    if not codes:
        return {}
    names = {f"c{i}": code for i, code in enumerate(codes)}
    rows = await request.app.state.mirror.fetch_all(
        "SELECT agency_code, address FROM recorders WHERE removed_seq IS NULL AND agency_code IN ("
        + ", ".join(f":{name}" for name in names)
        + ") ORDER BY agency_code, added_seq",
        names,
    )
    found: dict[str, list[str]] = {code: [] for code in codes}
    for agency, address in rows:
        found[agency].append(address)
    return found


def _agency(row: Any, recorders: list[str]) -> dict[str, Any]:
    code, name, name_en, ministry, seq, head, tx_hash, block_number, block_hash, log_index, at = row
    return {
        "code": code,
        "name": name,
        "name_en": name_en,
        "ministry": ministry,
        "recorders": recorders,
        "registered": provenance(seq, head, tx_hash, block_number, block_hash, log_index, at),
    }


@router.get("", response_model=AgencyListPublic, summary="Registered agencies, by code")
async def list_agencies(request: Request, limit: Limit = 50, cursor: Cursor | None = None) -> Response:
    secret = request.app.state.settings.cursor_secret
    params: dict[str, Any] = {"limit": limit + 1}
    where = ""
    if cursor is not None:
        (params["after"],) = decode_cursor(secret, "agencies", cursor, (str,))
        where = "WHERE a.code > :after"
    rows = await request.app.state.mirror.fetch_all(f"{_SELECT} {where} ORDER BY a.code LIMIT :limit", params)
    more = len(rows) > limit
    rows = rows[:limit]
    recorders = await _recorders(request, [row[0] for row in rows])
    items = [_agency(row, recorders[row[0]]) for row in rows]
    next_cursor = encode_cursor(secret, "agencies", [rows[-1][0]]) if more else None
    return json_answer(request, {"items": items, "next_cursor": next_cursor})


# ``:path``: agency codes may contain "/" (``MOE/OBEC``); PathCode still checks the whole code.
@router.get("/{code:path}", response_model=AgencyDetailPublic, summary="One agency with its budget totals")
async def get_agency(request: Request, code: PathCode) -> Response:
    mirror = request.app.state.mirror
    row = await mirror.fetch_one(f"{_SELECT} WHERE a.code = :code", {"code": code})
    if row is None:
        raise NotFoundError(f"no agency with code {code!r}")
    totals = await mirror.fetch_one(
        "SELECT COUNT(*), COALESCE(SUM(allocation), 0), COALESCE(SUM(disbursed), 0), COALESCE(SUM(reversed), 0),"
        " COALESCE(SUM(net), 0) FROM projects WHERE agency_code = :code",
        {"code": code},
    )
    assert totals is not None
    count, allocated, disbursed, reversed_, net = (int(value) for value in totals)
    recorders = await _recorders(request, [code])
    body = _agency(row, recorders[code]) | {
        "project_count": count,
        "allocated": money(allocated),
        "disbursed": money(disbursed),
        "reversed": money(reversed_),
        "net": money(net),
    }
    return json_answer(request, body)
