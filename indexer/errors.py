"""Errors raised by the indexer package.

IndexerError
 ├── DecodeError            a log from our contract that cannot be decoded (never skipped)
 │    └── UnknownEventError the log's topic0 is none of our events
 ├── DatabaseError          the mirror database is unreachable, unmigrated or inconsistent
 ├── ChainChangedError      the node's chain changed under a fetch (retried internally)
 ├── GapError               the events fetched do not continue the mirror's ledger sequence
 ├── ReorgTooDeepError      a reorg deeper than the configured window; nothing was changed
 └── WrongChainError        the node or database belongs to another chain or deployment

The node failing (it kept failing after every retry, or answered nonsense) is the JSON-RPC
layer's one error, ``ledger.errors.RpcError``, re-exported here.
"""

from __future__ import annotations

from ledger.errors import RpcError as RpcError  # the shared layer's error, raised by the indexer too


class IndexerError(Exception):
    """Root of every error raised by ``indexer``."""


class DecodeError(IndexerError):
    """A log emitted by our contract could not be decoded."""


class UnknownEventError(DecodeError):
    """A log's topic0 matches none of the GovLedger events."""


class DatabaseError(IndexerError):
    """The mirror database cannot be used."""


class ChainChangedError(IndexerError):
    """The node's chain changed while a range was being fetched; the range is fetched again."""


class GapError(IndexerError):
    """Fetched events skip or repeat ledger sequence numbers the mirror does not have."""


class ReorgTooDeepError(IndexerError):
    """A reorganisation reaches below the reorg window; the mirror was left untouched."""


class WrongChainError(IndexerError):
    """The node, deployment and database disagree about which chain or contract this is."""
