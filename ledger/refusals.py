"""The contract's refusals in words: each custom error's exception class and one-line message,
built from the decoded values (never from node text)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_utils import keccak, to_checksum_address

from ledger import errors
from ledger.errors import ContractError
from ledger.types import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, decode_code, decode_tracking, format_baht
from ledger.values import ZERO32


def describe_refusal(name: str, values: tuple[Any, ...]) -> tuple[type[ContractError], str]:
    """The exception class and one-line message for a decoded custom error."""
    code = decode_code
    # eth-abi decodes addresses in lower case; people compare them in checksum form.
    v = tuple(
        to_checksum_address(x) if isinstance(x, str) and len(x) == 42 and x.startswith("0x") else x for x in values
    )
    table: dict[str, tuple[type[ContractError], Callable[[], str]]] = {
        "AccessControlUnauthorizedAccount": (
            errors.AccessDeniedError,
            lambda: f"key {v[0]} lacks the {ROLE_NAMES.get(bytes(v[1]), '0x' + bytes(v[1]).hex())} role",
        ),
        "AccessControlEnforcedDefaultAdminDelay": (
            errors.AccessDeniedError,
            lambda: f"the admin hand-over can be accepted only after its delay, from unix time {v[0]}",
        ),
        "AccessControlInvalidDefaultAdmin": (
            errors.AccessDeniedError,
            lambda: f"{v[0]} is not the pending admin; the current admin starts the hand-over first",
        ),
        "RecorderUnknown": (errors.AccessDeniedError, lambda: f"key {v[0]} is not a recorder of any agency"),
        "EnforcedPause": (errors.LedgerPausedError, lambda: "the ledger is paused; ask a pauser to unpause it"),
        "CodeMalformed": (errors.CodeMalformedError, lambda: f"code {code(v[0])} is malformed"),
        "AgencyAlreadyRegistered": (errors.AgencyExistsError, lambda: f"agency {code(v[0])} is already registered"),
        "AgencyUnknown": (errors.AgencyUnknownError, lambda: f"agency {code(v[0])} is not registered"),
        "RecorderAlreadyAssigned": (
            errors.RecorderAssignedError,
            lambda: f"key {v[0]} already records for agency {code(v[1])}",
        ),
        "RecorderNotAssigned": (
            errors.RecorderNotAssignedError,
            lambda: f"key {v[0]} does not record for agency {code(v[1])}",
        ),
        "ProjectAlreadyRegistered": (errors.ProjectExistsError, lambda: f"project {code(v[0])} is already registered"),
        "ProjectUnknown": (errors.ProjectUnknownError, lambda: f"project {code(v[0])} is not registered"),
        "ProjectNotOwned": (
            errors.ProjectNotOwnedError,
            lambda: f"project {code(v[0])} belongs to agency {code(v[1])}, not to {code(v[2])}",
        ),
        "DisbursementOverBudget": (
            errors.OverBudgetError,
            lambda: (
                f"over budget: project {code(v[0])} has {format_baht(v[1])} baht remaining, "
                f"{format_baht(v[2])} requested"
            ),
        ),
        "VoucherAlreadyUsed": (
            errors.VoucherUsedError,
            lambda: f"voucher {code(v[1])} is already recorded for agency {code(v[0])}",
        ),
        "DisbursementUnknown": (
            errors.DisbursementUnknownError,
            lambda: f"agency {code(v[0])} has no disbursement with voucher {code(v[1])}",
        ),
        "DisbursementAlreadyReversed": (
            errors.AlreadyReversedError,
            lambda: f"the disbursement with voucher {code(v[1])} of agency {code(v[0])} is already reversed",
        ),
        "DisbursementAmountZero": (
            ContractError,
            lambda: f"amount of voucher {code(v[1])} on project {code(v[0])} is zero",
        ),
        "AllocationBelowDisbursed": (
            ContractError,
            lambda: (
                f"project {code(v[0])} has {format_baht(v[1])} baht disbursed; "
                f"the allocation cannot go down to {format_baht(v[2])}"
            ),
        ),
        "RequestUnknown": (
            errors.RequestUnknownError,
            lambda: f"no request with tracking code {decode_tracking(v[0])}",
        ),
        "LinkedRequestUnknown": (
            errors.RequestUnknownError,
            lambda: f"the linked request {decode_tracking(v[0])} does not exist",
        ),
        "TransitionNotAllowed": (
            errors.TransitionError,
            lambda: f"request {decode_tracking(v[0])}: transition {v[1]} -> {v[2]} is not in the service table",
        ),
        "TransitionRoleMissing": (
            errors.TransitionError,
            lambda: f"request {decode_tracking(v[0])}: agency {code(v[2])} does not hold role {v[1]} for this step",
        ),
        "FiscalYearInvalid": (
            ContractError,
            lambda: f"fiscal year {v[0]} is not a B.E. year in {MIN_FISCAL_YEAR}..{MAX_FISCAL_YEAR}",
        ),
        "AllocationTooLarge": (ContractError, lambda: f"allocation {v[0]} satang is too large"),
        "ReasonMissing": (ContractError, lambda: "a reason is required"),
        "BatchEmpty": (ContractError, lambda: "the batch is empty"),
        "VoucherMissing": (ContractError, lambda: "the voucher is empty"),
        "RecorderAddressZero": (ContractError, lambda: "the recorder address is zero"),
        "ServiceUnknown": (ContractError, lambda: f"service {code(v[0])} is not defined"),
        "ServiceAlreadyDefined": (ContractError, lambda: f"service {code(v[0])} is already defined"),
        "ServiceRoleUnknown": (ContractError, lambda: f"service {code(v[0])} has no grantable role {v[1]}"),
        "RequestAlreadyOpened": (ContractError, lambda: f"request {decode_tracking(v[0])} is already open"),
    }
    cls, message = table.get(name, (ContractError, lambda: f"the contract refused: {name}{tuple(v)!r}"))
    return cls, message()


ROLE_NAMES = {
    bytes(keccak(text="REGISTRAR_ROLE")): "registrar",
    bytes(keccak(text="PAUSER_ROLE")): "pauser",
    ZERO32: "admin",
}
ROLES = {name: role for role, name in ROLE_NAMES.items()}
