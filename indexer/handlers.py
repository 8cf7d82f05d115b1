"""One handler per GovLedger event: how each event changes the mirror's projections.

Handlers do not write SQL themselves: they add rows and mutate entity states held by a
``BatchWriter``, which writes everything of a batch at once (bulk inserts, one UPDATE per
touched entity) inside the caller's transaction. Entities a batch touches are loaded from
the database on first use, so handlers always see the state just before the event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from indexer import decode as ev
from indexer import workdays
from indexer.db import Store
from indexer.errors import GapError
from indexer.workdays import bangkok_date
from ledger.types import MAX_SATANG

EVENT_COLUMNS = (
    "seq",
    "event",
    "chain_id",
    "contract",
    "block_number",
    "block_hash",
    "tx_hash",
    "tx_index",
    "log_index",
    "head",
    "fields",
)
DISBURSEMENT_COLUMNS = (
    "seq",
    "project_code",
    "agency_code",
    "fiscal_year",
    "voucher",
    "amount",
    "payee",
    "document_hash",
    "request_tracking",
    "head",
    "block_number",
    "block_hash",
    "block_time",
    "tx_hash",
    "log_index",
    "reversed_by_seq",
    "reversal_reason",
)
REVERSAL_COLUMNS = (
    "seq",
    "original_seq",
    "project_code",
    "agency_code",
    "voucher",
    "amount",
    "reason",
    "head",
    "block_number",
    "block_hash",
    "block_time",
    "tx_hash",
    "log_index",
)
AMENDMENT_COLUMNS = (
    "seq",
    "project_code",
    "previous_allocation",
    "new_allocation",
    "reason",
    "block_number",
    "block_time",
    "tx_hash",
)
AGENCY_COLUMNS = ("code", "name", "name_en", "ministry_code", "seq", "block_number", "block_time")
RECORDER_COLUMNS = ("added_seq", "agency_code", "address", "added_block", "added_time")
SERVICE_COLUMNS = ("code", "states", "time_limit_days", "roles", "transitions", "seq", "block_number", "block_time")
TRANSITION_COLUMNS = (
    "seq",
    "tracking_code",
    "service_code",
    "agency_code",
    "owner_agency_code",
    "from_state",
    "to_state",
    "from_name",
    "to_name",
    "reason",
    "from_time",
    "deadline",
    "on_time",
    "head",
    "block_number",
    "block_hash",
    "block_time",
    "tx_hash",
    "log_index",
)
PROJECT_COLUMNS = (
    "code",
    "agency_code",
    "fiscal_year",
    "name",
    "initial_allocation",
    "allocation",
    "disbursed",
    "reversed",
    "net",
    "remaining",
    "disbursement_count",
    "reversal_count",
    "amendment_count",
    "seq",
    "block_number",
    "block_time",
    "last_activity_seq",
    "last_activity_block",
    "last_activity_time",
)
REQUEST_COLUMNS = (
    "tracking_code",
    "service_code",
    "agency_code",
    "applicant_commitment",
    "state",
    "state_name",
    "terminal",
    "opened_seq",
    "opened_block",
    "opened_time",
    "state_seq",
    "state_time",
    "deadline",
    "overdue",
    "transition_count",
)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def held(value: int) -> int:
    """A money value as the mirror's BIGINT columns hold it: ``MAX_SATANG`` marks one they
    cannot (beyond the bound, or derived from such a value); the exact amounts stay in the
    events, and /v1/checkpoint lists these cells as ``unheld``."""
    return max(-MAX_SATANG, min(value, MAX_SATANG))


@dataclass(slots=True)
class ProjectState:
    code: str
    agency_code: str
    fiscal_year: int
    name: str
    initial_allocation: int
    allocation: int
    disbursed: int
    reversed: int
    net: int
    disbursement_count: int
    reversal_count: int
    amendment_count: int
    seq: int
    block_number: int
    block_time: int
    last_activity_seq: int
    last_activity_block: int
    last_activity_time: int
    is_new: bool = False

    # Totals move one event at a time and stay within the columns; once net is beyond them it
    # stays marked, so an index in one batch and one in many give the same rows.
    def disburse(self, amount: int) -> None:
        self.disbursement_count += 1
        disbursed = self.disbursed + amount
        if disbursed < MAX_SATANG:  # the hot path: then net (<= disbursed) fits too
            self.disbursed = disbursed
            self.net += amount
            return
        self.disbursed = MAX_SATANG
        self.net = MAX_SATANG if self.net == MAX_SATANG else held(self.net + amount)

    def reverse(self, amount: int) -> None:
        self.reversed = held(self.reversed + amount)
        self.net = MAX_SATANG if self.net == MAX_SATANG else held(self.net - amount)
        self.reversal_count += 1

    def remaining(self) -> int:
        return MAX_SATANG if MAX_SATANG in (self.allocation, self.net) else held(self.allocation - self.net)

    def row(self) -> tuple[Any, ...]:
        return (
            self.code,
            self.agency_code,
            self.fiscal_year,
            self.name,
            self.initial_allocation,
            self.allocation,
            self.disbursed,
            self.reversed,
            self.net,
            self.remaining(),
            self.disbursement_count,
            self.reversal_count,
            self.amendment_count,
            self.seq,
            self.block_number,
            self.block_time,
            self.last_activity_seq,
            self.last_activity_block,
            self.last_activity_time,
        )

    def touch(self, seq: int, block_number: int, block_time: int) -> None:
        self.last_activity_seq = seq
        self.last_activity_block = block_number
        self.last_activity_time = block_time


@dataclass(slots=True)
class ServiceState:
    code: str
    states: list[str]
    time_limit_days: list[int]
    roles: list[str]
    terminal: frozenset[int]

    @classmethod
    def of(cls, code: str, states: list[str], limits: list[int], roles: list[str], transitions: list[list[int]]):
        has_exit = {t[0] for t in transitions}
        return cls(code, states, limits, roles, frozenset(i for i in range(len(states)) if i not in has_exit))

    def state_name(self, state: int) -> str:
        return self.states[state] if 0 <= state < len(self.states) else f"#{state}"

    def role_name(self, role: int) -> str:
        return self.roles[role] if 0 <= role < len(self.roles) else f"#{role}"

    def limit(self, state: int) -> int:
        return self.time_limit_days[state] if 0 <= state < len(self.time_limit_days) else 0


@dataclass(slots=True)
class RequestState:
    tracking_code: str
    service_code: str
    agency_code: str
    applicant_commitment: str
    state: int
    state_name: str
    terminal: bool
    opened_seq: int
    opened_block: int
    opened_time: int
    state_seq: int
    state_time: int
    deadline: str | None  # ISO date
    transition_count: int
    is_new: bool = False

    def row(self, today: str) -> tuple[Any, ...]:
        return (
            self.tracking_code,
            self.service_code,
            self.agency_code,
            self.applicant_commitment,
            self.state,
            self.state_name,
            self.terminal,
            self.opened_seq,
            self.opened_block,
            self.opened_time,
            self.state_seq,
            self.state_time,
            self.deadline,
            self.deadline is not None and self.deadline < today,
            self.transition_count,
        )


CALENDAR = workdays.CALENDAR


def deadline_of(service: ServiceState, state: int, entered_time: int) -> str | None:
    """ISO date of the last working day allowed in ``state``, None when it has no limit."""
    limit = service.limit(state)
    if limit == 0 or state in service.terminal:
        return None
    return CALENDAR.add_working_days(bangkok_date(entered_time), limit).isoformat()


class BatchWriter:
    """Everything one batch writes, collected by the handlers and written by ``flush``."""

    def __init__(self, store: Store, chain_id: int, contract: str) -> None:
        self.store = store
        self.chain_id = chain_id
        self.contract = contract
        self.events: list[tuple[Any, ...]] = []
        self.disbursements: list[tuple[Any, ...]] = []
        self.reversals: list[tuple[Any, ...]] = []
        self.reversed_originals: list[tuple[Any, ...]] = []
        self.amendments: list[tuple[Any, ...]] = []
        self.agencies: list[tuple[Any, ...]] = []
        self.recorders: list[tuple[Any, ...]] = []
        self.recorder_removals: list[tuple[Any, ...]] = []
        self.services: list[tuple[Any, ...]] = []
        self.service_roles: dict[tuple[str, str, int], tuple[Any, ...]] = {}
        self.transitions: list[tuple[Any, ...]] = []
        self.projects: dict[str, ProjectState] = {}
        self.requests: dict[str, RequestState] = {}
        self.service_cache: dict[str, ServiceState] = {}
        self.last: ev.LedgerEvent | None = None

    # -- entity loading -------------------------------------------------------------------

    def project(self, code: str) -> ProjectState:
        found = self.projects.get(code)
        if found is None:
            row = self.store.query_one(
                "SELECT code, agency_code, fiscal_year, name, initial_allocation, allocation, disbursed, reversed, net,"
                " disbursement_count, reversal_count, amendment_count, seq, block_number, block_time,"
                " last_activity_seq, last_activity_block, last_activity_time FROM projects WHERE code = ?",
                (code,),
            )
            if row is None:
                raise GapError(f"event refers to project {code!r}, which the mirror has not seen registered")
            found = ProjectState(*row)
            self.projects[code] = found
        return found

    def service(self, code: str) -> ServiceState:
        found = self.service_cache.get(code)
        if found is None:
            row = self.store.query_one(
                "SELECT states, time_limit_days, roles, transitions FROM services WHERE code = ?", (code,)
            )
            if row is None:
                raise GapError(f"event refers to service {code!r}, which the mirror has not seen defined")
            found = ServiceState.of(code, *(orjson.loads(v) for v in row))
            self.service_cache[code] = found
        return found

    def request(self, tracking: str) -> RequestState:
        found = self.requests.get(tracking)
        if found is None:
            row = self.store.query_one(
                "SELECT tracking_code, service_code, agency_code, applicant_commitment, state, state_name, terminal,"
                " opened_seq, opened_block, opened_time, state_seq, state_time, deadline, transition_count"
                " FROM requests WHERE tracking_code = ?",
                (tracking,),
            )
            if row is None:
                raise GapError(f"event refers to request {tracking}, which the mirror has not seen opened")
            values = list(row)
            values[6] = bool(values[6])
            if isinstance(values[12], date):
                values[12] = values[12].isoformat()
            found = RequestState(*values)
            self.requests[tracking] = found
        return found

    # -- writing --------------------------------------------------------------------------

    def flush(self, checkpoint_time: int) -> None:
        """Write every collected row and entity state (inside the caller's transaction)."""
        store = self.store
        store.insert("events", EVENT_COLUMNS, self.events)
        store.insert("agencies", AGENCY_COLUMNS, self.agencies)
        store.insert("recorders", RECORDER_COLUMNS, self.recorders)
        store.executemany(
            "UPDATE recorders SET removed_seq = ?, removed_block = ?, removed_time = ?"
            " WHERE agency_code = ? AND address = ? AND removed_seq IS NULL",
            self.recorder_removals,
        )
        store.insert("services", SERVICE_COLUMNS, self.services)
        for key, row in self.service_roles.items():
            store.execute("DELETE FROM service_roles WHERE service_code = ? AND agency_code = ? AND role = ?", key)
            store.insert(
                "service_roles",
                ("service_code", "agency_code", "role", "role_name", "granted", "seq", "block_number"),
                [row],
            )
        new_projects = [p.row() for p in self.projects.values() if p.is_new]
        store.insert("projects", PROJECT_COLUMNS, new_projects)
        store.executemany(
            "UPDATE projects SET allocation = ?, disbursed = ?, reversed = ?, net = ?, remaining = ?,"
            " disbursement_count = ?, reversal_count = ?, amendment_count = ?, last_activity_seq = ?,"
            " last_activity_block = ?, last_activity_time = ? WHERE code = ?",
            [(*p.row()[5:13], *p.row()[16:19], p.code) for p in self.projects.values() if not p.is_new],
        )
        store.insert("allocation_amendments", AMENDMENT_COLUMNS, self.amendments)
        store.insert("disbursements", DISBURSEMENT_COLUMNS, self.disbursements)
        store.insert("reversals", REVERSAL_COLUMNS, self.reversals)
        store.executemany(
            "UPDATE disbursements SET reversed_by_seq = ?, reversal_reason = ? WHERE seq = ?", self.reversed_originals
        )
        today = bangkok_date(checkpoint_time).isoformat()
        store.insert("requests", REQUEST_COLUMNS, [r.row(today) for r in self.requests.values() if r.is_new])
        store.executemany(
            "UPDATE requests SET state = ?, state_name = ?, terminal = ?, state_seq = ?, state_time = ?,"
            " deadline = ?, overdue = ?, transition_count = ? WHERE tracking_code = ?",
            [
                (
                    r.state,
                    r.state_name,
                    r.terminal,
                    r.state_seq,
                    r.state_time,
                    r.deadline,
                    row[13],
                    r.transition_count,
                    r.tracking_code,
                )
                for r in self.requests.values()
                if not r.is_new
                for row in (r.row(today),)
            ],
        )
        store.insert("request_transitions", TRANSITION_COLUMNS, self.transitions)
        # Chain time moves on even without events: steps whose deadline passed become overdue.
        store.execute("UPDATE requests SET overdue = ? WHERE overdue = ? AND deadline < ?", (True, False, today))
        if self.last is not None:
            last = self.last
            store.execute("DELETE FROM ledger")
            store.execute(
                "INSERT INTO ledger (id, seq, head, block_number) VALUES (1, ?, ?, ?)",
                (last.seq, last.head, last.block_number),
            )


# -- handlers -----------------------------------------------------------------------------


def on_agency_registered(w: BatchWriter, e: ev.AgencyRegistered, block_time: int) -> None:
    ministry = e.agency.split("/", 1)[0]  # an agency's ministry is the root of its code
    w.agencies.append((e.agency, e.name, e.name_en, ministry, e.seq, e.block_number, block_time))


def on_recorder_added(w: BatchWriter, e: ev.RecorderAdded, block_time: int) -> None:
    w.recorders.append((e.seq, e.agency, e.recorder, e.block_number, block_time))


def on_recorder_removed(w: BatchWriter, e: ev.RecorderRemoved, block_time: int) -> None:
    # The matching RecorderAdded may sit in this very batch: insert it before updating.
    if w.recorders:
        w.store.insert("recorders", RECORDER_COLUMNS, w.recorders)
        w.recorders = []
    w.recorder_removals.append((e.seq, e.block_number, block_time, e.agency, e.recorder))
    w.store.executemany(
        "UPDATE recorders SET removed_seq = ?, removed_block = ?, removed_time = ?"
        " WHERE agency_code = ? AND address = ? AND removed_seq IS NULL",
        w.recorder_removals,
    )
    w.recorder_removals = []


def on_project_registered(w: BatchWriter, e: ev.ProjectRegistered, block_time: int) -> None:
    w.projects[e.project] = ProjectState(
        code=e.project,
        agency_code=e.agency,
        fiscal_year=e.fiscal_year,
        name=e.name,
        initial_allocation=held(e.allocation),
        allocation=held(e.allocation),
        disbursed=0,
        reversed=0,
        net=0,
        disbursement_count=0,
        reversal_count=0,
        amendment_count=0,
        seq=e.seq,
        block_number=e.block_number,
        block_time=block_time,
        last_activity_seq=e.seq,
        last_activity_block=e.block_number,
        last_activity_time=block_time,
        is_new=True,
    )


def on_allocation_amended(w: BatchWriter, e: ev.AllocationAmended, block_time: int) -> None:
    project = w.project(e.project)
    project.allocation = held(e.new_allocation)
    project.amendment_count += 1
    project.touch(e.seq, e.block_number, block_time)
    w.amendments.append(
        (
            e.seq,
            e.project,
            held(e.previous_allocation),
            project.allocation,
            e.reason,
            e.block_number,
            block_time,
            e.tx_hash,
        )
    )


def on_disbursement_recorded(w: BatchWriter, e: ev.DisbursementRecorded, block_time: int) -> None:
    project = w.projects.get(e.project) or w.project(e.project)
    project.disburse(e.amount)
    project.last_activity_seq = e.seq
    project.last_activity_block = e.block_number
    project.last_activity_time = block_time
    w.disbursements.append(
        (
            e.seq,
            e.project,
            e.agency,
            project.fiscal_year,
            e.voucher,
            held(e.amount),
            e.payee,
            e.document_hash,
            e.request,
            e.head,
            e.block_number,
            e.block_hash,
            block_time,
            e.tx_hash,
            e.log_index,
            None,
            None,
        )
    )


def on_disbursement_reversed(w: BatchWriter, e: ev.DisbursementReversed, block_time: int) -> None:
    project = w.project(e.project)
    project.reverse(e.amount)
    project.touch(e.seq, e.block_number, block_time)
    w.reversals.append(
        (
            e.seq,
            e.original_seq,
            e.project,
            e.agency,
            e.voucher,
            held(e.amount),
            e.reason,
            e.head,
            e.block_number,
            e.block_hash,
            block_time,
            e.tx_hash,
            e.log_index,
        )
    )
    w.reversed_originals.append((e.seq, e.reason, e.original_seq))


def on_service_defined(w: BatchWriter, e: ev.ServiceDefined, block_time: int) -> None:
    w.services.append(
        (
            e.service,
            _json(e.states),
            _json(e.time_limit_days),
            _json(e.roles),
            _json(e.transitions),
            e.seq,
            e.block_number,
            block_time,
        )
    )
    w.service_cache[e.service] = ServiceState.of(e.service, e.states, e.time_limit_days, e.roles, e.transitions)


def on_service_role_set(w: BatchWriter, e: ev.ServiceRoleSet, block_time: int) -> None:
    role_name = w.service(e.service).role_name(e.role)
    w.service_roles[(e.service, e.agency, e.role)] = (
        e.service,
        e.agency,
        e.role,
        role_name,
        e.granted,
        e.seq,
        e.block_number,
    )


def on_request_opened(w: BatchWriter, e: ev.RequestOpened, block_time: int) -> None:
    service = w.service(e.service)
    w.requests[e.tracking] = RequestState(
        tracking_code=e.tracking,
        service_code=e.service,
        agency_code=e.agency,
        applicant_commitment=e.applicant_commitment,
        state=0,
        state_name=service.state_name(0),
        terminal=0 in service.terminal,
        opened_seq=e.seq,
        opened_block=e.block_number,
        opened_time=block_time,
        state_seq=e.seq,
        state_time=block_time,
        deadline=deadline_of(service, 0, block_time),
        transition_count=0,
        is_new=True,
    )


def on_request_advanced(w: BatchWriter, e: ev.RequestAdvanced, block_time: int) -> None:
    request = w.request(e.tracking)
    service = w.service(request.service_code)
    done = bangkok_date(block_time).isoformat()
    on_time = None if request.deadline is None else done <= request.deadline
    w.transitions.append(
        (
            e.seq,
            e.tracking,
            request.service_code,
            e.agency,
            request.agency_code,
            e.from_state,
            e.to_state,
            service.state_name(e.from_state),
            service.state_name(e.to_state),
            e.reason,
            request.state_time,
            request.deadline,
            on_time,
            e.head,
            e.block_number,
            e.block_hash,
            block_time,
            e.tx_hash,
            e.log_index,
        )
    )
    request.state = e.to_state
    request.state_name = service.state_name(e.to_state)
    request.terminal = e.to_state in service.terminal
    request.state_seq = e.seq
    request.state_time = block_time
    request.deadline = deadline_of(service, e.to_state, block_time)
    request.transition_count += 1


HANDLERS: dict[type[ev.LedgerEvent], Callable[[BatchWriter, Any, int], None]] = {
    ev.AgencyRegistered: on_agency_registered,
    ev.RecorderAdded: on_recorder_added,
    ev.RecorderRemoved: on_recorder_removed,
    ev.ProjectRegistered: on_project_registered,
    ev.AllocationAmended: on_allocation_amended,
    ev.DisbursementRecorded: on_disbursement_recorded,
    ev.DisbursementReversed: on_disbursement_reversed,
    ev.ServiceDefined: on_service_defined,
    ev.ServiceRoleSet: on_service_role_set,
    ev.RequestOpened: on_request_opened,
    ev.RequestAdvanced: on_request_advanced,
}


def apply_events(w: BatchWriter, events: list[ev.LedgerEvent], fields: list[str], block_times: dict[int, int]) -> None:
    """Run each event's handler in ledger order and add its raw ``events`` row.

    ``fields`` holds each event's ``fields_json()`` (computed by the caller, off this thread).
    """
    rows = w.events
    chain_id, contract = w.chain_id, w.contract
    for e, fields_json in zip(events, fields, strict=True):
        rows.append(
            (
                e.seq,
                e.NAME,
                chain_id,
                contract,
                e.block_number,
                e.block_hash,
                e.tx_hash,
                e.tx_index,
                e.log_index,
                e.head,
                fields_json,
            )
        )
        HANDLERS[type(e)](w, e, block_times[e.block_number])
    if events:
        w.last = events[-1]
