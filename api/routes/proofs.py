"""``/v1/proofs/...``: a citizen's self-contained proof that one entry is in the chain.

The proof (``audit.proof``) holds the entry's receipt, its receipt-trie path and the
header chain up to the block this mirror is indexed to; ``govledger audit verify-proof FILE``
checks it offline. Headers and receipts are not in the mirror, so this route reads them from
the node in ``GOVLEDGER_RPC_URL`` (standard ``eth_*`` calls only).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api import query
from api.database import Mirror
from api.deps import Db, Strict, TrackingCode
from api.errors import MirrorUnavailableError, NotFoundError
from api.responses import json_answer
from ledger.errors import LedgerError
from ledger.types import ValueFormatError, decode_tracking, encode_tracking

router = APIRouter(prefix="/v1/proofs", tags=["proofs"], dependencies=[Strict])

Seq = Annotated[int, Path(ge=1, le=2**63 - 1, description="Ledger sequence number of the entry")]


def _build(seq: int, checkpoint: int) -> dict[str, Any]:
    from audit.proof import build_proof
    from audit.source import HttpSource
    from ledger.deployment import load_deployment
    from ledger.settings import get_settings

    settings = get_settings()
    deployment = load_deployment(settings.deployment)
    return build_proof(
        HttpSource(settings.rpc_url, timeout=30), deployment.address, deployment.deploy_block, seq, checkpoint
    )


async def _answer(request: Request, mirror: Mirror, seq: int) -> Response:
    block_number = await query.checkpoint_block(mirror)
    if block_number is None:
        raise MirrorUnavailableError("the mirror has no checkpoint yet")
    try:
        proof = await run_in_threadpool(_build, seq, int(block_number))
    except LedgerError as exc:
        raise MirrorUnavailableError(f"the chain node cannot give the proof now: {exc}") from None
    return json_answer(request, proof)


@router.get("/disbursements/{id}", summary="Proof that a disbursement is in the chain, checkable offline")
async def disbursement_proof(request: Request, mirror: Db, id: Seq) -> Response:  # noqa: A002 (the route's name for it)
    if not await query.disbursement_exists(mirror, id):
        raise NotFoundError("no such disbursement")
    return await _answer(request, mirror, id)


@router.get("/requests/{tracking_code}/{seq}", summary="Proof of one step of a service request")
async def request_proof(request: Request, mirror: Db, tracking_code: TrackingCode, seq: Seq) -> Response:
    not_found = NotFoundError("no such step of that request")
    try:
        code = decode_tracking(encode_tracking(tracking_code))
    except ValueFormatError:
        raise not_found from None
    if not await query.step_exists(mirror, code, seq):
        raise not_found
    return await _answer(request, mirror, seq)
