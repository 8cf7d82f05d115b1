"""The replay refuses event histories that break a ledger rule, even when every head is
recomputed to match (a forger with the contract's formula), and names the rule."""

from __future__ import annotations

import dataclasses

import pytest

from audit.errors import ReplayError
from audit.events import Entry, next_head
from audit.replay import ZERO32, replay
from audit.verify import check_receipts, load_bundle
from ledger.services import STUDENT_LOAN
from ledger.types import encode_code


@pytest.fixture
def entries(tester_chain) -> list[Entry]:
    bundle = load_bundle(tester_chain.directory)
    check_receipts(bundle)
    return list(bundle.entries)


def forge(entries: list[Entry]) -> list[Entry]:
    """Renumber and re-hash a doctored history so that only the ledger rules can object."""
    out, head = [], ZERO32
    for i, e in enumerate(entries):
        e = dataclasses.replace(e, seq=i + 1, words=None, block_number=1, log_index=i)
        head = next_head(head, e)
        out.append(dataclasses.replace(e, head=head))
    return out


def with_fields(e: Entry, **changes: object) -> Entry:
    return dataclasses.replace(e, fields={**e.fields, **changes}, words=None)


def first(entries: list[Entry], name: str, **match: object) -> int:
    return next(i for i, e in enumerate(entries) if e.name == name and all(e.fields[k] == v for k, v in match.items()))


def test_the_real_history_replays(entries) -> None:
    result = replay(entries)
    assert result.state.seq == len(entries) == 80
    assert replay(forge(entries)).state.head == result.state.head  # forge() itself changes nothing


def test_budget_exceeded(entries) -> None:
    i = first(entries, "DisbursementRecorded")
    entries[i] = with_fields(entries[i], amount=5_000_000_00 + 1)
    with pytest.raises(ReplayError, match="budget exceeded"):
        replay(forge(entries))


def test_reversed_twice(entries) -> None:
    i = first(entries, "DisbursementReversed")
    entries.insert(i + 1, entries[i])
    with pytest.raises(ReplayError, match="reversed twice"):
        replay(forge(entries))


def test_reversal_before_its_target(entries) -> None:
    i = first(entries, "DisbursementReversed")
    target = next(j for j, e in enumerate(entries) if e.seq == entries[i].fields["originalSeq"])
    moved = entries.pop(i)
    entries.insert(target, moved)
    with pytest.raises(ReplayError, match="which is not this agency's voucher"):
        replay(forge(entries))


def test_transition_outside_the_table(entries) -> None:
    i = first(entries, "RequestAdvanced")
    entries[i] = with_fields(entries[i], toState=STUDENT_LOAN.state_index("closed"))
    with pytest.raises(ReplayError, match="is not in the service table"):
        replay(forge(entries))


def test_role_not_held_at_the_time(entries) -> None:
    # The school's step, taken by the opening agency, which never held the school role.
    i = first(entries, "RequestAdvanced", toState=STUDENT_LOAN.state_index("school-verified"))
    entries[i] = with_fields(entries[i], agencyCode=encode_code("MOE-01"))
    with pytest.raises(ReplayError, match="did not hold role 1"):
        replay(forge(entries))


def test_role_used_after_it_was_revoked(entries) -> None:
    # The fourth student-loan request never moved; the school steps in after losing its role.
    opened = [e for e in entries if e.name == "RequestOpened" and e.fields["service"] == encode_code("student-loan")]
    step = entries[first(entries, "RequestAdvanced", toState=STUDENT_LOAN.state_index("school-verified"))]
    late = with_fields(step, trackingCode=opened[3].fields["trackingCode"])
    assert replay(forge(entries[: first(entries, "ServiceRoleSet", granted=False)] + [late]))  # allowed before
    with pytest.raises(ReplayError, match="did not hold role 1 at this point"):
        replay(forge([*entries, late]))


def test_missing_entry_and_wrong_head(entries) -> None:
    with pytest.raises(ReplayError, match="seq 11 follows seq 9"):
        replay(entries[:9] + entries[10:])
    doctored = list(entries)
    doctored[20] = with_fields(doctored[20])  # same values, but the head is checked from scratch
    replay(doctored)
    i = first(entries, "DisbursementRecorded")
    doctored[i] = with_fields(doctored[i], amount=doctored[i].fields["amount"] + 1)
    with pytest.raises(ReplayError, match="recomputed head"):
        replay(doctored)


def test_sender_must_record_for_the_agency(tester_chain, entries) -> None:
    bundle = load_bundle(tester_chain.directory)
    check_receipts(bundle)
    i = first(entries, "DisbursementRecorded")
    senders = dict(bundle.senders)
    senders[(entries[i].block_number, entries[i].tx_index)] = bytes(19) + b"\x99"
    with pytest.raises(ReplayError, match="is not a recorder of agency"):
        replay(entries, senders)
    assert replay(entries, bundle.senders).sender_checks == 61
