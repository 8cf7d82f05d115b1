"""Errors raised by the auditor.

AuditError                  (a LedgerError, so the CLI prints it as one line)
 ├── BundleError            the bundle is missing, truncated, or a file's SHA-256 differs
 ├── HeaderError            a header does not hash to its hash, or the parent chain breaks
 ├── ReceiptError           receipts do not rebuild a block's receiptsRoot, or logs differ
 ├── BytecodeError          deployed code differs from what the committed sources compile to
 ├── ReplayError            the events break a ledger rule or the running head
 ├── MirrorError            the mirror differs from the one rebuilt from the bundle
 ├── ProofError             a citizen proof does not verify
 └── SourceError            the API could not be read
"""

from __future__ import annotations

from ledger.errors import LedgerError


class AuditError(LedgerError):
    """Root of every error raised by ``audit``."""


class BundleError(AuditError):
    """The bundle is missing, truncated, or a file's SHA-256 differs from the manifest."""


class HeaderError(AuditError):
    """A header does not hash to its recorded hash, or the parent chain is broken."""


class ReceiptError(AuditError):
    """A block's receipts do not rebuild its receiptsRoot, or the logs differ from them."""


class BytecodeError(AuditError):
    """The deployed bytecode differs from what the committed sources compile to."""


class ReplayError(AuditError):
    """The events break a ledger rule, or the recomputed head differs from the chain's."""


class MirrorError(AuditError):
    """The target mirror differs from the one rebuilt from the bundle."""


class ProofError(AuditError):
    """A citizen proof does not verify."""


class SourceError(AuditError):
    """The API could not be read (a JSON-RPC node failing is ``ledger.errors.RpcError``)."""
