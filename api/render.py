"""Mirror values in their public form: satang as baht strings, block times as ISO-8601 UTC."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from ledger.types import format_baht


def money(satang: int) -> str:
    """``ledger.types.format_baht``, inlined for the common non-negative case (list hot path)."""
    if satang >= 0:
        return f"{satang // 100}.{satang % 100:02d}"
    return format_baht(satang)


@lru_cache(maxsize=65536)
def iso_utc(timestamp: int) -> str:
    # Cached: a page of entries shares a handful of block times.
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
