"""Mirror values in their public form: satang as baht strings, block times as ISO-8601 UTC."""

from __future__ import annotations

import time
from typing import Any

from ledger.types import format_baht

money = format_baht


def iso_utc(timestamp: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def provenance(
    seq: int, head: str, tx_hash: str, block_number: int, block_hash: str, log_index: int, at: int
) -> dict[str, Any]:
    return {
        "ledger_seq": seq,
        "ledger_head": head,
        "tx_hash": tx_hash,
        "block_number": block_number,
        "block_hash": block_hash,
        "log_index": log_index,
        "recorded_at": iso_utc(at),
    }
