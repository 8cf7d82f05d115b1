"""The values the client sends and reads: projects and disbursements to record, states read
back from the contract, recorded events and mined transactions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.types import (
    MAX_ALLOCATION,
    ValueFormatError,
    canonical_voucher,
    encode_code,
    encode_tracking,
    format_baht,
    parse_baht,
    parse_hash,
)

ZERO32 = b"\0" * 32


def within_cap(satang: int, what: str) -> int:
    """Refuse, before sending, an amount the contract caps (and the mirror could not hold)."""
    if not 0 <= satang <= MAX_ALLOCATION:
        raise ValueFormatError(
            f"{what} {format_baht(satang)} baht is outside 0 to {format_baht(MAX_ALLOCATION)} baht, the ledger's cap"
        )
    return satang


@dataclass(frozen=True)
class ProjectSpec:
    """A project to register: codes as text, allocation in satang."""

    code: str
    agency: str
    fiscal_year: int
    allocation: int
    name: str

    def to_abi(self) -> tuple[Any, ...]:
        return (
            encode_code(self.code, "project code"),
            encode_code(self.agency, "agency code"),
            self.fiscal_year,
            within_cap(self.allocation, f"allocation of project {self.code}"),
            self.name,
        )


@dataclass(frozen=True)
class Disbursement:
    """One payment: project and voucher codes as text, amount in satang, hashes as 32 bytes."""

    project: str
    amount: int
    payee: str
    voucher: str
    document_hash: bytes | None = None
    request: str | None = None  # tracking code as printed

    def __post_init__(self) -> None:
        # What the contract's struct can hold; ``from_text`` refuses typed values more precisely.
        if self.amount <= 0:
            raise ValueFormatError(f"amount of voucher {self.voucher} must be positive")
        within_cap(self.amount, f"amount of voucher {self.voucher}")
        if self.document_hash is not None and len(self.document_hash) != 32:
            raise ValueFormatError("a document hash is 32 bytes")

    @classmethod
    def from_text(
        cls,
        project: str,
        amount: str,
        payee: str,
        voucher: str,
        document_hash: str | bytes | None = None,
        request: str | None = None,
    ) -> Disbursement:
        """A disbursement as a person typed it (CLI arguments or a CSV row), every field checked.

        The amount is baht text (``1,234.50``, Thai digits), the voucher is kept in its canonical
        form, the document hash is 64 hex digits (or the 32 bytes of a file's digest) and the
        request a tracking code. Raises ``ValueFormatError`` naming the field.
        """
        encode_code(project, "project code")
        satang = parse_baht(amount)
        if satang <= 0:
            raise ValueFormatError(f"amount {amount!r} must be positive: a payment must be more than zero")
        encode_code(payee, "payee")
        canonical = canonical_voucher(voucher)
        if isinstance(document_hash, str):
            document_hash = parse_hash(document_hash, "document_hash") if document_hash else None
        if request:
            encode_tracking(request)
        return cls(project, satang, payee, canonical, document_hash, request or None)

    def to_abi(self) -> tuple[Any, ...]:
        return (
            encode_code(self.project, "project code"),
            encode_code(self.voucher, "voucher"),
            self.amount,
            encode_code(self.payee, "payee"),
            self.document_hash or ZERO32,
            encode_tracking(self.request) if self.request else ZERO32,
        )

    def to_words(self) -> bytes:
        """The struct's ABI encoding: six static 32-byte words (what ``to_abi`` encodes to)."""
        # The fields were checked when the value was built (``__post_init__``).
        return b"".join(
            (
                encode_code(self.project, "project code"),
                encode_code(self.voucher, "voucher"),
                self.amount.to_bytes(32, "big"),
                encode_code(self.payee, "payee"),
                self.document_hash or ZERO32,
                encode_tracking(self.request) if self.request else ZERO32,
            )
        )


@dataclass(frozen=True)
class ProjectState:
    code: str
    agency: str
    fiscal_year: int
    allocation: int
    net_disbursed: int

    @property
    def remaining(self) -> int:
        return self.allocation - self.net_disbursed


@dataclass(frozen=True)
class DisbursementState:
    seq: int
    project: str
    amount: int
    reversed: bool


@dataclass(frozen=True)
class RecordedDisbursement:
    """A DisbursementRecorded event, found by its seq (the disbursement's public id)."""

    seq: int
    project: str
    agency: str
    voucher: str
    amount: int
    payee: str
    tx_hash: str
    block_number: int
    document_hash: bytes = ZERO32
    request: bytes = ZERO32  # tracking code as stored (decode_tracking prints it)


@dataclass(frozen=True)
class RequestState:
    tracking_code: str
    service: str
    agency: str
    state: int


@dataclass
class TxResult:
    """A mined, successful transaction and the ledger seqs it produced."""

    tx_hash: str
    block_number: int
    gas_used: int
    seqs: list[int] = field(default_factory=list)
    contract_address: str | None = None
