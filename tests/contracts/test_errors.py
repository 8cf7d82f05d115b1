"""Every custom error of the interfaces, raised with the offending values, changing nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_utils import to_checksum_address

from ledger.types import MAX_ALLOCATION

from .conftest import ALLOCATION, ZERO32, Cast, code, commitment, disbursement, tracking

COVERED: set[str] = set()


def bad_code(raw: bytes) -> bytes:
    return raw.ljust(32, b"\0")


def reversed_once(c: Cast) -> tuple[bytes, str, tuple[Any, ...], tuple[Any, ...]]:
    c.ok(c.rec_a, "reverse", code("VA-1"), "first")
    return (c.rec_a, "reverse", (code("VA-1"), "second"), (code("AG-A"), code("VA-1")))


# name -> (sender attribute, function, args factory, expected values factory)
CASES: list[tuple[str, Callable[[Cast], tuple[bytes, str, tuple[Any, ...], tuple[Any, ...]]]]] = [
    ("CodeMalformed", lambda c: (c.admin, "registerAgency", (bad_code(b"A B"), "n", "n"), (bad_code(b"A B"),))),
    ("CodeMalformed", lambda c: (c.admin, "registerAgency", (ZERO32, "n", "n"), (ZERO32,))),
    (
        "CodeMalformed",
        lambda c: (c.admin, "registerAgency", (b"A\0B".ljust(32, b"\0"), "n", "n"), (b"A\0B".ljust(32, b"\0"),)),
    ),
    (
        "CodeMalformed",
        lambda c: (c.admin, "registerAgency", (bad_code("ก".encode()), "n", "n"), (bad_code("ก".encode()),)),
    ),
    ("AgencyAlreadyRegistered", lambda c: (c.admin, "registerAgency", (code("AG-A"), "n", "n"), (code("AG-A"),))),
    ("AgencyUnknown", lambda c: (c.admin, "addRecorder", (code("AG-Z"), c.spare[1]), (code("AG-Z"),))),
    ("RecorderAddressZero", lambda c: (c.admin, "addRecorder", (code("AG-A"), b"\0" * 20), ())),
    (
        "RecorderAlreadyAssigned",
        lambda c: (c.admin, "addRecorder", (code("AG-B"), c.rec_a), (to_checksum_address(c.rec_a), code("AG-A"))),
    ),
    (
        "RecorderNotAssigned",
        lambda c: (c.admin, "removeRecorder", (code("AG-B"), c.rec_a), (to_checksum_address(c.rec_a), code("AG-B"))),
    ),
    (
        "RecorderNotAssigned",
        lambda c: (c.admin, "removeRecorder", (ZERO32, c.stranger), (to_checksum_address(c.stranger), ZERO32)),
    ),
    (
        "RecorderUnknown",
        lambda c: (c.stranger, "disburse", (disbursement("PA", "V", 1),), (to_checksum_address(c.stranger),)),
    ),
    (
        "FiscalYearInvalid",
        lambda c: (c.admin, "registerProjects", ([(code("P9"), code("AG-A"), 2499, 1, "")],), (2499,)),
    ),
    (
        "FiscalYearInvalid",
        lambda c: (c.admin, "registerProjects", ([(code("P9"), code("AG-A"), 2701, 1, "")],), (2701,)),
    ),
    (
        "AllocationTooLarge",
        lambda c: (c.admin, "registerProjects", ([(code("P9"), code("AG-A"), 2568, 2**128, "")],), (2**128,)),
    ),
    ("AllocationTooLarge", lambda c: (c.admin, "amendAllocation", (code("PA"), 2**256 - 1, "r"), (2**256 - 1,))),
    (
        "AllocationTooLarge",
        lambda c: (
            c.admin,
            "registerProjects",
            ([(code("P9"), code("AG-A"), 2568, MAX_ALLOCATION + 1, "")],),
            (MAX_ALLOCATION + 1,),
        ),
    ),
    (
        "AllocationTooLarge",
        lambda c: (c.admin, "amendAllocation", (code("PA"), MAX_ALLOCATION + 1, "r"), (MAX_ALLOCATION + 1,)),
    ),
    (
        "ProjectAlreadyRegistered",
        lambda c: (c.admin, "registerProjects", ([(code("PA"), code("AG-A"), 2568, 1, "")],), (code("PA"),)),
    ),
    (
        "ProjectAlreadyRegistered",
        lambda c: (
            c.admin,
            "registerProjects",
            ([(code("P9"), code("AG-A"), 2568, 1, ""), (code("P9"), code("AG-B"), 2568, 1, "")],),
            (code("P9"),),
        ),
    ),
    (
        "AgencyUnknown",
        lambda c: (c.admin, "registerProjects", ([(code("P9"), code("AG-Z"), 2568, 1, "")],), (code("AG-Z"),)),
    ),
    ("ProjectUnknown", lambda c: (c.admin, "amendAllocation", (code("P9"), 1, "r"), (code("P9"),))),
    ("ProjectUnknown", lambda c: (c.rec_a, "disburse", (disbursement("P9", "V", 1),), (code("P9"),))),
    (
        "ProjectNotOwned",
        lambda c: (c.rec_a, "disburse", (disbursement("PB", "V", 1),), (code("PB"), code("AG-B"), code("AG-A"))),
    ),
    (
        "AllocationBelowDisbursed",
        lambda c: (c.admin, "amendAllocation", (code("PA"), 999, "r"), (code("PA"), 1_000, 999)),
    ),
    ("ReasonMissing", lambda c: (c.admin, "amendAllocation", (code("PA"), 5_000, ""), ())),
    ("ReasonMissing", lambda c: (c.rec_a, "reverse", (code("VA-1"), ""), ())),
    ("BatchEmpty", lambda c: (c.admin, "registerProjects", ([],), ())),
    ("BatchEmpty", lambda c: (c.rec_a, "disburseBatch", ([],), ())),
    ("VoucherMissing", lambda c: (c.rec_a, "disburse", ((code("PA"), ZERO32, 1, ZERO32, ZERO32, ZERO32),), ())),
    (
        "DisbursementAmountZero",
        lambda c: (c.rec_a, "disburse", (disbursement("PA", "V-0", 0),), (code("PA"), code("V-0"))),
    ),
    (
        "DisbursementOverBudget",
        lambda c: (
            c.rec_a,
            "disburse",
            (disbursement("PA", "V-X", ALLOCATION - 1_000 + 1),),
            (code("PA"), ALLOCATION - 1_000, ALLOCATION - 1_000 + 1),
        ),
    ),
    (
        "DisbursementOverBudget",
        lambda c: (
            c.rec_a,
            "disburse",
            (disbursement("PA", "V-X", 2**256 - 1),),
            (code("PA"), ALLOCATION - 1_000, 2**256 - 1),
        ),
    ),
    (
        "DisbursementOverBudget",
        # The batch is checked as it goes: the second item sees the first one's spending.
        lambda c: (
            c.rec_a,
            "disburseBatch",
            ([disbursement("PA", "V-1", ALLOCATION - 1_000), disbursement("PA", "V-2", 1)],),
            (code("PA"), 0, 1),
        ),
    ),
    (
        "VoucherAlreadyUsed",
        lambda c: (c.rec_a, "disburse", (disbursement("PA", "VA-1", 1),), (code("AG-A"), code("VA-1"))),
    ),
    (
        "VoucherAlreadyUsed",
        lambda c: (
            c.rec_a,
            "disburseBatch",
            ([disbursement("PA", "V-D", 1), disbursement("PA", "V-D", 1)],),
            (code("AG-A"), code("V-D")),
        ),
    ),
    ("DisbursementAlreadyReversed", lambda c: reversed_once(c)),
    ("DisbursementUnknown", lambda c: (c.rec_a, "reverse", (code("VB-1"), "r"), (code("AG-A"), code("VB-1")))),
    (
        "LinkedRequestUnknown",
        lambda c: (c.rec_a, "disburse", (disbursement("PA", "V-L", 1, tracking("nope")),), (tracking("nope"),)),
    ),
    (
        "ServiceAlreadyDefined",
        lambda c: (
            c.admin,
            "defineService",
            (code("complaint"), ["a", "b"], [0, 0], ["owner"], []),
            (code("complaint"),),
        ),
    ),
    ("ServiceUnknown", lambda c: (c.admin, "setServiceRole", (code("nope"), 1, code("AG-A"), True), (code("nope"),))),
    (
        "ServiceUnknown",
        lambda c: (c.rec_a, "openRequest", (code("nope"), tracking("x"), commitment("x")), (code("nope"),)),
    ),
    (
        "ServiceDefinitionInvalid",
        lambda c: (c.admin, "defineService", (code("s"), ["a"], [0], ["owner"], []), (code("s"), 0)),
    ),
    (
        "ServiceDefinitionInvalid",
        lambda c: (c.admin, "defineService", (code("s"), ["a", "b"], [0], ["owner"], []), (code("s"), 0)),
    ),
    (
        "ServiceDefinitionInvalid",
        lambda c: (c.admin, "defineService", (code("s"), ["a", "b"], [0, 0], [], []), (code("s"), 0)),
    ),
    (
        "ServiceDefinitionInvalid",
        lambda c: (
            c.admin,
            "defineService",
            (code("s"), ["a", "b"], [0, 0], ["owner"], [(0, 1, 0), (1, 2, 0)]),
            (code("s"), 2),
        ),
    ),
    (
        "ServiceDefinitionInvalid",
        lambda c: (c.admin, "defineService", (code("s"), ["a", "b"], [0, 0], ["owner"], [(1, 1, 0)]), (code("s"), 1)),
    ),
    (
        "ServiceDefinitionInvalid",
        lambda c: (c.admin, "defineService", (code("s"), ["a", "b"], [0, 0], ["owner"], [(0, 1, 1)]), (code("s"), 1)),
    ),
    (
        "ServiceDefinitionInvalid",
        lambda c: (
            c.admin,
            "defineService",
            (code("s"), ["a", "b"], [0, 0], ["owner"], [(0, 1, 0), (0, 1, 0)]),
            (code("s"), 2),
        ),
    ),
    (
        "ServiceRoleUnknown",
        lambda c: (c.admin, "setServiceRole", (code("student-loan"), 0, code("AG-A"), True), (code("student-loan"), 0)),
    ),
    (
        "ServiceRoleUnknown",
        lambda c: (c.admin, "setServiceRole", (code("student-loan"), 3, code("AG-A"), True), (code("student-loan"), 3)),
    ),
    (
        "AgencyUnknown",
        lambda c: (c.admin, "setServiceRole", (code("student-loan"), 1, code("AG-Z"), True), (code("AG-Z"),)),
    ),
    (
        "RequestAlreadyOpened",
        lambda c: (c.rec_b, "openRequest", (code("complaint"), tracking("TA"), commitment("y")), (tracking("TA"),)),
    ),
    ("RequestUnknown", lambda c: (c.rec_a, "advanceRequest", (tracking("nope"), 1, "r"), (tracking("nope"),))),
    ("CommitmentMissing", lambda c: (c.rec_a, "openRequest", (code("complaint"), tracking("x"), ZERO32), ())),
    ("TrackingCodeMissing", lambda c: (c.rec_a, "openRequest", (code("complaint"), ZERO32, commitment("x")), ())),
    # Issue 12 item 1: the first 20 bytes of an open request's code, one low byte set.
    (
        "TrackingCodeMalformed",
        lambda c: (
            c.rec_b,
            "openRequest",
            (code("complaint"), tracking("TA")[:20] + bytes(11) + b"\x01", commitment("x")),
            (tracking("TA")[:20] + bytes(11) + b"\x01",),
        ),
    ),
    (
        "TrackingCodeMalformed",
        lambda c: (c.rec_a, "openRequest", (code("complaint"), b"\x80" * 32, commitment("x")), (b"\x80" * 32,)),
    ),
    (
        "TransitionNotAllowed",
        lambda c: (c.rec_a, "advanceRequest", (tracking("TA"), 3, "r"), (tracking("TA"), 0, 3)),
    ),
    (
        "TransitionNotAllowed",
        lambda c: (c.rec_a, "advanceRequest", (tracking("TA"), 0, "r"), (tracking("TA"), 0, 0)),
    ),
    (
        "TransitionNotAllowed",
        lambda c: (c.rec_a, "advanceRequest", (tracking("TA"), 255, "r"), (tracking("TA"), 0, 255)),
    ),
    (
        "TransitionRoleMissing",
        lambda c: (c.rec_b, "advanceRequest", (tracking("TA"), 1, "r"), (tracking("TA"), 0, code("AG-B"))),
    ),
]


@pytest.mark.parametrize(("error", "make"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_error_carries_the_offending_values(cast: Cast, error: str, make: Callable[..., Any]) -> None:
    sender, fn, args, values = make(cast)
    cast.refused(sender, fn, args, error, *values)


def run_error_cases(cast: Cast) -> list[str]:
    """Every case from one base state; returns the mismatches (used on planted variants)."""
    base = cast.evm.snapshot()
    mismatches = []
    for i, (error, make) in enumerate(CASES):
        cast.evm.revert(base)
        sender, fn, args, values = make(cast)
        outcome = cast.ledger.transact(sender, fn, *args)
        got = None if outcome.ok else (outcome.error.name, outcome.error.args)
        if got != (error, tuple(values)):
            mismatches.append(f"case {i} {error}: got {got}")
    cast.evm.revert(base)
    return mismatches


def test_every_custom_error_of_the_interfaces_has_a_case(cast: Cast) -> None:
    import re

    from ledger.paths import CONTRACTS_DIR

    declared = set()
    for path in (CONTRACTS_DIR / "interfaces").glob("*.sol"):
        declared |= set(re.findall(r"^\s*error\s+(\w+)\s*\(", path.read_text(), re.MULTILINE))
    assert len(declared) >= 30
    assert declared <= {name for name, _ in CASES}, declared - {name for name, _ in CASES}


def test_reversal_happens_at_most_once(cast: Cast) -> None:
    cast.ok(cast.rec_a, "reverse", code("VA-1"), "r")
    cast.refused(
        cast.rec_a, "reverse", (code("VA-1"), "again"), "DisbursementAlreadyReversed", code("AG-A"), code("VA-1")
    )
    assert cast.ledger.call("project", code("PA"))[3] == 0


def test_a_removed_recorder_keeps_nothing(cast: Cast) -> None:
    cast.refused(
        cast.revoked, "disburse", (disbursement("PA", "V-R", 1),), "RecorderUnknown", to_checksum_address(cast.revoked)
    )
    # ...and may later record for another agency.
    cast.ok(cast.admin, "addRecorder", code("AG-B"), cast.revoked)
    cast.ok(cast.revoked, "disburse", disbursement("PB", "V-R", 1))


def test_a_failing_batch_item_records_nothing(cast: Cast) -> None:
    before = cast.ledger.call("project", code("PA"))
    batch = [disbursement("PA", "V-OK1", 10), disbursement("PA", "V-OK2", 10), disbursement("PB", "V-BAD", 10)]
    cast.refused(cast.rec_a, "disburseBatch", (batch,), "ProjectNotOwned", code("PB"), code("AG-B"), code("AG-A"))
    assert cast.ledger.call("project", code("PA")) == before
    assert cast.ledger.call("disbursement", code("AG-A"), code("V-OK1"))[0] == 0


def test_views_refuse_unknown_keys(cast: Cast) -> None:
    assert cast.ledger.call_error("project", code("P9")).name == "ProjectUnknown"
    assert cast.ledger.call_error("request", tracking("nope")).name == "RequestUnknown"
