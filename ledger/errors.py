"""Errors raised by the ledger package.

LedgerError
 ├── CompileError              the Solidity compiler failed or is missing
 ├── SettingsError             a setting is missing or malformed
 ├── ValueFormatError          (types.py) a code, amount or hash typed by a user is malformed
 ├── NodeError                 (node.py) the local chain could not be started or reached
 ├── SigningKeyError           no usable signing key (keystore missing, wrong password, bad key)
 ├── ApplicantIdError          a national ID failed its check digit (the ID is never echoed)
 ├── DeploymentExistsError     a live deployment is recorded; `govledger deploy --force` replaces it
 ├── ImportFileError           a CSV file cannot be read at all (missing, wrong header, not UTF-8)
 ├── InputError                a command-line value is invalid (printed as one line by `govledger`)
 ├── RpcError                  (rpc.py) the node failed: unreachable, kept failing, or a JSON-RPC error
 │    └── ChainMismatchError   the node's chain id is not the deployment's
 ├── TransactionError          a sent transaction failed; always carries its hash
 │    ├── TransactionTimeoutError    it was not mined in time
 │    └── TransactionRevertedError   it reverted without a reason we can decode
 └── ContractError             the contract refused, decoded from its custom error (``.error``, ``.values``)
      ├── AccessDeniedError          AccessControlUnauthorizedAccount, RecorderUnknown
      ├── LedgerPausedError          EnforcedPause
      ├── CodeMalformedError         CodeMalformed
      ├── AgencyExistsError          AgencyAlreadyRegistered
      ├── AgencyUnknownError         AgencyUnknown
      ├── RecorderAssignedError      RecorderAlreadyAssigned
      ├── RecorderNotAssignedError   RecorderNotAssigned
      ├── ProjectExistsError         ProjectAlreadyRegistered
      ├── ProjectUnknownError        ProjectUnknown
      ├── ProjectNotOwnedError       ProjectNotOwned
      ├── OverBudgetError            DisbursementOverBudget (project, remaining, requested)
      ├── VoucherUsedError           VoucherAlreadyUsed
      ├── DisbursementUnknownError   DisbursementUnknown (and an unknown disbursement id)
      ├── AlreadyReversedError       DisbursementAlreadyReversed
      ├── RequestUnknownError        RequestUnknown, LinkedRequestUnknown
      └── TransitionError            TransitionNotAllowed, TransitionRoleMissing

Contract errors are raised only by ``ledger.client``, which decodes them by their 4-byte
selector from the ABI; the message is built from the decoded values, never from node text.
"""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """Root of every error raised by ``ledger``."""


class CompileError(LedgerError):
    """The Solidity compiler failed, or is not installed."""


class SettingsError(LedgerError):
    """A setting is missing or malformed."""


class SigningKeyError(LedgerError):
    """No usable signing key: keystore missing or unreadable, wrong password, malformed key."""


class ApplicantIdError(LedgerError, ValueError):
    """A Thai national ID failed validation. The message never contains the ID."""


class DeploymentExistsError(LedgerError):
    """The deployment file points at contract code that is live on this chain."""


class ImportFileError(LedgerError):
    """A CSV file cannot be imported at all (as opposed to individual refused rows)."""


class InputError(LedgerError, ValueError):
    """A value given on the command line is invalid; the message says which and why."""


class RpcError(LedgerError):
    """The node failed: it could not be reached, kept failing after every retry, answered
    something that is not JSON-RPC, or answered a JSON-RPC error object.

    ``method`` is the JSON-RPC method (several, comma-separated, for a batch); ``code``,
    ``message`` and ``data`` are the node's error object as sent (None when there was none).
    """

    def __init__(
        self,
        text: str,
        *,
        method: str | None = None,
        code: int | None = None,
        message: str | None = None,
        data: Any = None,
    ) -> None:
        super().__init__(text)
        self.method = method
        self.code = code
        self.message = message
        self.data = data


class ChainMismatchError(RpcError):
    """The node serves another chain than the one in the deployment file."""


class TransactionError(LedgerError):
    """A transaction was sent but did not succeed; ``tx_hash`` says which one."""

    def __init__(self, message: str, tx_hash: str) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash


class TransactionTimeoutError(TransactionError):
    """A transaction was not mined within the timeout."""


class TransactionRevertedError(TransactionError):
    """A mined transaction reverted and no custom error could be decoded."""


class ContractError(LedgerError):
    """The contract refused a call with one of its custom errors.

    ``error`` is the Solidity error name, ``values`` its decoded arguments (ABI types),
    ``tx_hash`` the failed transaction when one was mined (None for a refused preflight).
    """

    def __init__(self, message: str, error: str, args: tuple[Any, ...], tx_hash: str | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.values = args
        self.tx_hash = tx_hash


class AccessDeniedError(ContractError):
    """The signing key lacks the role (registrar, pauser) or is no agency's recorder."""


class LedgerPausedError(ContractError):
    """The ledger is paused; nothing can be recorded until a pauser unpauses it."""


class CodeMalformedError(ContractError):
    """A code is not 1-32 characters of [A-Za-z0-9._/-]."""


class AgencyExistsError(ContractError):
    """The agency code is already registered."""


class AgencyUnknownError(ContractError):
    """No agency is registered under the code."""


class RecorderAssignedError(ContractError):
    """The key already records for an agency."""


class RecorderNotAssignedError(ContractError):
    """The key does not record for that agency."""


class ProjectExistsError(ContractError):
    """The project code is already registered."""


class ProjectUnknownError(ContractError):
    """No project is registered under the code."""


class ProjectNotOwnedError(ContractError):
    """The project belongs to another agency than the signer's."""


class OverBudgetError(ContractError):
    """A disbursement exceeds the project's remaining allocation."""

    @property
    def project(self) -> str:
        from ledger.types import decode_code

        return decode_code(self.values[0])

    @property
    def remaining(self) -> int:
        return int(self.values[1])

    @property
    def requested(self) -> int:
        return int(self.values[2])


class VoucherUsedError(ContractError):
    """The agency already recorded a disbursement under the voucher."""


class DisbursementUnknownError(ContractError):
    """No disbursement under that voucher or id."""


class AlreadyReversedError(ContractError):
    """The disbursement was reversed before; a reversal happens at most once."""


class RequestUnknownError(ContractError):
    """No service request under the tracking code."""


class TransitionError(ContractError):
    """The requested state change is not in the service table, or the agency lacks its role."""
