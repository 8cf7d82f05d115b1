"""The ledger-head formula, written out independently of the contract.

head = keccak256(abi.encode(prevHead, seq, topic0, <fields>)) where <fields> are the event's
parameters in declaration order without ``seq`` and ``head``. The tables below are the
specification (copied from the interfaces by hand, not read from the artifact), so a change
to an event or to the formula on chain shows up as a mismatch here.
"""

from __future__ import annotations

from typing import Any

from eth_abi import encode
from eth_utils import keccak

SIGNATURES = {
    "AgencyRegistered": "AgencyRegistered(uint64,bytes32,string,string,bytes32)",
    "RecorderAdded": "RecorderAdded(uint64,bytes32,address,bytes32)",
    "RecorderRemoved": "RecorderRemoved(uint64,bytes32,address,bytes32)",
    "ProjectRegistered": "ProjectRegistered(uint64,bytes32,bytes32,uint16,uint256,string,bytes32)",
    "AllocationAmended": "AllocationAmended(uint64,bytes32,uint256,uint256,string,bytes32)",
    "DisbursementRecorded": (
        "DisbursementRecorded(uint64,bytes32,bytes32,bytes32,uint256,bytes32,bytes32,bytes32,bytes32)"
    ),
    "DisbursementReversed": "DisbursementReversed(uint64,bytes32,bytes32,uint64,bytes32,uint256,string,bytes32)",
    "ServiceDefined": "ServiceDefined(uint64,bytes32,string[],uint16[],string[],(uint8,uint8,uint8)[],bytes32)",
    "ServiceRoleSet": "ServiceRoleSet(uint64,bytes32,bytes32,uint8,bool,bytes32)",
    "RequestOpened": "RequestOpened(uint64,bytes32,bytes32,bytes32,bytes32,bytes32)",
    "RequestAdvanced": "RequestAdvanced(uint64,bytes32,bytes32,uint8,uint8,string,bytes32)",
}

# (name, ABI type, indexed) of every event parameter between `seq` and `head`.
FIELDS: dict[str, list[tuple[str, str, bool]]] = {
    "AgencyRegistered": [("agencyCode", "bytes32", True), ("name", "string", False), ("nameEn", "string", False)],
    "RecorderAdded": [("agencyCode", "bytes32", True), ("recorder", "address", True)],
    "RecorderRemoved": [("agencyCode", "bytes32", True), ("recorder", "address", True)],
    "ProjectRegistered": [
        ("projectCode", "bytes32", True),
        ("agencyCode", "bytes32", True),
        ("fiscalYear", "uint16", False),
        ("allocation", "uint256", False),
        ("name", "string", False),
    ],
    "AllocationAmended": [
        ("projectCode", "bytes32", True),
        ("previousAllocation", "uint256", False),
        ("newAllocation", "uint256", False),
        ("reason", "string", False),
    ],
    "DisbursementRecorded": [
        ("projectCode", "bytes32", True),
        ("agencyCode", "bytes32", True),
        ("voucher", "bytes32", False),
        ("amount", "uint256", False),
        ("payee", "bytes32", False),
        ("documentHash", "bytes32", False),
        ("requestTracking", "bytes32", False),
    ],
    "DisbursementReversed": [
        ("projectCode", "bytes32", True),
        ("agencyCode", "bytes32", True),
        ("originalSeq", "uint64", False),
        ("voucher", "bytes32", False),
        ("amount", "uint256", False),
        ("reason", "string", False),
    ],
    "ServiceDefined": [
        ("service", "bytes32", True),
        ("states", "string[]", False),
        ("timeLimitDays", "uint16[]", False),
        ("roles", "string[]", False),
        ("transitions", "(uint8,uint8,uint8)[]", False),
    ],
    "ServiceRoleSet": [
        ("service", "bytes32", True),
        ("agencyCode", "bytes32", True),
        ("role", "uint8", False),
        ("granted", "bool", False),
    ],
    "RequestOpened": [
        ("trackingCode", "bytes32", True),
        ("agencyCode", "bytes32", True),
        ("service", "bytes32", False),
        ("applicantCommitment", "bytes32", False),
    ],
    "RequestAdvanced": [
        ("trackingCode", "bytes32", True),
        ("agencyCode", "bytes32", True),
        ("fromState", "uint8", False),
        ("toState", "uint8", False),
        ("reason", "string", False),
    ],
}


def topic0(event: str) -> bytes:
    return keccak(text=SIGNATURES[event])


def next_head(previous: bytes, seq: int, event: str, values: list[Any]) -> bytes:
    """The head after an entry whose event fields (without seq and head) are ``values``."""
    types = ["bytes32", "uint64", "bytes32"] + [t for _, t, _ in FIELDS[event]]
    if len(values) != len(FIELDS[event]):
        raise ValueError(f"{event} takes {len(FIELDS[event])} fields, got {len(values)}")
    return keccak(encode(types, [previous, seq, topic0(event), *values]))


def head_of_event(previous: bytes, event: Any) -> bytes:
    """Recompute the head from a decoded event's own fields (what an auditor does)."""
    name = event["event"]
    values = [event["args"][n] for n, _, _ in FIELDS[name]]
    return next_head(previous, event["args"]["seq"], name, values)
