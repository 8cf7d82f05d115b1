"""The SQL mirror's tables: raw events, the projections citizens read, and sync state.

Conventions every reader can rely on:

- Money is integer satang in BIGINT columns, at most ``ledger.types.MAX_SATANG`` (2**63 - 1). The
  contract caps allocations far below it, but an older deployment allowed 2**128 - 1 and
  a project's gross disbursed and reversed grow with every disburse-and-reverse: a value
  beyond the bound is stored as ``MAX_SATANG`` itself, meaning "at least this" (the exact
  value stays in the event's ``fields``, as a decimal string), and ``/v1/checkpoint`` lists
  it under ``unheld``. ``net`` and ``remaining`` stay exact while they fit.
- Text is the on-chain string when it is valid UTF-8 without NUL (PostgreSQL text cannot
  hold NUL); any other bytes, or a string that itself starts with the marker, are stored as
  ``"\ufffd0x"`` + hex of the bytes (``indexer.decode.text_of``), so two different
  on-chain strings never share a text.
- Block times are Unix seconds (UTC) in ``*_time`` columns; dates (``deadline``) are
  calendar dates in Asia/Bangkok.
- Hashes and addresses are ``0x``-prefixed lowercase hex, except recorder addresses which
  are EIP-55 checksummed; codes are their text (``decode_code``), tracking codes their
  printed Crockford form (``XXXX-XXXX-...``). Bytes that are not a valid code (or tracking
  code) come back as ``0x``-hex of all 32 bytes, never as an error: no two on-chain values
  share a text.
- Every projection row carries the ledger ``seq`` that created (or last changed) it, so
  a keyset cursor can always be ``seq``.

The tables are written only by ``indexer.sync`` (through the raw driver, for speed); the
schema is created by the Alembic migrations in ``indexer/migrations``. Keep both in step.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel


def _big(primary_key: bool = False, nullable: bool = False, index: bool = False) -> object:
    return Field(
        sa_column=Column(BigInteger, primary_key=primary_key, nullable=nullable, index=index, autoincrement=False)
    )


class Event(SQLModel, table=True):
    """Every GovLedger event, decoded; the mirror digest is computed over this table."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_block_number", "block_number"),
        Index("ix_events_event_seq", "event", "seq"),
    )

    seq: int = _big(primary_key=True)  # ledger sequence number, 1, 2, 3 ... without gaps
    event: str = Field(max_length=32)  # e.g. "DisbursementRecorded"
    chain_id: int = _big()
    contract: str = Field(max_length=42)  # emitting address, lowercase hex
    block_number: int = _big()
    block_hash: str = Field(max_length=66)
    tx_hash: str = Field(max_length=66)
    tx_index: int
    log_index: int
    head: str = Field(max_length=66)  # ledger head after this entry
    fields: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON (sorted keys) of decoded fields


class Block(SQLModel, table=True):
    """Headers of blocks that carry events (kept) and of the recent window (for reorgs)."""

    __tablename__ = "blocks"

    number: int = _big(primary_key=True)
    hash: str = Field(max_length=66)
    parent_hash: str = Field(max_length=66)
    timestamp: int = _big()
    log_count: int = 0  # our events in this block; 0-event blocks are pruned below the window


class Checkpoint(SQLModel, table=True):
    """The single row saying how far the mirror is complete (written with the rows it covers)."""

    __tablename__ = "checkpoint"

    id: int = Field(default=1, primary_key=True)
    chain_id: int = _big()
    contract: str = Field(max_length=42)
    block_number: int = _big()  # every event up to and including this block is mirrored
    block_hash: str = Field(max_length=66)


class Ledger(SQLModel, table=True):
    """The single row with the latest ledger entry mirrored."""

    __tablename__ = "ledger"

    id: int = Field(default=1, primary_key=True)
    seq: int = _big()
    head: str = Field(max_length=66)
    block_number: int = _big()


class Agency(SQLModel, table=True):
    """An agency. A code ``PARENT/CHILD`` belongs to ``PARENT``; the root of the code is its ministry."""

    __tablename__ = "agencies"
    __table_args__ = (Index("ix_agencies_ministry", "ministry_code", "code"),)

    code: str = Field(primary_key=True, max_length=66)
    name: str  # Thai name
    name_en: str
    ministry_code: str = Field(max_length=66)  # code before the first "/", or the whole code
    seq: int = _big()
    block_number: int = _big()
    block_time: int = _big()


class Recorder(SQLModel, table=True):
    """One row per RecorderAdded; ``removed_seq`` is set by the matching RecorderRemoved."""

    __tablename__ = "recorders"
    __table_args__ = (Index("ix_recorders_agency", "agency_code", "address"),)

    added_seq: int = _big(primary_key=True)
    agency_code: str = Field(max_length=66)
    address: str = Field(max_length=42)  # EIP-55
    added_block: int = _big()
    added_time: int = _big()
    removed_seq: int | None = _big(nullable=True)
    removed_block: int | None = _big(nullable=True)
    removed_time: int | None = _big(nullable=True)


class Project(SQLModel, table=True):
    """A project with its running totals; ``net = disbursed - reversed``, ``remaining = allocation - net``."""

    __tablename__ = "projects"
    __table_args__ = (
        Index("ix_projects_agency", "agency_code", "code"),
        Index("ix_projects_fiscal_year", "fiscal_year", "code"),
    )

    code: str = Field(primary_key=True, max_length=66)
    agency_code: str = Field(max_length=66)
    fiscal_year: int  # Buddhist Era
    name: str
    initial_allocation: int = _big()
    allocation: int = _big()
    disbursed: int = _big()  # gross, reversed ones included
    reversed: int = _big()
    net: int = _big()
    remaining: int = _big()
    disbursement_count: int = 0
    reversal_count: int = 0
    amendment_count: int = 0
    seq: int = _big()  # ProjectRegistered
    block_number: int = _big()
    block_time: int = _big()
    last_activity_seq: int = _big()
    last_activity_block: int = _big()
    last_activity_time: int = _big()


class AllocationAmendment(SQLModel, table=True):
    __tablename__ = "allocation_amendments"
    __table_args__ = (Index("ix_allocation_amendments_project", "project_code", "seq"),)

    seq: int = _big(primary_key=True)
    project_code: str = Field(max_length=66)
    previous_allocation: int = _big()
    new_allocation: int = _big()
    reason: str
    block_number: int = _big()
    block_time: int = _big()
    tx_hash: str = Field(max_length=66)


class Disbursement(SQLModel, table=True):
    """One row per DisbursementRecorded; the public id is ``seq``."""

    __tablename__ = "disbursements"
    __table_args__ = (
        Index("ix_disbursements_project", "project_code", "seq"),
        Index("ix_disbursements_agency", "agency_code", "seq"),
        Index("ix_disbursements_fiscal_year", "fiscal_year", "seq"),
        Index("ix_disbursements_payee", "payee", "seq"),
        Index("ix_disbursements_amount", "amount", "seq"),
        Index("ix_disbursements_block_time", "block_time", "seq"),
        Index("ux_disbursements_voucher", "agency_code", "voucher", unique=True),
    )

    seq: int = _big(primary_key=True)
    project_code: str = Field(max_length=66)
    agency_code: str = Field(max_length=66)
    fiscal_year: int  # the project's, copied so that filters need no join
    voucher: str = Field(max_length=66)
    amount: int = _big()  # satang
    payee: str = Field(max_length=66)
    document_hash: str | None = Field(default=None, max_length=66)  # None when zero on chain
    request_tracking: str | None = Field(default=None, max_length=66)  # None when zero on chain
    head: str = Field(max_length=66)
    block_number: int = _big()
    block_hash: str = Field(max_length=66)
    block_time: int = _big()
    tx_hash: str = Field(max_length=66)
    log_index: int
    reversed_by_seq: int | None = _big(nullable=True)
    reversal_reason: str | None = None


class Reversal(SQLModel, table=True):
    __tablename__ = "reversals"
    __table_args__ = (
        Index("ix_reversals_original", "original_seq"),
        Index("ix_reversals_project", "project_code", "seq"),
    )

    seq: int = _big(primary_key=True)
    original_seq: int = _big()
    project_code: str = Field(max_length=66)
    agency_code: str = Field(max_length=66)
    voucher: str = Field(max_length=66)
    amount: int = _big()
    reason: str
    head: str = Field(max_length=66)
    block_number: int = _big()
    block_hash: str = Field(max_length=66)
    block_time: int = _big()
    tx_hash: str = Field(max_length=66)
    log_index: int


class Service(SQLModel, table=True):
    """A service definition; list columns hold canonical JSON arrays."""

    __tablename__ = "services"

    code: str = Field(primary_key=True, max_length=66)
    states: str = Field(sa_column=Column(Text, nullable=False))  # ["submitted", ...]
    time_limit_days: str = Field(sa_column=Column(Text, nullable=False))  # [7, 15, ...] working days, 0 = none
    roles: str = Field(sa_column=Column(Text, nullable=False))  # ["owner", ...]
    transitions: str = Field(sa_column=Column(Text, nullable=False))  # [[from, to, role], ...]
    seq: int = _big()
    block_number: int = _big()
    block_time: int = _big()


class ServiceRole(SQLModel, table=True):
    """Current grant of a service role to an agency (the latest ServiceRoleSet wins)."""

    __tablename__ = "service_roles"

    service_code: str = Field(primary_key=True, max_length=66)
    agency_code: str = Field(primary_key=True, max_length=66)
    role: int = Field(primary_key=True)
    role_name: str
    granted: bool
    seq: int = _big()
    block_number: int = _big()


class Request(SQLModel, table=True):
    """A service request's current state; ``deadline`` is the current step's legal limit."""

    __tablename__ = "requests"
    __table_args__ = (
        Index("ix_requests_service_state", "service_code", "state"),
        Index("ix_requests_agency", "agency_code", "opened_seq"),
        Index("ix_requests_overdue", "overdue", "deadline"),
    )

    tracking_code: str = Field(primary_key=True, max_length=66)  # printed form XXXX-XXXX-... (or 0x-hex)
    service_code: str = Field(max_length=66)
    agency_code: str = Field(max_length=66)  # the opening (owner) agency
    applicant_commitment: str = Field(max_length=66)
    state: int
    state_name: str
    terminal: bool
    opened_seq: int = _big()
    opened_block: int = _big()
    opened_time: int = _big()
    state_seq: int = _big()  # entry that moved it into the current state
    state_time: int = _big()  # when it entered the current state
    # Last working day (Bangkok) allowed in the current state: weekends and Thai public
    # holidays skipped; None when the state has no limit or is terminal.
    deadline: date | None = None
    # True once the chain's latest indexed block is past the deadline (chain time, not
    # wall-clock time, so that every mirror of the same chain agrees).
    overdue: bool = False
    transition_count: int = 0


class RequestTransition(SQLModel, table=True):
    """One row per RequestAdvanced, with whether the step it ended was on time."""

    __tablename__ = "request_transitions"
    __table_args__ = (
        Index("ix_request_transitions_tracking", "tracking_code", "seq"),
        Index("ix_request_transitions_service", "service_code", "from_state"),
    )

    seq: int = _big(primary_key=True)
    tracking_code: str = Field(max_length=66)
    service_code: str = Field(max_length=66)
    agency_code: str = Field(max_length=66)  # agency that took the step
    owner_agency_code: str = Field(max_length=66)  # agency that opened the request
    from_state: int
    to_state: int
    from_name: str
    to_name: str
    reason: str
    from_time: int = _big()  # when the request entered from_state
    deadline: date | None = None  # deadline of from_state, None when it had no limit
    on_time: bool | None = None  # step finished by its deadline; None when no limit
    head: str = Field(max_length=66)
    block_number: int = _big()
    block_hash: str = Field(max_length=66)
    block_time: int = _big()
    tx_hash: str = Field(max_length=66)
    log_index: int


# Every table the mirror owns, in the order rows are deleted when starting over.
MIRROR_TABLES = (
    "request_transitions",
    "requests",
    "service_roles",
    "services",
    "reversals",
    "disbursements",
    "allocation_amendments",
    "projects",
    "recorders",
    "agencies",
    "events",
    "blocks",
    "ledger",
    "checkpoint",
)

metadata = SQLModel.metadata
