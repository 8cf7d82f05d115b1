"""Everything a GovLedger contract can emit is mirrored faithfully on both backends.

Issue 12 items 1-3: two tracking codes sharing their first 20 bytes, strings with NUL or
invalid UTF-8, and amounts beyond the mirror's 64-bit bound. Today's contract refuses the
first and third, but an older deployment or another chain may hold them, so these chains are
hand-made (``crafted``). Each test indexes into SQLite and PostgreSQL: both finish, both hold
the same rows and digest, and no two on-chain values share a row or a text.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from indexer.db import sqlalchemy_url

from .conftest import assert_same_mirror, snapshot
from .crafted import CraftedChain, code

pytestmark = pytest.mark.postgres

MAX_SATANG = 2**63 - 1  # the mirror's bound (ledger.types.MAX_SATANG)

A, B, SERVICE = code("AG-A"), code("AG-B"), code("complaint")
VICTIM = bytes(range(1, 21)) + b"\0" * 12
# The same first 20 bytes as the victim's code: every reader that keeps 20 bytes prints them alike.
LOOKALIKE = VICTIM[:20] + b"\0" * 11 + b"\x01"


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _raw(text_value: str) -> bytes:
    """The on-chain bytes of a mirrored string, by the rule indexer/README.md documents."""
    if text_value.startswith("\ufffd0x"):
        return bytes.fromhex(text_value[3:])
    return text_value.encode("utf-8")


def _service_chain() -> CraftedChain:
    chain = CraftedChain()
    chain.agency(A)
    chain.agency(B)
    chain.service(SERVICE, [b"received", b"closed"], [b"owner"], [(0, 1, 0)])
    return chain


@pytest.mark.parametrize("split", [False, True], ids=["one-batch", "victim-indexed-first"])
def test_tracking_codes_sharing_20_bytes_stay_apart(split: bool, sqlite_url: str, pg_url: str) -> None:
    chain = _service_chain()
    chain.open(VICTIM, A, SERVICE)
    chain.new_block()
    victim_block = len(chain.headers) - 2
    chain.open(LOOKALIKE, B, SERVICE)
    chain.advance(LOOKALIKE, B, 0, 1, b"closed by the attacker")
    chain.new_block()
    for url in (sqlite_url, pg_url):
        if split:
            chain.index(url, upto_block=victim_block)
        chain.index(url)
    mirrored = _rows(sqlite_url, "SELECT tracking_code, agency_code, state FROM requests ORDER BY opened_seq")
    assert len(mirrored) == 2, mirrored
    (victim, victim_agency, victim_state), (lookalike, lookalike_agency, _) = mirrored
    assert victim != lookalike
    assert (victim_agency, victim_state) == ("AG-A", 0), "the victim's request was taken over"
    assert lookalike_agency == "AG-B"
    steps = _rows(sqlite_url, "SELECT tracking_code, agency_code FROM request_transitions")
    assert steps == [(lookalike, "AG-B")]
    assert_same_mirror(snapshot(pg_url), snapshot(sqlite_url))


def test_disbursement_links_to_lookalike_codes_stay_apart(sqlite_url: str, pg_url: str) -> None:
    chain = _service_chain()
    chain.open(VICTIM, A, SERVICE)
    chain.open(LOOKALIKE, B, SERVICE)
    chain.project(code("P-B"), B, 1000)
    chain.disburse(code("P-B"), B, code("V-1"), 10, request=LOOKALIKE)
    chain.new_block()
    for url in (sqlite_url, pg_url):
        chain.index(url)
    (linked,) = _rows(sqlite_url, "SELECT request_tracking FROM disbursements")
    owners = dict(_rows(sqlite_url, "SELECT tracking_code, agency_code FROM requests"))
    assert len(owners) == 2, owners
    assert owners[linked[0]] == "AG-B"
    assert_same_mirror(snapshot(pg_url), snapshot(sqlite_url))


NAMES = [
    b"nul \x00 inside",
    b"\xff\xfe not utf-8",
    b"\xfe\xff not utf-8",  # differs from the previous only in bytes no UTF-8 decoder keeps
    "\ufffd\ufffd not utf-8".encode(),  # what a replacing decoder makes of both
    "\ufffd0x6869".encode(),  # looks like the escaped form
    b"\xe0\xb8",  # a Thai letter cut in half
    "ชื่อ \u202e bidi \u200b zero-width \x07 bell".encode(),
]


def test_nul_and_invalid_utf8_strings_are_mirrored_faithfully(sqlite_url: str, pg_url: str) -> None:
    chain = CraftedChain()
    for i, name in enumerate(NAMES):
        chain.agency(code(f"AG-{i}"), name, b"en\x00" + name)
    chain.service(SERVICE, [b"s\x00", b"\xff"], [b"owner\x00"], [(0, 1, 0)])
    chain.agency(A)
    chain.project(code("P-1"), A, 1000, b"\x00")
    chain.amend(code("P-1"), 1000, 2000, b"\x80reason")
    voucher = code("V-1")
    seq = chain.disburse(code("P-1"), A, voucher, 5)
    chain.reverse(code("P-1"), A, seq, voucher, 5)
    chain.open(VICTIM, A, SERVICE)
    chain.advance(VICTIM, A, 0, 1, b"\x00\x00")
    chain.new_block()
    for url in (sqlite_url, pg_url):
        chain.index(url)  # PostgreSQL text cannot hold NUL: today this stops
    names = dict(_rows(sqlite_url, "SELECT code, name FROM agencies"))
    assert [_raw(names[f"AG-{i}"]) for i in range(len(NAMES))] == NAMES
    assert len(set(names.values())) == len(names)
    english = dict(_rows(sqlite_url, "SELECT code, name_en FROM agencies"))
    assert [_raw(english[f"AG-{i}"]) for i in range(len(NAMES))] == [b"en\x00" + n for n in NAMES]
    (states,) = _rows(sqlite_url, "SELECT states FROM services")
    assert [_raw(s) for s in orjson.loads(states[0])] == [b"s\x00", b"\xff"]
    assert [_raw(r) for (r,) in _rows(sqlite_url, "SELECT reason FROM request_transitions")] == [b"\x00\x00"]
    assert [_raw(r) for (r,) in _rows(sqlite_url, "SELECT reason FROM allocation_amendments")] == [b"\x80reason"]
    assert [_raw(r) for (r,) in _rows(sqlite_url, "SELECT name FROM projects")] == [b"\x00"]
    assert_same_mirror(snapshot(pg_url), snapshot(sqlite_url))


def test_amounts_beyond_the_mirror_bound_do_not_stop_it(sqlite_url: str, pg_url: str) -> None:
    """Allocations up to uint128 (older deployments) and gross totals past 2**63 - 1 (repeated
    disburse and reverse): the indexer goes on, the exact value stays in the event, the
    column holds MAX_SATANG (meaning "at least this") and /v1/checkpoint lists it."""
    chain = CraftedChain()
    chain.agency(A)
    huge, big = code("P-HUGE"), code("P-BIG")
    chain.project(huge, A, 2**128 - 1)
    chain.project(big, A, 5 * 10**18)
    chain.new_block()
    chain.disburse(huge, A, code("V-H"), 2**100)
    for i in range(3):  # each round adds 4e18 to the gross: 1.2e19 in all
        seq = chain.disburse(big, A, code(f"V-{i}"), 4 * 10**18)
        if i < 2:
            chain.reverse(big, A, seq, code(f"V-{i}"), 4 * 10**18)
        chain.new_block()
    chain.amend(big, 5 * 10**18, 2**127)
    chain.new_block()
    for url in (sqlite_url, pg_url):
        chain.index(url, upto_block=2)
        chain.index(url)
    projects = {
        row[0]: row[1:]
        for row in _rows(sqlite_url, "SELECT code, allocation, disbursed, reversed, net, remaining FROM projects")
    }
    assert projects["P-BIG"] == (MAX_SATANG, MAX_SATANG, 8 * 10**18, 4 * 10**18, MAX_SATANG)
    assert projects["P-HUGE"] == (MAX_SATANG, MAX_SATANG, 0, MAX_SATANG, MAX_SATANG)
    (fields,) = _rows(sqlite_url, "SELECT fields FROM events WHERE event = 'ProjectRegistered' ORDER BY seq LIMIT 1")
    assert orjson.loads(fields[0])["allocation"] == str(2**128 - 1), "the event keeps the exact value"
    assert_same_mirror(snapshot(pg_url), snapshot(sqlite_url))

    from api.app import create_app
    from api.settings import ApiSettings

    for url in (sqlite_url, pg_url):
        settings = ApiSettings(database_url=url, cursor_secret=b"test-secret", rate_limit=0.0)
        with TestClient(create_app(settings)) as client:
            checkpoint = client.get("/v1/checkpoint")
            assert checkpoint.status_code == 200
            unheld = checkpoint.json()["unheld"]
            assert {"table": "projects", "key": "P-BIG", "column": "disbursed"} in unheld
            assert {"table": "disbursements", "key": "4", "column": "amount"} in unheld
            for path in ("/v1/summary", "/v1/agencies/AG-A", "/v1/projects/P-BIG", "/v1/projects"):
                assert client.get(path).status_code == 200, path


def test_a_reorg_recomputes_totals_beyond_the_bound_like_a_fresh_index(
    sqlite_url: str, pg_url: str, pg: Any, tmp_path: Any
) -> None:
    """Rolling back used SUM(amount), which raises on SQLite once a gross total passes 2**63 - 1."""
    chain = CraftedChain()
    chain.agency(A)
    big = code("P-BIG")
    chain.project(big, A, 5 * 10**18)
    seqs = []
    for i in range(3):  # blocks 1-3: three disbursements of 4e18, the first two reversed
        chain.new_block()
        seqs.append(chain.disburse(big, A, code(f"V-{i}"), 4 * 10**18))
        if i < 2:
            chain.reverse(big, A, seqs[i], code(f"V-{i}"), 4 * 10**18)
    chain.new_block()
    chain.reverse(big, A, seqs[2], code("V-2"), 4 * 10**18)  # block 4, reorganised away below
    chain.new_block()
    for url in (sqlite_url, pg_url):
        chain.index(url)
    assert _rows(sqlite_url, "SELECT disbursed, reversed, net FROM projects") == [(MAX_SATANG, MAX_SATANG, 0)]
    fork = chain.forked(after_block=3)
    fork.disburse(big, A, code("V-FORK"), 1)
    for _ in range(3):
        fork.new_block()
    for url, fresh in ((sqlite_url, f"sqlite:///{tmp_path / 'fresh.db'}"), (pg_url, pg.new())):
        fork.index(url)  # rolls back to block 3: the remaining disbursements sum to 1.2e19
        fork.index(fresh)
        assert_same_mirror(snapshot(url), snapshot(fresh))
    assert _rows(sqlite_url, "SELECT disbursed, reversed, net FROM projects") == [
        (MAX_SATANG, 8 * 10**18, 4 * 10**18 + 1)
    ]
