"""The access matrix: every write function x caller x (own / other agency's record) x paused.

The expected outcome of each combination comes from SPEC below, written from the
interfaces' NatSpec, not from running the contract. Precedence, as specified: for
registrar, pauser and admin functions the role is checked before the pause; for recorder
functions the pause is checked first, then that the caller is a recorder, then ownership.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from eth_utils import to_checksum_address

from .conftest import (
    DEFAULT_ADMIN_ROLE,
    PAUSER_ROLE,
    REGISTRAR_ROLE,
    Cast,
    code,
    commitment,
    disbursement,
    report,
    tracking,
)

CALLERS = ("admin", "rec_a", "rec_b", "revoked", "pauser", "stranger")
TARGETS = ("A", "B")  # whose project / voucher / request / agency the call is about
AGENCY_OF_CALLER = {"rec_a": "A", "rec_b": "B"}

REGISTRAR_FUNCTIONS = (
    "registerAgency",
    "addRecorder",
    "removeRecorder",
    "registerProjects",
    "amendAllocation",
    "defineService",
    "setServiceRole",
)
PAUSER_FUNCTIONS = ("pause", "unpause")
ADMIN_FUNCTIONS = ("grantRole", "revokeRole")
RECORDER_FUNCTIONS = ("disburse", "disburseBatch", "reverse", "openRequest", "advanceRequest")
# Recorder functions that act on a record owned by an agency, and how a foreign one is refused.
OWNED = {
    "disburse": "ProjectNotOwned",
    "disburseBatch": "ProjectNotOwned",
    "reverse": "DisbursementUnknown",
    "advanceRequest": "TransitionRoleMissing",
}


def expected(fn: str, caller: str, target: str, paused: bool, cast: Cast) -> tuple[str, tuple[Any, ...]] | None:
    """SPEC: None when the call must succeed, else (error name, error arguments)."""
    who = to_checksum_address(getattr(cast, caller))
    if fn in REGISTRAR_FUNCTIONS:
        if caller != "admin":
            return ("AccessControlUnauthorizedAccount", (who, REGISTRAR_ROLE))
        return ("EnforcedPause", ()) if paused else None
    if fn in PAUSER_FUNCTIONS:
        if caller not in ("admin", "pauser"):
            return ("AccessControlUnauthorizedAccount", (who, PAUSER_ROLE))
        if fn == "pause" and paused:
            return ("EnforcedPause", ())
        if fn == "unpause" and not paused:
            return ("ExpectedPause", ())
        return None
    if fn in ADMIN_FUNCTIONS:  # role administration is not stopped by the pause
        return ("AccessControlUnauthorizedAccount", (who, DEFAULT_ADMIN_ROLE)) if caller != "admin" else None
    assert fn in RECORDER_FUNCTIONS
    if paused:
        return ("EnforcedPause", ())
    if caller not in AGENCY_OF_CALLER:
        return ("RecorderUnknown", (who,))
    mine, theirs = code("AG-" + AGENCY_OF_CALLER[caller]), code("AG-" + target)
    if fn in OWNED and mine != theirs:
        return {
            "ProjectNotOwned": ("ProjectNotOwned", (code("P" + target), theirs, mine)),
            "DisbursementUnknown": ("DisbursementUnknown", (mine, code("V" + target + "-1"))),
            "TransitionRoleMissing": ("TransitionRoleMissing", (tracking("T" + target), 0, mine)),
        }[OWNED[fn]]
    return None


def arguments(fn: str, target: str, cast: Cast) -> tuple[Any, ...]:
    """Arguments that are valid in every respect except possibly who may use them."""
    agency, project = code("AG-" + target), "P" + target
    make: dict[str, Callable[[], tuple[Any, ...]]] = {
        "registerAgency": lambda: (code("AG-NEW-" + target), "ใหม่", "New"),
        "addRecorder": lambda: (agency, cast.spare[1]),
        # spare[0] records for A; for target B the registrar first adds spare[2] to B.
        "removeRecorder": lambda: (agency, cast.spare[0] if target == "A" else cast.spare[2]),
        "registerProjects": lambda: ([(code("PN-" + target), agency, 2569, 10_000, "new")],),
        "amendAllocation": lambda: (code(project), 2_000_000_00, "เพิ่มงบ"),
        "defineService": lambda: (code("svc-" + target), ["a", "b"], [1, 0], ["owner"], [(0, 1, 0)]),
        "setServiceRole": lambda: (code("student-loan"), 1, agency, True),
        "pause": lambda: (),
        "unpause": lambda: (),
        "grantRole": lambda: (PAUSER_ROLE, cast.spare[1]),
        "revokeRole": lambda: (PAUSER_ROLE, cast.pauser),
        "disburse": lambda: (disbursement(project, "V-NEW", 100),),
        "disburseBatch": lambda: ([disbursement(project, "V-N1", 100), disbursement(project, "V-N2", 200)],),
        "reverse": lambda: (code("V" + target + "-1"), "ผิดพลาด"),
        "openRequest": lambda: (code("complaint"), tracking("new-" + target), commitment("new")),
        "advanceRequest": lambda: (tracking("T" + target), 1, "รับเรื่อง"),
    }
    return make[fn]()


FUNCTIONS = REGISTRAR_FUNCTIONS + PAUSER_FUNCTIONS + ADMIN_FUNCTIONS + RECORDER_FUNCTIONS


def test_functions_cover_every_write_function_we_own(cast: Cast) -> None:
    # Every non-view function of our interfaces and roles is in the matrix; the rest of the
    # ABI is OpenZeppelin's admin hand-over, tested in test_entries.
    ours = {
        i["name"]
        for i in cast.ledger.codec.abi
        if i["type"] == "function" and i["stateMutability"] not in ("view", "pure")
    }
    handover = {
        "beginDefaultAdminTransfer",
        "cancelDefaultAdminTransfer",
        "acceptDefaultAdminTransfer",
        "changeDefaultAdminDelay",
        "rollbackDefaultAdminDelay",
        "renounceRole",
    }
    assert ours - handover == set(FUNCTIONS)


def run_access_matrix(cast: Cast) -> tuple[int, list[tuple[Any, ...]]]:
    """Run every combination from one base state; returns (combinations run, mismatches)."""
    # spare[2] records for B, so that removeRecorder has a B-side target.
    cast.ok(cast.admin, "addRecorder", code("AG-B"), cast.spare[2])
    base = cast.evm.snapshot()
    runs, mismatches = 0, []
    for fn, caller, target, paused in itertools.product(FUNCTIONS, CALLERS, TARGETS, (False, True)):
        cast.evm.revert(base)
        if paused:
            cast.ok(cast.admin, "pause")
        want = expected(fn, caller, target, paused, cast)
        seq_before = cast.ledger.head()[0]
        outcome = cast.ledger.transact(getattr(cast, caller), fn, *arguments(fn, target, cast))
        got = None if outcome.ok else (outcome.error.name, outcome.error.args)
        runs += 1
        if got != want:
            mismatches.append((fn, caller, target, paused, want, got))
            continue
        # A success is a real ledger entry, not a silent no-op.
        entry_expected = outcome.ok and fn not in PAUSER_FUNCTIONS + ADMIN_FUNCTIONS
        if entry_expected and cast.ledger.head()[0] <= seq_before:
            mismatches.append((fn, caller, target, paused, "entry", "no entry"))
    cast.evm.revert(base)
    return runs, mismatches


def test_access_matrix(cast: Cast) -> None:
    runs, mismatches = run_access_matrix(cast)
    report(f"access matrix: {runs} combinations run, {len(mismatches)} mismatches")
    assert runs == len(FUNCTIONS) * len(CALLERS) * len(TARGETS) * 2
    assert not mismatches, "\n".join(map(str, mismatches))
