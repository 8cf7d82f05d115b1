"""The public shapes of every answer (``*Public``), which ``/openapi.json`` documents.

These are response models only, never the mirror's table models: a column added to the mirror
does not leak into the API, and a renamed column breaks a test here rather than a client.
Money is a decimal string of baht with two places (``"1234.50"``); times are ISO-8601 UTC
(``2026-11-21T23:36:56Z``); fiscal years are Buddhist Era; codes are their text.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ledger.types import CODE_MAX_LENGTH

CODE_PATTERN = rf"^[A-Za-z0-9._/-]{{1,{CODE_MAX_LENGTH}}}$"
MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}$"
HASH_PATTERN = r"^0x[0-9a-f]{64}$"
TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
TRACKING_PATTERN = r"^([0-9A-HJKMNP-TV-Z]{4}-){7}[0-9A-HJKMNP-TV-Z]{4}$"


def money(description: str = "Thai baht with two decimals, as a string") -> Any:
    return Field(pattern=MONEY_PATTERN, examples=["1234.50"], description=description)


def hash32() -> Any:
    return Field(pattern=HASH_PATTERN)


def moment() -> Any:
    return Field(pattern=TIME_PATTERN, examples=["2026-11-21T23:36:56Z"], description="ISO-8601, UTC")


class Public(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProvenancePublic(Public):
    """Where an entry sits on the chain: enough to fetch and check it with any Ethereum client."""

    ledger_seq: int = Field(ge=1)
    ledger_head: str = hash32()
    tx_hash: str = hash32()
    block_number: int = Field(ge=0)
    block_hash: str = hash32()
    log_index: int = Field(ge=0)
    recorded_at: str = moment()


class AgencyPublic(Public):
    code: str = Field(description="A code PARENT/CHILD belongs to the agency PARENT")
    name: str = Field(description="Thai name")
    name_en: str = Field(description="English name; empty when none was registered")
    ministry: str = Field(description="Code of the agency's ministry: the root of its code (before the first /)")
    recorders: list[str] = Field(description="Addresses that record for the agency now (EIP-55)")
    registered: ProvenancePublic


class AgencyDetailPublic(AgencyPublic):
    project_count: int = Field(ge=0)
    allocated: str = money()
    disbursed: str = money()
    reversed: str = money()
    net: str = money()


class AgencyListPublic(Public):
    items: list[AgencyPublic]
    next_cursor: str | None


class ProjectPublic(Public):
    code: str
    agency: str
    fiscal_year: int = Field(description="Buddhist Era, e.g. 2568 = 1 Oct 2024 - 30 Sep 2025")
    name: str
    allocation: str = money()
    net: str = money()
    remaining: str = money()
    last_activity_at: str = moment()


class AmendmentPublic(Public):
    ledger_seq: int
    previous_allocation: str = money()
    new_allocation: str = money()
    reason: str
    tx_hash: str = hash32()
    block_number: int
    recorded_at: str = moment()


class ProjectDetailPublic(ProjectPublic):
    initial_allocation: str = money()
    disbursed: str = money("Gross: reversed disbursements included")
    reversed: str = money()
    disbursement_count: int = Field(ge=0)
    reversal_count: int = Field(ge=0)
    amendment_count: int = Field(ge=0)
    last_activity_seq: int
    last_activity_block: int
    registered: ProvenancePublic
    amendments: list[AmendmentPublic]


class ProjectListPublic(Public):
    items: list[ProjectPublic]
    next_cursor: str | None


class ReversalPublic(Public):
    reason: str
    provenance: ProvenancePublic


class DisbursementPublic(Public):
    id: int = Field(ge=1, description="The ledger sequence number of the entry; stable forever")
    project: str
    agency: str
    fiscal_year: int
    voucher: str
    amount: str = money()
    payee: str
    document_hash: str | None = Field(description="SHA-256 of the supporting document, kept off chain")
    request: str | None = Field(description="Tracking code of a linked service request")
    reversed: bool
    provenance: ProvenancePublic


class DisbursementDetailPublic(DisbursementPublic):
    reversal: ReversalPublic | None


class DisbursementListPublic(Public):
    items: list[DisbursementPublic]
    next_cursor: str | None


class StepPublic(Public):
    """One state a request was in, with its legal deadline in working days."""

    state: str
    entered_at: str = moment()
    entered_by: str = Field(description="Agency that moved the request into this state")
    reason: str
    left_at: str | None
    time_limit_working_days: int | None = Field(description="Legal limit of this state; null when none")
    deadline: date | None = Field(description="Last working day allowed (Bangkok calendar)")
    working_days_taken: int = Field(ge=0, description="Working days spent so far (or in all, once left)")
    status: str = Field(description="met | overdue | open | no-limit")
    overdue_working_days: int = Field(ge=0)


class RequestPublic(Public):
    tracking_code: str
    service: str
    agency: str
    state: str
    terminal: bool
    opened_at: str = moment()
    deadline: date | None
    overdue: bool
    steps: list[StepPublic]


class StateCountPublic(Public):
    state: str
    terminal: bool
    count: int = Field(ge=0)


class StepStatsPublic(Public):
    state: str
    time_limit_working_days: int | None
    completed: int = Field(ge=0)
    median_working_days: float | None
    p80_working_days: float | None
    on_time_share: float | None = Field(ge=0, le=1)


class AgencyOnTimePublic(Public):
    agency: str
    steps_with_limit: int = Field(ge=0)
    on_time: int = Field(ge=0)
    on_time_share: float | None = Field(ge=0, le=1)


class ServiceStatsPublic(Public):
    service: str
    requests: int = Field(ge=0)
    states: list[StateCountPublic]
    steps: list[StepStatsPublic]
    agencies: list[AgencyOnTimePublic]


class AgencyTotalsPublic(Public):
    agency: str
    name: str
    ministry: str = Field(description="Code of the agency's ministry: the root of its code (before the first /)")
    projects: int = Field(ge=0)
    allocated: str = money()
    disbursed: str = money()
    reversed: str = money()
    net: str = money()


class MinistryTotalsPublic(Public):
    """The totals of every agency whose code has this root, the ministry's own projects included."""

    code: str = Field(description="The ministry's agency code")
    name: str = Field(description="Thai name; empty when the ministry is not registered as an agency")
    name_en: str = Field(description="English name; empty when none was registered")
    agencies: int = Field(ge=1, description="Agencies of the ministry with projects in the totals")
    projects: int = Field(ge=0)
    allocated: str = money()
    disbursed: str = money()
    reversed: str = money()
    net: str = money()


class SummaryPublic(Public):
    fiscal_year: int | None = Field(description="null: every fiscal year together")
    projects: int = Field(ge=0)
    allocated: str = money()
    disbursed: str = money()
    reversed: str = money()
    net: str = money()
    remaining: str = money()
    ministries: list[MinistryTotalsPublic] = Field(description="By ministry (the root of the agency code)")
    agencies: list[AgencyTotalsPublic]


class UnheldPublic(Public):
    table: str
    key: str = Field(description="The row's primary key (a project code, or a seq)")
    column: str


class CheckpointPublic(Public):
    chain_id: int
    contracts: dict[str, str] = Field(description="name -> address of the contracts the mirror follows")
    block_number: int = Field(description="Every event up to and including this block is mirrored")
    block_hash: str = hash32()
    ledger_seq: int = Field(ge=0)
    ledger_head: str = hash32()
    mirror_digest: str = Field(description="SHA-256 over the canonically ordered mirrored events")
    unheld: list[UnheldPublic] = Field(
        description="Money cells beyond the mirror's 64-bit columns (first 100): they hold 2^63-1 satang as a"
        " marker; the exact values are in the events"
    )


class HealthPublic(Public):
    status: str
    block_number: int | None
