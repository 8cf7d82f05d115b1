"""An independent replay of the ledger rules over decoded entries.

The contract enforces these rules; the replay checks that the events it emitted are
consistent with them, so a chain whose contract was swapped, or a bundle whose events were
doctored, cannot pass: budgets never exceeded, each disbursement reversed at most once and
only by its own agency with its own amount, service transitions only along the published
table and by an agency holding the role at that moment, and the running head recomputed
entry by entry.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from audit.errors import ReplayError
from audit.events import Entry, next_head
from ledger.types import decode_code

MIN_FISCAL_YEAR, MAX_FISCAL_YEAR = 2500, 2700
ZERO32 = b"\0" * 32


@dataclass
class Project:
    agency: bytes
    allocation: int
    net: int = 0


@dataclass
class Disbursement:
    seq: int
    project: bytes
    amount: int
    reversed: bool = False


@dataclass
class Service:
    state_count: int
    role_count: int
    transitions: dict[tuple[int, int], int]  # (from, to) -> role


@dataclass
class Request:
    service: bytes
    agency: bytes
    state: int = 0


@dataclass
class LedgerState:
    seq: int = 0
    head: bytes = ZERO32
    agencies: set[bytes] = field(default_factory=set)
    recorders: dict[bytes, bytes] = field(default_factory=dict)  # address -> agency
    projects: dict[bytes, Project] = field(default_factory=dict)
    disbursements: dict[tuple[bytes, bytes], Disbursement] = field(default_factory=dict)  # (agency, voucher)
    services: dict[bytes, Service] = field(default_factory=dict)
    service_roles: set[tuple[bytes, int, bytes]] = field(default_factory=set)  # (service, role, agency)
    requests: dict[bytes, Request] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class ReplayResult:
    state: LedgerState
    # After each block holding entries: (block number, seq, head), in block order.
    checkpoints: list[tuple[int, int, bytes]]
    sender_checks: int = 0

    def head_at(self, block: int) -> tuple[int, bytes]:
        """(seq, head) the contract must report at the end of ``block``."""
        i = bisect_right([c[0] for c in self.checkpoints], block)
        return (0, ZERO32) if i == 0 else self.checkpoints[i - 1][1:]


def _text(code: bytes) -> str:
    return decode_code(code)


def _fail(entry: Entry, message: str) -> ReplayError:
    return ReplayError(f"{entry.where()}: {message}")


def _apply(state: LedgerState, e: Entry, sender: bytes | None) -> bool:
    """Apply one entry; returns True when a recorder-signed entry's sender was checked."""
    f = e.fields
    name = e.name
    if sender is not None and name in (
        "DisbursementRecorded",
        "DisbursementReversed",
        "RequestOpened",
        "RequestAdvanced",
    ):
        held = state.recorders.get(sender)
        if held != f["agencyCode"]:
            raise _fail(
                e, f"sender 0x{sender.hex()} is not a recorder of agency {_text(f['agencyCode'])} at this point"
            )
        checked = True
    else:
        checked = False
    if name == "AgencyRegistered":
        if f["agencyCode"] in state.agencies:
            raise _fail(e, f"agency {_text(f['agencyCode'])} registered twice")
        state.agencies.add(f["agencyCode"])
    elif name == "RecorderAdded":
        if f["agencyCode"] not in state.agencies:
            raise _fail(e, f"recorder added to unknown agency {_text(f['agencyCode'])}")
        recorder = bytes.fromhex(f["recorder"][2:])
        if recorder in state.recorders:
            raise _fail(e, f"recorder {f['recorder']} already records for {_text(state.recorders[recorder])}")
        state.recorders[recorder] = f["agencyCode"]
    elif name == "RecorderRemoved":
        recorder = bytes.fromhex(f["recorder"][2:])
        if state.recorders.get(recorder) != f["agencyCode"]:
            raise _fail(e, f"recorder {f['recorder']} removed from an agency it did not record for")
        del state.recorders[recorder]
    elif name == "ProjectRegistered":
        if f["agencyCode"] not in state.agencies:
            raise _fail(e, f"project of unknown agency {_text(f['agencyCode'])}")
        if f["projectCode"] in state.projects:
            raise _fail(e, f"project {_text(f['projectCode'])} registered twice")
        if not MIN_FISCAL_YEAR <= f["fiscalYear"] <= MAX_FISCAL_YEAR:
            raise _fail(e, f"fiscal year {f['fiscalYear']} out of range")
        state.projects[f["projectCode"]] = Project(f["agencyCode"], f["allocation"])
    elif name == "AllocationAmended":
        p = state.projects.get(f["projectCode"])
        if p is None:
            raise _fail(e, f"amendment of unknown project {_text(f['projectCode'])}")
        if f["previousAllocation"] != p.allocation:
            raise _fail(e, f"previous allocation {f['previousAllocation']} but the replay has {p.allocation}")
        if f["newAllocation"] < p.net:
            raise _fail(e, f"allocation {f['newAllocation']} below net disbursed {p.net}")
        p.allocation = f["newAllocation"]
    elif name == "DisbursementRecorded":
        p = state.projects.get(f["projectCode"])
        if p is None:
            raise _fail(e, f"disbursement against unknown project {_text(f['projectCode'])}")
        if p.agency != f["agencyCode"]:
            raise _fail(e, f"agency {_text(f['agencyCode'])} paid from {_text(p.agency)}'s project")
        if f["amount"] == 0 or f["voucher"] == ZERO32:
            raise _fail(e, "zero amount or missing voucher")
        if f["amount"] > p.allocation - p.net:
            raise _fail(
                e, f"budget exceeded: {f['amount']} satang with {p.allocation - p.net} remaining of {p.allocation}"
            )
        key = (f["agencyCode"], f["voucher"])
        if key in state.disbursements:
            raise _fail(e, f"voucher {_text(f['voucher'])} used twice by {_text(f['agencyCode'])}")
        if f["requestTracking"] != ZERO32 and f["requestTracking"] not in state.requests:
            raise _fail(e, "links to a request that does not exist")
        p.net += f["amount"]
        state.disbursements[key] = Disbursement(e.seq, f["projectCode"], f["amount"])
    elif name == "DisbursementReversed":
        d = state.disbursements.get((f["agencyCode"], f["voucher"]))
        if d is None or d.seq != f["originalSeq"]:
            raise _fail(e, f"reverses seq {f['originalSeq']}, which is not this agency's voucher {_text(f['voucher'])}")
        if d.reversed:
            raise _fail(e, f"seq {d.seq} reversed twice")
        if d.amount != f["amount"] or d.project != f["projectCode"]:
            raise _fail(e, f"amount or project differ from the original seq {d.seq}")
        d.reversed = True
        state.projects[d.project].net -= d.amount
    elif name == "ServiceDefined":
        if f["service"] in state.services:
            raise _fail(e, f"service {_text(f['service'])} defined twice")
        states, roles = f["states"], f["roles"]
        table: dict[tuple[int, int], int] = {}
        for source, target, role in f["transitions"]:
            if source >= len(states) or target >= len(states) or source == target or role >= len(roles):
                raise _fail(e, f"transition {source}->{target} by role {role} is outside the definition")
            if (source, target) in table:
                raise _fail(e, f"transition {source}->{target} listed twice")
            table[(source, target)] = role
        if len(states) < 2 or len(f["timeLimitDays"]) != len(states) or not roles:
            raise _fail(e, "inconsistent service definition")
        state.services[f["service"]] = Service(len(states), len(roles), table)
    elif name == "ServiceRoleSet":
        s = state.services.get(f["service"])
        if s is None or not 0 < f["role"] < s.role_count or f["agencyCode"] not in state.agencies:
            raise _fail(e, "role set on an unknown service, role or agency")
        key3 = (f["service"], f["role"], f["agencyCode"])
        if f["granted"]:
            state.service_roles.add(key3)
        else:
            state.service_roles.discard(key3)
    elif name == "RequestOpened":
        if f["service"] not in state.services:
            raise _fail(e, f"request of unknown service {_text(f['service'])}")
        if f["trackingCode"] in state.requests or f["trackingCode"] == ZERO32:
            raise _fail(e, "tracking code opened twice or missing")
        if f["applicantCommitment"] == ZERO32:
            raise _fail(e, "no applicant commitment")
        state.requests[f["trackingCode"]] = Request(f["service"], f["agencyCode"])
    elif name == "RequestAdvanced":
        r = state.requests.get(f["trackingCode"])
        if r is None:
            raise _fail(e, "advances a request that was never opened")
        if f["fromState"] != r.state:
            raise _fail(e, f"from state {f['fromState']} but the request is in state {r.state}")
        role = state.services[r.service].transitions.get((f["fromState"], f["toState"]))
        if role is None:
            raise _fail(e, f"transition {f['fromState']}->{f['toState']} is not in the service table")
        held = f["agencyCode"] == r.agency if role == 0 else (r.service, role, f["agencyCode"]) in state.service_roles
        if not held:
            raise _fail(e, f"agency {_text(f['agencyCode'])} did not hold role {role} at this point")
        r.state = f["toState"]
    else:
        raise _fail(e, "no replay rule for this event")
    return checked


def replay(entries: Iterable[Entry], senders: Mapping[tuple[int, int], bytes] | None = None) -> ReplayResult:
    """Replay entries in chain order. ``senders`` maps (block, tx index) to the signer, when known."""
    state = LedgerState()
    checkpoints: list[tuple[int, int, bytes]] = []
    sender_checks = 0
    last_position = (-1, -1)
    for e in entries:
        if (e.block_number, e.log_index) <= last_position:
            raise _fail(e, "entries are out of chain order")
        last_position = (e.block_number, e.log_index)
        if e.seq != state.seq + 1:
            raise _fail(e, f"seq {e.seq} follows seq {state.seq}: an entry is missing or repeated")
        head = next_head(state.head, e)
        if head != e.head:
            raise _fail(e, f"recomputed head 0x{head.hex()} differs from the event's 0x{e.head.hex()}")
        sender = senders.get((e.block_number, e.tx_index)) if senders else None
        sender_checks += _apply(state, e, sender)
        state.seq, state.head = e.seq, head
        state.counts[e.name] = state.counts.get(e.name, 0) + 1
        if checkpoints and checkpoints[-1][0] == e.block_number:
            checkpoints[-1] = (e.block_number, e.seq, head)
        else:
            checkpoints.append((e.block_number, e.seq, head))
    return ReplayResult(state, checkpoints, sender_checks)
