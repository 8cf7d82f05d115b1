"""``/v1/checkpoint``: how far the mirror goes, and the one string two mirrors compare."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import Strict
from api.errors import MirrorUnavailableError
from api.responses import json_answer
from api.schemas import CheckpointPublic
from indexer.digest import DIGEST_QUERY, digest_line
from ledger.types import MAX_SATANG

router = APIRouter(prefix="/v1", tags=["checkpoint"], dependencies=[Strict])

_STATE = (
    "SELECT c.chain_id, c.contract, c.block_number, c.block_hash, l.seq, l.head"
    " FROM checkpoint c LEFT JOIN ledger l ON l.id = 1 WHERE c.id = 1"
)
ZERO_HASH = "0x" + "00" * 32
SHOWN_UNHELD = 100

# Money cells holding MAX_SATANG: values the mirror's 64-bit columns cannot hold (indexer/tables.py).
_MONEY = {
    "projects": ("code", ("initial_allocation", "allocation", "disbursed", "reversed", "net", "remaining")),
    "disbursements": ("seq", ("amount",)),
    "reversals": ("seq", ("amount",)),
    "allocation_amendments": ("seq", ("previous_allocation", "new_allocation")),
}
_UNHELD = " UNION ALL ".join(
    f"SELECT '{table}', CAST({key} AS TEXT), '{column}' FROM {table} WHERE {column} = :bound"
    for table, (key, columns) in _MONEY.items()
    for column in columns
)


async def _digest(request: Request) -> str:
    """indexer.digest's SHA-256 over the events, through our read-only handle."""
    sha = hashlib.sha256()
    async for batch in request.app.state.mirror.stream(DIGEST_QUERY + " ORDER BY seq", batch=5000):
        for row in batch:
            sha.update(digest_line(row))
    return sha.hexdigest()


async def mirror_state(request: Request) -> dict[str, Any]:
    """The checkpoint with its digest; the digest is cached per (ledger head, checkpoint block)."""
    mirror = request.app.state.mirror
    cache: dict[tuple[Any, ...], str] = request.app.state.digest_cache
    for _ in range(3):
        row = await mirror.fetch_one(_STATE)
        if row is None:
            raise MirrorUnavailableError("the mirror has not indexed any block yet")
        digest = cache.get(row)
        if digest is None:
            digest = await _digest(request)
            # The indexer commits rows and checkpoint together; if it committed while we were
            # hashing, the digest may straddle two states, so hash again.
            if await mirror.fetch_one(_STATE) != row:
                continue
            cache.clear()
            cache[row] = digest
        chain_id, contract, block_number, block_hash, seq, head = row
        return {
            "chain_id": chain_id,
            "contracts": {"GovLedger": contract},
            "block_number": block_number,
            "block_hash": block_hash,
            "ledger_seq": seq or 0,
            "ledger_head": head or ZERO_HASH,
            "mirror_digest": digest,
        }
    raise MirrorUnavailableError("the mirror is changing too fast to take a consistent checkpoint; retry")


async def unheld(request: Request) -> list[dict[str, str]]:
    """The first money cells the mirror could not hold (the exact values are in the events)."""
    rows = await request.app.state.mirror.fetch_all(f"{_UNHELD} LIMIT {SHOWN_UNHELD}", {"bound": MAX_SATANG})
    return [{"table": table, "key": str(key), "column": column} for table, key, column in rows]


@router.get("/checkpoint", response_model=CheckpointPublic, summary="Indexed block, ledger head, mirror digest")
async def checkpoint(request: Request) -> Response:
    return json_answer(request, {**await mirror_state(request), "unheld": await unheld(request)})
