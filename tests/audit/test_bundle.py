"""Export from eth-tester and a real anvil, verify, and reject every doctored bundle."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from audit.bundle import HEADERS, read_manifest
from audit.errors import HeaderError
from audit.export import export_bundle, ledger_head_at
from audit.headers import check_chain, encode_header, header_hash
from audit.verify import verify_bundle

from . import tampering

TAMPER_RUNS = 13  # per class, per chain, per sealing: 13 x 2 x 2 = 52 bundles per class


def test_clean_bundle_verifies(chain) -> None:
    report = verify_bundle(chain.directory, recompile=False)
    assert report.ok, report.lines()
    names = [c.name for c in report.checks]
    assert names == ["files", "bundle", "headers", "receipts", "replay", "bytecode"]
    replay = next(c for c in report.checks if c.name == "replay")
    # 80 entries: 2 services, 3 agencies + 3 recorders, 6 projects, 2 role grants, 5 requests,
    # 10 advances, 40 disbursements, 6 reversals, 1 amendment, 1 role revoked, 1 recorder removed.
    assert replay.figures["entries"] == 80
    assert replay.figures["counts"]["DisbursementRecorded"] == 40
    assert replay.figures["counts"]["DisbursementReversed"] == 6
    assert replay.figures["head_samples"] >= 40
    assert replay.figures["sender_checks"] == 40 + 6 + 5 + 10


def test_header_hashes_match_the_nodes(chain) -> None:
    """Our RLP encoding gives the node's own block hash for every header, all fork fields included."""
    rows = [orjson.loads(line) for line in (chain.directory / HEADERS).read_bytes().splitlines()]
    for row in rows:
        block = chain.w3.eth.get_block(int(row["number"], 16))
        assert header_hash(row) == bytes(block["hash"])
    # Both chains run Prague: requestsHash is the 21st field.
    assert "requestsHash" in rows[-1]
    import rlp

    assert len(rlp.decode(encode_header(rows[-1]))) == 21


def test_header_missing_middle_fork_field_is_refused(chain) -> None:
    row = orjson.loads((chain.directory / HEADERS).read_bytes().splitlines()[-1])
    del row["blobGasUsed"]
    with pytest.raises(HeaderError, match="prefix"):
        encode_header(row)


def test_trusted_head(chain) -> None:
    manifest = read_manifest(chain.directory)
    good = bytes.fromhex(manifest.head_hash[2:])
    assert verify_bundle(chain.directory, trusted_head=good, recompile=False).ok
    bad = verify_bundle(chain.directory, trusted_head=bytes(32), recompile=False)
    assert [c.name for c in bad.failures()] == ["headers"]
    assert "trusted head" in bad.failures()[0].detail


def test_ledger_head_samples_equal_the_contract(chain) -> None:
    """The replayed head equals ledgerHead() at the head and at >= 40 sampled heights, asked live."""
    report = verify_bundle(
        chain.directory,
        recompile=False,
        live_heads=lambda block: ledger_head_at(chain.source, chain.contract.address, block),
    )
    assert report.ok, report.lines()
    replay = next(c for c in report.checks if c.name == "replay")
    assert replay.figures["head_comparisons"] == 2 * replay.figures["head_samples"]


def test_a_wrong_contract_head_is_named(chain, tmp_path: Path) -> None:
    report = verify_bundle(chain.directory, recompile=False, live_heads=lambda block: (1, "0x" + "11" * 32))
    assert [c.name for c in report.failures()] == ["replay"]
    assert "the contract (node) reports seq 1" in report.failures()[0].detail


def test_resumed_export_equals_a_fresh_one(chain, tmp_path: Path) -> None:
    class Crash(Exception):
        pass

    calls = {"n": 0}

    def crash_after_two_chunks(done: int, total: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash

    out = tmp_path / "resumed"
    with pytest.raises(Crash):
        export_bundle(
            chain.source, chain.contract.address, chain.deploy_block, out, chunk=5, progress=crash_after_two_chunks
        )
    assert not (out / "manifest.json").exists()
    # A torn write after the last saved chunk must be cut away on resume.
    with (out / HEADERS).open("ab") as handle:
        handle.write(b'{"torn": ')
    export_bundle(chain.source, chain.contract.address, chain.deploy_block, out, chunk=5)
    for name in ("headers.jsonl", "receipts.jsonl", "logs.jsonl"):
        assert (out / name).read_bytes() == (chain.directory / name).read_bytes(), name
    assert verify_bundle(out, recompile=False).ok


TAMPERINGS = {
    "header bit": (tampering.flip_header_bit, {"headers", "receipts"}),
    "receipt bit": (tampering.flip_receipt_bit, {"receipts"}),
    "log bit": (tampering.flip_log_bit, {"receipts"}),
    "replaced parent": (tampering.replace_parent, {"headers"}),
}


@pytest.mark.parametrize("resealed", [False, True], ids=["naive", "resealed"])
@pytest.mark.parametrize("kind", sorted(TAMPERINGS) + ["truncated file"])
def test_doctored_bundles_are_rejected(chain, tmp_path: Path, kind: str, resealed: bool) -> None:
    rng = random.Random(f"{chain.kind}-{kind}-{resealed}")
    rejected = 0
    for run in range(TAMPER_RUNS):
        directory = tampering.copy_bundle(chain.directory, tmp_path / f"b{run}")
        if kind == "truncated file":
            what = tampering.truncate_file(directory, rng)
            expected = {"bundle", "files", "headers", "receipts"}
        else:
            mutate, expected = TAMPERINGS[kind]
            what = mutate(directory, rng)
        if resealed:
            tampering.reseal(directory)
        else:
            expected = {"files"}
        report = verify_bundle(directory, recompile=False)
        failed = {c.name for c in report.failures()}
        assert not report.ok, f"{kind} not detected: {what}"
        assert failed & expected, f"{kind} ({what}) detected only by {failed}"
        rejected += 1
    print(f"{chain.kind} {kind} {'resealed' if resealed else 'naive'}: rejected {rejected}/{TAMPER_RUNS}")
    assert rejected == TAMPER_RUNS


def test_check_chain_needs_contiguous_headers(chain) -> None:
    rows = [orjson.loads(line) for line in (chain.directory / HEADERS).read_bytes().splitlines()]
    with pytest.raises(HeaderError, match="gap"):
        check_chain(rows[:3] + rows[4:])
