"""Issue 12 item 1: a mirror in which two on-chain tracking codes were merged must fail the
audit even when the rebuild (which goes through the indexer) merged them the same way."""

from __future__ import annotations

import random

from ledger.audit.compare import Snapshot, TableRows, chain_keys
from ledger.audit.events import tracking_text
from ledger.audit.replay import LedgerState, Request
from ledger.types import decode_tracking

VICTIM = bytes(range(1, 21)) + bytes(12)
LOOKALIKE = VICTIM[:20] + bytes(11) + b"\x01"


def test_the_auditors_rendering_agrees_with_the_printed_form_and_stays_injective() -> None:
    rng = random.Random(12)
    for _ in range(500):
        raw = rng.randbytes(20) + bytes(12)
        assert tracking_text(raw) == decode_tracking(raw)
    assert tracking_text(VICTIM) != tracking_text(LOOKALIKE) == "0x" + LOOKALIKE.hex()


def _mirror(tracking_codes: list[str]) -> Snapshot:
    rows = {(code,): (code,) for code in tracking_codes}
    snapshot = Snapshot("digest")
    snapshot.tables["requests"] = TableRows(("tracking_code",), ("tracking_code",), rows, len(rows), "sha")
    return snapshot


def _state(*codes: bytes) -> LedgerState:
    state = LedgerState()
    for raw in codes:
        state.requests[raw] = Request(b"service".ljust(32, b"\0"), b"AG".ljust(32, b"\0"))
    return state


def test_two_on_chain_codes_merged_in_the_mirror_are_caught() -> None:
    state = _state(VICTIM, LOOKALIKE)
    # What an indexer that kept only 20 bytes made of both: one row, under the victim's code.
    merged = _mirror([tracking_text(VICTIM)])
    found = chain_keys(state, merged)
    assert [d.kind for d in found] == ["count", "missing"]
    assert LOOKALIKE.hex() in found[1].detail
    assert chain_keys(state, _mirror([tracking_text(VICTIM), tracking_text(LOOKALIKE)])) == []


def test_a_faithful_mirror_under_another_rendering_is_caught() -> None:
    """Same row count, but a code the auditor does not print that way."""
    state = _state(VICTIM)
    found = chain_keys(state, _mirror(["0x" + VICTIM.hex()]))
    assert [d.kind for d in found] == ["missing"]


def test_strings_the_contract_accepts_decode_and_hash_as_bytes() -> None:
    """Found by tests/indexer/test_hostile.py: an agency name with invalid UTF-8 (which the
    contract accepts) made `audit verify` fail with "AgencyRegistered does not decode"."""
    from eth_abi import encode as abi_encode
    from eth_hash.auto import keccak

    from ledger.audit.events import decode_entry, event_specs, next_head
    from ledger.audit.receipts import Log

    topic0 = next(t for t, spec in event_specs().items() if spec.name == "AgencyRegistered")
    agency, name, name_en = b"AG".ljust(32, b"\0"), b"\xe0\xb8 cut \x00", "ชื่อ".encode()
    head = keccak(
        abi_encode(
            ["bytes32", "uint64", "bytes32", "bytes32", "bytes", "bytes"], [bytes(32), 1, topic0, agency, name, name_en]
        )
    )
    log = Log(
        b"\xab" * 20,
        (topic0, (1).to_bytes(32, "big"), agency),
        abi_encode(["bytes", "bytes", "bytes32"], [name, name_en, head]),
    )
    entry = decode_entry(log, 5, 0, 0)
    assert entry.raw == (agency, name, name_en) and entry.fields["nameEn"] == "ชื่อ"
    assert next_head(bytes(32), entry) == head == entry.head
