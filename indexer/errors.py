"""Errors raised by the indexer package.

IndexerError
 ├── DecodeError            a log from our contract that cannot be decoded (never skipped)
 │    └── UnknownEventError the log's topic0 is none of our events
 ├── DatabaseError          the mirror database is unreachable, unmigrated or inconsistent
 ├── RpcError               the node kept failing after every retry, or answered nonsense
 ├── ChainChangedError      the node's chain changed under a fetch (retried internally)
 ├── GapError               the events fetched do not continue the mirror's ledger sequence
 ├── ReorgTooDeepError      a reorg deeper than the configured window; nothing was changed
 └── WrongChainError        the node or database belongs to another chain or deployment
"""

from __future__ import annotations


class IndexerError(Exception):
    """Root of every error raised by ``indexer``."""


class DecodeError(IndexerError):
    """A log emitted by our contract could not be decoded."""


class UnknownEventError(DecodeError):
    """A log's topic0 matches none of the GovLedger events."""


class DatabaseError(IndexerError):
    """The mirror database cannot be used."""


class RpcError(IndexerError):
    """The JSON-RPC node failed after every retry or answered something malformed."""


class ChainChangedError(IndexerError):
    """The node's chain changed while a range was being fetched; the range is fetched again."""


class GapError(IndexerError):
    """Fetched events skip or repeat ledger sequence numbers the mirror does not have."""


class ReorgTooDeepError(IndexerError):
    """A reorganisation reaches below the reorg window; the mirror was left untouched."""


class WrongChainError(IndexerError):
    """The node, deployment and database disagree about which chain or contract this is."""
