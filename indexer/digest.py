"""The mirror digest: one SHA-256 that two mirrors of the same chain share.

It covers every row of ``events`` in ledger order (``seq``), each serialised as one
tab-separated line:

    seq  event  block_number  block_hash  tx_hash  tx_index  log_index  head  fields\\n

where ``fields`` is the canonical JSON the indexer stored (sorted keys, no spaces) and hashes
are lowercase ``0x``-hex. Projections are not hashed: they are a function of these rows, and
the auditor checks them by rebuilding. The API (``/v1/checkpoint``) and the auditor call
``mirror_digest``; SQLite and PostgreSQL mirrors of one chain give the same value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, create_engine, text

from indexer.db import sqlalchemy_url

DIGEST_QUERY = "SELECT seq, event, block_number, block_hash, tx_hash, tx_index, log_index, head, fields FROM events"


def digest_line(row: Iterable[Any]) -> bytes:
    """One event row as the bytes the digest hashes."""
    return ("\t".join(str(value) for value in row) + "\n").encode("utf-8")


def digest_rows(rows: Iterable[Iterable[Any]]) -> str:
    """SHA-256 (hex) over rows already in seq order, each (seq, event, ..., fields)."""
    sha = hashlib.sha256()
    for row in rows:
        sha.update(digest_line(row))
    return sha.hexdigest()


def mirror_digest(engine_or_url: Engine | str, *, upto_block: int | None = None) -> str:
    """The mirror digest (64 hex digits) of the database, optionally only up to a block.

    An empty mirror has the SHA-256 of no bytes.
    """
    owned = isinstance(engine_or_url, str)
    engine = create_engine(sqlalchemy_url(engine_or_url)) if owned else engine_or_url
    try:
        query = DIGEST_QUERY
        params: dict[str, int] = {}
        if upto_block is not None:
            query += " WHERE block_number <= :upto"
            params["upto"] = upto_block
        query += " ORDER BY seq"
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(text(query), params)
            return digest_rows(result)
    finally:
        if owned:
            engine.dispose()
