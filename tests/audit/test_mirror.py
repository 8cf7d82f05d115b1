"""Tamper detection on the mirror: every doctored row is found and named; the untouched
mirror passes. The published mirror is indexed from the real node (anvil) or, for
eth-tester (no HTTP endpoint), from the bundle served as a JSON-RPC node."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from audit.compare import compare_snapshots, read_snapshot, sqlite_snapshot
from audit.verify import verify_bundle

from .mutations import MUTATIONS, drop_secondary_indexes

POSITIONS = 50  # random positions per mutation class, per chain


def test_published_mirror_passes_verify(chain, published) -> None:
    target = published[chain.kind]
    report = verify_bundle(chain.directory, db_url=f"sqlite:///{target.path}", recompile=False)
    assert report.ok, report.lines()
    mirror = next(c for c in report.checks if c.name == "mirror")
    assert mirror.figures["tables"] >= 10
    assert mirror.figures["rows"] > 80


def _in_memory(path: Path) -> sqlite3.Connection:
    """A private copy of the mirror to doctor: no disk writes, so hundreds of runs stay cheap."""
    copy = sqlite3.connect(":memory:")
    with sqlite3.connect(path) as source:
        source.backup(copy)
    return copy


def test_untouched_copies_raise_no_alarm(chain, published) -> None:
    target = published[chain.kind]
    alarms = 0
    file_copy = read_snapshot(f"sqlite:///{target.path}")
    alarms += bool(compare_snapshots(target.reference, file_copy))
    for i in range(POSITIONS):
        db = _in_memory(target.path)
        if i % 2:
            drop_secondary_indexes(db)  # what every mutation run does first
        alarms += bool(compare_snapshots(target.reference, sqlite_snapshot(db)))
        db.close()
    print(f"{chain.kind}: untouched copies {POSITIONS}, false alarms {alarms}")
    assert alarms == 0


@pytest.mark.parametrize("kind", list(MUTATIONS))
def test_every_mutation_is_detected_and_named(chain, published, kind: str) -> None:
    target = published[chain.kind]
    rng = random.Random(f"{chain.kind}/{kind}")
    detected = named = 0
    for i in range(POSITIONS):
        db = _in_memory(target.path)
        drop_secondary_indexes(db)
        table, keys = MUTATIONS[kind](db, rng)
        differences = compare_snapshots(target.reference, sqlite_snapshot(db))
        db.close()
        detected += bool(differences)
        tables = {d.table for d in differences if d.kind in ("missing", "unexpected", "changed")}
        texts = " | ".join(d.detail for d in differences)
        # The row is named by its key, e.g. "disbursements row seq=17 differs: amount: ...".
        key_named = any(d.table == table and any(f"={key[0]!r}" in d.detail for key in keys) for d in differences)
        assert differences, f"{kind} #{i} on {table} {keys} went unnoticed"
        assert table in tables and key_named, f"{kind} #{i} on {table} {keys} not named: {texts}"
        named += 1
    print(f"{chain.kind}: {kind}: tried {POSITIONS}, detected {detected}, named {named}")
    assert detected == named == POSITIONS
