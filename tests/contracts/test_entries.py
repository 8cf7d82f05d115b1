"""Happy path of every write function: the exact event it emits and the head it advances to.

Expected field values come from the inputs; the expected head comes from heads.py, an
independent Python rendering of the formula in ILedgerHead.
"""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from ledger.deploy import service_args
from ledger.services import COMPLAINT, STUDENT_LOAN
from ledger.types import MAX_ALLOCATION

from .conftest import ALLOCATION, PAUSER_ROLE, ZERO32, Cast, code, commitment, disbursement, tracking
from .heads import FIELDS, SIGNATURES, head_of_event, next_head, topic0


def single_entry(cast: Cast, sender: bytes, fn: str, *args: Any) -> dict[str, Any]:
    """Send, check exactly one entry was added with the head the formula gives, return its args."""
    seq, head = cast.ledger.head()
    outcome = cast.ok(sender, fn, *args)
    ours = [e for e in outcome.events if e["event"] in SIGNATURES]
    assert len(ours) == 1, [e["event"] for e in outcome.events]
    event = ours[0]
    assert event["args"]["seq"] == seq + 1
    expected_head = head_of_event(head, event)
    assert event["args"]["head"] == expected_head
    assert cast.ledger.head() == (seq + 1, expected_head)
    return {"event": event["event"], **event["args"]}


def test_event_abi_matches_the_catalogue(cast: Cast) -> None:
    # The frozen ABI: every event carries seq first (indexed) and head last, and the
    # fields between are exactly those the head formula covers.
    events = {i["name"]: i for i in cast.ledger.codec.abi if i["type"] == "event" and i["name"] in SIGNATURES}
    assert set(events) == set(SIGNATURES)
    for name, item in events.items():
        inputs = item["inputs"]
        assert (inputs[0]["name"], inputs[0]["type"], inputs[0]["indexed"]) == ("seq", "uint64", True)
        assert (inputs[-1]["name"], inputs[-1]["type"], inputs[-1]["indexed"]) == ("head", "bytes32", False)
        middle = [
            (i["name"], "(uint8,uint8,uint8)[]" if i["type"] == "tuple[]" else i["type"], i["indexed"])
            for i in inputs[1:-1]
        ]
        assert middle == FIELDS[name], name
        assert int.from_bytes(topic0(name), "big") in cast.ledger.codec.events


def test_first_entry_has_seq_1_and_builds_on_zero() -> None:
    from ledger.artifacts import load_artifact

    from .evm import Evm, Ledger

    evm = Evm()
    ledger = Ledger(evm, load_artifact(), evm.accounts[0])
    assert ledger.head() == (0, ZERO32)
    outcome = ledger.transact(evm.accounts[0], "registerAgency", code("AG-X"), "กรม", "Dept")
    assert outcome.ok
    expected = next_head(ZERO32, 1, "AgencyRegistered", [code("AG-X"), "กรม", "Dept"])
    assert ledger.head() == (1, expected)
    # Topics: topic0, seq, agencyCode (indexed ones only, in order).
    topics = outcome.logs[0][1]
    assert topics == [int.from_bytes(topic0("AgencyRegistered"), "big"), 1, int.from_bytes(code("AG-X"), "big")]


def test_register_agency(cast: Cast) -> None:
    e = single_entry(cast, cast.admin, "registerAgency", code("AG-C"), "กรม ค", "Department C")
    assert (e["event"], e["agencyCode"], e["name"], e["nameEn"]) == (
        "AgencyRegistered",
        code("AG-C"),
        "กรม ค",
        "Department C",
    )
    assert cast.ledger.call("agencyExists", code("AG-C")) == (True,)
    assert cast.ledger.call("agencyExists", code("AG-D")) == (False,)


def test_add_and_remove_recorder(cast: Cast) -> None:
    new = cast.spare[1]
    e = single_entry(cast, cast.admin, "addRecorder", code("AG-B"), new)
    assert (e["event"], e["agencyCode"], e["recorder"]) == ("RecorderAdded", code("AG-B"), to_checksum_address(new))
    assert cast.ledger.call("agencyOf", new) == (code("AG-B"),)
    e = single_entry(cast, cast.admin, "removeRecorder", code("AG-B"), new)
    assert (e["event"], e["agencyCode"], e["recorder"]) == ("RecorderRemoved", code("AG-B"), to_checksum_address(new))
    assert cast.ledger.call("agencyOf", new) == (ZERO32,)


def test_register_projects_in_one_call(cast: Cast) -> None:
    seq, head = cast.ledger.head()
    projects = [
        (code("P-1"), code("AG-A"), 2569, 5_000_00, "โครงการ 1"),
        (code("P-2"), code("AG-B"), 2500, 0, "Project 2"),
        (code("P-3"), code("AG-B"), 2700, MAX_ALLOCATION, ""),  # the cap itself is accepted
    ]
    outcome = cast.ok(cast.admin, "registerProjects", projects)
    assert [e["event"] for e in outcome.events] == ["ProjectRegistered"] * 3
    for i, (event, p) in enumerate(zip(outcome.events, projects, strict=True)):
        args = event["args"]
        assert args["seq"] == seq + 1 + i
        assert (args["projectCode"], args["agencyCode"], args["fiscalYear"], args["allocation"], args["name"]) == p
        head = next_head(head, seq + 1 + i, "ProjectRegistered", list(p))
        assert args["head"] == head
        assert cast.ledger.call("project", p[0]) == (p[1], p[2], p[3], 0)
    assert cast.ledger.head() == (seq + 3, head)


def test_amend_allocation_up_and_down(cast: Cast) -> None:
    e = single_entry(cast, cast.admin, "amendAllocation", code("PA"), ALLOCATION + 7, "งบกลาง")
    assert (e["projectCode"], e["previousAllocation"], e["newAllocation"], e["reason"]) == (
        code("PA"),
        ALLOCATION,
        ALLOCATION + 7,
        "งบกลาง",
    )
    # Down to exactly what is disbursed (VA-1 = 1,000 satang) is allowed.
    e = single_entry(cast, cast.admin, "amendAllocation", code("PA"), 1_000, "cut")
    assert (e["previousAllocation"], e["newAllocation"]) == (ALLOCATION + 7, 1_000)
    assert cast.ledger.call("project", code("PA")) == (code("AG-A"), 2568, 1_000, 1_000)


def test_disburse_single(cast: Cast) -> None:
    d = disbursement("PA", "V-100", 12_345, tracking("TA"))
    e = single_entry(cast, cast.rec_a, "disburse", d)
    assert e["event"] == "DisbursementRecorded"
    assert (e["projectCode"], e["voucher"], e["amount"], e["payee"], e["documentHash"], e["requestTracking"]) == d
    assert e["agencyCode"] == code("AG-A")
    assert cast.ledger.call("project", code("PA"))[3] == 1_000 + 12_345
    assert cast.ledger.call("disbursement", code("AG-A"), code("V-100")) == (e["seq"], code("PA"), 12_345, False)
    # The same voucher number is free for another agency.
    assert cast.ledger.call("disbursement", code("AG-B"), code("V-100")) == (0, ZERO32, 0, False)


def test_disburse_returns_its_seq(cast: Cast) -> None:
    seq, _ = cast.ledger.head()
    outcome = cast.ok(cast.rec_a, "disburse", disbursement("PA", "V-101", 1))
    assert cast.ledger.codec.decode_output("disburse", outcome.output) == (seq + 1,)


def test_disburse_batch_numbers_entries_in_order(cast: Cast) -> None:
    seq, head = cast.ledger.head()
    batch = [disbursement("PA", f"B-{i}", 100 + i) for i in range(5)]
    outcome = cast.ok(cast.rec_a, "disburseBatch", batch)
    assert cast.ledger.codec.decode_output("disburseBatch", outcome.output) == (seq + 5,)
    for i, (event, d) in enumerate(zip(outcome.events, batch, strict=True)):
        head = next_head(head, seq + 1 + i, "DisbursementRecorded", [d[0], code("AG-A"), *d[1:]])
        assert (event["event"], event["args"]["seq"], event["args"]["head"]) == (
            "DisbursementRecorded",
            seq + 1 + i,
            head,
        )
    assert cast.ledger.head() == (seq + 5, head)
    assert cast.ledger.call("project", code("PA"))[3] == 1_000 + sum(100 + i for i in range(5))


def test_disburse_up_to_the_last_satang(cast: Cast) -> None:
    cast.ok(cast.rec_a, "disburse", disbursement("PA", "V-ALL", ALLOCATION - 1_000))
    assert cast.ledger.call("project", code("PA"))[2:] == (ALLOCATION, ALLOCATION)


def test_reverse(cast: Cast) -> None:
    original_seq = cast.ledger.call("disbursement", code("AG-A"), code("VA-1"))[0]
    e = single_entry(cast, cast.rec_a, "reverse", code("VA-1"), "ใส่จำนวนผิด")
    assert e["event"] == "DisbursementReversed"
    assert (e["projectCode"], e["agencyCode"], e["originalSeq"], e["voucher"], e["amount"], e["reason"]) == (
        code("PA"),
        code("AG-A"),
        original_seq,
        code("VA-1"),
        1_000,
        "ใส่จำนวนผิด",
    )
    assert cast.ledger.call("project", code("PA"))[3] == 0
    assert cast.ledger.call("disbursement", code("AG-A"), code("VA-1")) == (original_seq, code("PA"), 1_000, True)
    # The voucher stays used after the reversal: a correction is a new voucher.
    cast.refused(
        cast.rec_a, "disburse", (disbursement("PA", "VA-1", 5),), "VoucherAlreadyUsed", code("AG-A"), code("VA-1")
    )


def test_define_service(cast: Cast) -> None:
    states = ["a", "b", "c"]
    table = [(0, 1, 0), (1, 2, 1), (0, 2, 1)]
    e = single_entry(cast, cast.admin, "defineService", code("svc"), states, [1, 2, 0], ["owner", "checker"], table)
    assert (e["service"], e["states"], e["timeLimitDays"], e["roles"]) == (
        code("svc"),
        states,
        [1, 2, 0],
        ["owner", "checker"],
    )
    assert [tuple(t) for t in e["transitions"]] == table
    assert cast.ledger.call("transitionRole", code("svc"), 1, 2) == (True, 1)
    assert cast.ledger.call("transitionRole", code("svc"), 2, 1) == (False, 0)


def test_default_services_are_defined_as_in_services_py(cast: Cast) -> None:
    for definition in (STUDENT_LOAN, COMPLAINT):
        service = service_args(definition)[0]
        allowed = {(a, b): r for a, b, r in definition.encoded_transitions()}
        for a in range(len(definition.states)):
            for b in range(len(definition.states)):
                expected = (True, allowed[(a, b)]) if (a, b) in allowed else (False, 0)
                assert cast.ledger.call("transitionRole", service, a, b) == expected


def test_set_service_role(cast: Cast) -> None:
    e = single_entry(cast, cast.admin, "setServiceRole", code("student-loan"), 2, code("AG-B"), True)
    assert (e["service"], e["agencyCode"], e["role"], e["granted"]) == (code("student-loan"), code("AG-B"), 2, True)
    e = single_entry(cast, cast.admin, "setServiceRole", code("student-loan"), 2, code("AG-B"), False)
    assert e["granted"] is False


def test_open_and_advance_request(cast: Cast) -> None:
    tc, cm = tracking("T-new"), commitment("T-new")
    e = single_entry(cast, cast.rec_b, "openRequest", code("student-loan"), tc, cm)
    assert (e["trackingCode"], e["agencyCode"], e["service"], e["applicantCommitment"]) == (
        tc,
        code("AG-B"),
        code("student-loan"),
        cm,
    )
    assert cast.ledger.call("request", tc) == (code("student-loan"), code("AG-B"), 0)
    # submitted -> school-verified needs the school role, held here by agency A.
    cast.ok(cast.admin, "setServiceRole", code("student-loan"), 1, code("AG-A"), True)
    e = single_entry(cast, cast.rec_a, "advanceRequest", tc, 1, "เอกสารครบ")
    assert (e["trackingCode"], e["agencyCode"], e["fromState"], e["toState"], e["reason"]) == (
        tc,
        code("AG-A"),
        0,
        1,
        "เอกสารครบ",
    )
    assert cast.ledger.call("request", tc) == (code("student-loan"), code("AG-B"), 1)


def test_disbursement_may_link_an_existing_request(cast: Cast) -> None:
    e = single_entry(cast, cast.rec_b, "disburse", disbursement("PB", "V-L", 5, tracking("TA")))
    assert e["requestTracking"] == tracking("TA")


def test_pause_and_unpause_are_not_ledger_entries(cast: Cast) -> None:
    before = cast.ledger.head()
    outcome = cast.ok(cast.pauser, "pause")
    assert [e["event"] for e in outcome.events] == ["Paused"]
    assert cast.ledger.call("paused") == (True,)
    outcome = cast.ok(cast.admin, "unpause")
    assert [e["event"] for e in outcome.events] == ["Unpaused"]
    assert cast.ledger.head() == before


def test_admin_changes_hands_in_two_steps(cast: Cast) -> None:
    new_admin = cast.spare[2]
    cast.ok(cast.admin, "beginDefaultAdminTransfer", new_admin)
    # Until accepted, the old admin still rules and the new one cannot grant.
    cast.refused(
        new_admin,
        "grantRole",
        (PAUSER_ROLE, cast.stranger),
        "AccessControlUnauthorizedAccount",
        to_checksum_address(new_admin),
        ZERO32,
    )
    cast.refused(
        cast.stranger,
        "acceptDefaultAdminTransfer",
        (),
        "AccessControlInvalidDefaultAdmin",
        to_checksum_address(cast.stranger),
    )
    cast.evm.warp(1)
    cast.ok(new_admin, "acceptDefaultAdminTransfer")
    assert cast.ledger.call("defaultAdmin") == (to_checksum_address(new_admin),)
    cast.ok(new_admin, "grantRole", PAUSER_ROLE, cast.stranger)
    cast.refused(
        cast.admin,
        "grantRole",
        (PAUSER_ROLE, cast.stranger),
        "AccessControlUnauthorizedAccount",
        to_checksum_address(cast.admin),
        ZERO32,
    )


def test_head_is_a_function_of_the_fields(cast: Cast) -> None:
    # Two ledgers that differ in one satang must have different heads from that entry on.
    snapshot = cast.evm.snapshot()
    cast.ok(cast.rec_a, "disburse", disbursement("PA", "V-H", 100))
    first = cast.ledger.head()
    cast.evm.revert(snapshot)
    cast.ok(cast.rec_a, "disburse", disbursement("PA", "V-H", 101))
    second = cast.ledger.head()
    assert first[0] == second[0] and first[1] != second[1]
