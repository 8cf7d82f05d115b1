"""Errors raised by the ledger package.

LedgerError
 ├── CompileError          the Solidity compiler failed or is missing
 ├── SettingsError         a setting is missing or malformed
 ├── KeyError_             (see keys.py) no usable signing key
 └── ...                   contract errors are added by ledger.client
"""

from __future__ import annotations


class LedgerError(Exception):
    """Root of every error raised by ``ledger``."""


class CompileError(LedgerError):
    """The Solidity compiler failed, or is not installed."""


class SettingsError(LedgerError):
    """A setting is missing or malformed."""
