"""``/v1/checkpoint``: how far the mirror goes, and the one string two mirrors compare."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import query
from api.deps import Db, Strict
from api.query import CheckpointState
from api.responses import json_answer
from api.schemas import CheckpointPublic

router = APIRouter(prefix="/v1", tags=["checkpoint"], dependencies=[Strict])


def _body(state: CheckpointState) -> dict[str, Any]:
    return {
        "chain_id": state.chain_id,
        "contracts": {"GovLedger": state.contract},
        "block_number": state.block_number,
        "block_hash": state.block_hash,
        "ledger_seq": state.ledger_seq,
        "ledger_head": state.ledger_head,
        "mirror_digest": state.mirror_digest,
    }


@router.get("/checkpoint", response_model=CheckpointPublic, summary="Indexed block, ledger head, mirror digest")
async def checkpoint(request: Request, mirror: Db) -> Response:
    state = await query.checkpoint(mirror, request.app.state.digest_cache)
    unheld = [cell._asdict() for cell in await query.unheld(mirror)]
    return json_answer(request, {**_body(state), "unheld": unheld})
