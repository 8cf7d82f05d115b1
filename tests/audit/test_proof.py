"""Citizen proofs: built from a node, checked offline; every doctored proof is rejected."""

from __future__ import annotations

import copy
import random

import pytest

from audit.errors import AuditError, ProofError
from audit.headers import header_hash
from audit.proof import build_proof, verify_proof

from .tampering import flip_hex


def _seq_of(chain, name: str, pick: int = 0) -> int:
    event = getattr(chain.contract.events, name)
    logs = event().get_logs(from_block=chain.deploy_block)
    return int(logs[pick]["args"]["seq"])


_BUILT: dict[str, list[dict]] = {}


@pytest.fixture
def proofs(chain) -> list[dict]:
    """A disbursement inside a batch, a single one, a reversal and a request transition."""
    if chain.kind in _BUILT:
        return copy.deepcopy(_BUILT[chain.kind])
    seqs = [
        _seq_of(chain, "DisbursementRecorded", 3),
        _seq_of(chain, "DisbursementRecorded", -1),
        _seq_of(chain, "DisbursementReversed", 0),
        _seq_of(chain, "RequestAdvanced", 2),
    ]
    _BUILT[chain.kind] = [build_proof(chain.source, chain.contract.address, chain.deploy_block, s) for s in seqs]
    return copy.deepcopy(_BUILT[chain.kind])


def test_proofs_verify_offline(chain, proofs) -> None:
    for proof in proofs:
        entry = verify_proof(proof)
        assert entry["seq"] == proof["entry"]["seq"]
        # The proven entry is the one the contract reports for that voucher.
        if entry["event"] == "DisbursementRecorded":
            fields = entry["fields"]
            seq, _, amount, _ = chain.contract.functions.disbursement(
                bytes.fromhex(fields["agencyCode"][2:]), bytes.fromhex(fields["voucher"][2:])
            ).call()
            assert (seq, amount) == (entry["seq"], fields["amount"])
    events = {p["entry"]["event"] for p in proofs}
    assert events == {"DisbursementRecorded", "DisbursementReversed", "RequestAdvanced"}
    head = proofs[0]["checkpoint"]["hash"]
    assert verify_proof(proofs[0], trusted_head=bytes.fromhex(head[2:]))["checkpoint"]["hash"] == head
    with pytest.raises(AuditError, match="trusted head"):
        verify_proof(proofs[0], trusted_head=bytes(32))


def test_unknown_seq_has_no_proof(chain) -> None:
    with pytest.raises(ProofError, match="no ledger entry with seq 999999"):
        build_proof(chain.source, chain.contract.address, chain.deploy_block, 999_999)


def _doctor(proof: dict, kind: str, rng: random.Random) -> dict:
    p = copy.deepcopy(proof)
    if kind == "proof node bit":
        i = rng.randrange(len(p["receipt_proof"]))
        p["receipt_proof"][i] = flip_hex(p["receipt_proof"][i], rng)
    elif kind == "receipt bit":
        p["receipt"] = flip_hex(p["receipt"], rng)
    elif kind == "header bit":
        i = rng.randrange(len(p["headers"]))
        name = rng.choice(sorted(k for k, v in p["headers"][i].items() if isinstance(v, str) and len(v) > 2))
        p["headers"][i][name] = flip_hex(p["headers"][i][name], rng)
    elif kind == "wrong index":
        p["tx_index"] += rng.choice([-1, 1, 2, 7])
    elif kind == "truncated proof":
        p["receipt_proof"] = p["receipt_proof"][: rng.randrange(len(p["receipt_proof"]))]
    elif kind == "replaced parent":
        # A forged header that hashes correctly on its own: only the chain link can expose it.
        i = rng.randrange(len(p["headers"]))
        forged = dict(p["headers"][i])
        forged["timestamp"] = hex(int(forged["timestamp"], 16) + 1)
        forged["hash"] = "0x" + header_hash(forged).hex()
        p["headers"][i] = forged
    elif kind == "log position":
        p["log_position"] += rng.choice([1, 2, 1000])
    elif kind == "entry field":
        fields = p["entry"]["fields"]
        name = rng.choice(sorted(fields))
        value = fields[name]
        fields[name] = (
            value + 1
            if isinstance(value, int) and not isinstance(value, bool)
            else flip_hex(value, rng)
            if isinstance(value, str) and value.startswith("0x")
            else str(value) + "x"
        )
    return p


KINDS = [
    "proof node bit",
    "receipt bit",
    "header bit",
    "wrong index",
    "truncated proof",
    "replaced parent",
    "log position",
    "entry field",
]


@pytest.mark.parametrize("kind", KINDS)
def test_doctored_proofs_are_rejected(chain, proofs, kind: str) -> None:
    rng = random.Random(f"{chain.kind}/{kind}")
    tried = rejected = 0
    for proof in proofs:
        for _ in range(5):
            doctored = _doctor(proof, kind, rng)
            if doctored == proof:
                continue
            tried += 1
            with pytest.raises(AuditError):
                verify_proof(doctored)
            rejected += 1
    print(f"{chain.kind}: {kind}: rejected {rejected}/{tried}")
    assert tried >= 15 and rejected == tried
