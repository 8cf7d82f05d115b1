"""The pure decoder: every event equals web3.py's own decoding of the same log (an independent
decoder), malformed logs fail loudly, odd bytes never crash it. Plus the working-day calendar."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import holidays
import httpx
import orjson
import pytest
from eth_abi import encode as abi_encode
from eth_utils import event_abi_to_log_topic, to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer import decode as ev
from indexer.errors import DecodeError, UnknownEventError
from indexer.workdays import WorkingCalendar, bangkok_date
from ledger.artifacts import load_artifact
from ledger.types import MAX_SATANG, decode_code, decode_tracking
from tests.indexer.chain import Scenario, deploy


def test_topics_are_the_abis_events() -> None:
    abi_topics = {
        "0x" + event_abi_to_log_topic(item).hex(): item["name"]
        for item in load_artifact()["abi"]
        if item["type"] == "event" and item["inputs"] and item["inputs"][0]["name"] == "seq"
    }
    assert {topic: t.NAME for topic, t in ev.TOPICS.items()} == abi_topics
    assert len(ev.TOPICS) == 11


def _web3_value(name: str, value: Any) -> Any:
    """web3's decoded argument in the mirror's representation (codes as text, hashes as hex)."""
    if isinstance(value, bytes):
        if name in ("trackingCode",):
            return decode_tracking(value)
        if name in ("documentHash", "applicantCommitment"):
            return "0x" + value.hex()
        if name == "requestTracking":
            return None if value == b"\0" * 32 else decode_tracking(value)
        return decode_code(value)
    if isinstance(value, Mapping):
        return [value["from"], value["to"], value["role"]]
    if isinstance(value, (list, tuple)):
        return [_web3_value(name, v) for v in value]
    return value


FIELD = {  # web3 argument name -> mirror field name
    "agencyCode": "agency",
    "nameEn": "name_en",
    "projectCode": "project",
    "fiscalYear": "fiscal_year",
    "previousAllocation": "previous_allocation",
    "newAllocation": "new_allocation",
    "documentHash": "document_hash",
    "requestTracking": "request",
    "originalSeq": "original_seq",
    "timeLimitDays": "time_limit_days",
    "trackingCode": "tracking",
    "applicantCommitment": "applicant_commitment",
    "fromState": "from_state",
    "toState": "to_state",
}


@pytest.mark.anvil
def test_decoding_equals_web3_on_a_real_chain(anvil: tuple[str, Any]) -> None:
    url, w3 = anvil
    contract, deployment = deploy(w3)
    scenario = Scenario(w3, contract, seed=2)
    scenario.setup()
    for _ in range(40):
        scenario.step()
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_getLogs",
        "params": [{"fromBlock": "0x0", "toBlock": "latest", "address": contract.address, "topics": ev.TOPIC_FILTER}],
    }
    logs = orjson.loads(httpx.post(url, json=body).content)["result"]
    receipts_logs = {}
    seen = set()
    for raw in logs:
        event = ev.decode_log(raw)
        seen.add(event.NAME)
        tx = raw["transactionHash"]
        if tx not in receipts_logs:
            receipts_logs[tx] = w3.eth.get_transaction_receipt(tx)["logs"]
        web3_log = next(entry for entry in receipts_logs[tx] if entry["logIndex"] == int(raw["logIndex"], 16))
        decoded = getattr(contract.events, event.NAME)().process_log(web3_log)
        args = dict(decoded["args"])
        assert event.seq == args.pop("seq")
        assert event.head == "0x" + args.pop("head").hex()
        expected = {FIELD.get(k, k): _web3_value(k, v) for k, v in args.items()}
        if "recorder" in expected:
            expected["recorder"] = to_checksum_address(args["recorder"])
        if event.NAME == "DisbursementRecorded" and expected["document_hash"] == "0x" + "00" * 32:
            expected["document_hash"] = None
        assert event.fields() == expected, event.NAME
        assert orjson.loads(event.fields_json()) == expected
        assert event.block_hash == raw["blockHash"] and event.log_index == int(raw["logIndex"], 16)
    assert seen >= {
        "AgencyRegistered",
        "RecorderAdded",
        "ProjectRegistered",
        "DisbursementRecorded",
        "DisbursementReversed",
        "ServiceDefined",
        "ServiceRoleSet",
        "RequestOpened",
        "RequestAdvanced",
    }


def _log(event_type: type[ev.LedgerEvent], topics: list[bytes], data: bytes) -> dict[str, Any]:
    return {
        "address": "0x" + "ab" * 20,
        "topics": [ev.topic_of(event_type)] + ["0x" + t.hex() for t in topics],
        "data": "0x" + data.hex(),
        "blockNumber": "0x10",
        "blockHash": "0x" + "cd" * 32,
        "transactionHash": "0x" + "ef" * 32,
        "transactionIndex": "0x0",
        "logIndex": "0x3",
        "removed": False,
    }


def _word(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _disbursement(amount: int = 500, project: bytes = b"P-1".ljust(32, b"\0")) -> dict[str, Any]:
    data = b"V-1".ljust(32, b"\0") + _word(amount) + b"PAYEE".ljust(32, b"\0") + b"\0" * 32 + b"\0" * 32 + b"\x07" * 32
    return _log(ev.DisbursementRecorded, [_word(9), project, b"AG".ljust(32, b"\0")], data)


def test_disbursement_by_slicing() -> None:
    event = ev.decode_log(_disbursement())
    assert isinstance(event, ev.DisbursementRecorded)
    assert (event.seq, event.project, event.agency, event.voucher, event.amount, event.payee) == (
        9,
        "P-1",
        "AG",
        "V-1",
        500,
        "PAYEE",
    )
    assert event.document_hash is None and event.request is None
    assert event.head == "0x" + "07" * 32
    assert (event.block_number, event.log_index) == (16, 3)


def test_codes_that_are_not_text_come_back_as_hex() -> None:
    odd = b"\xff\xfe" + b"\0" * 30
    event = ev.decode_log(_disbursement(project=odd))
    assert event.project == "0x" + odd.hex()


def test_amount_beyond_the_mirror_bound_is_kept_exact() -> None:
    assert orjson.loads(ev.decode_log(_disbursement(amount=MAX_SATANG)).fields_json())["amount"] == MAX_SATANG
    for amount in (MAX_SATANG + 1, 2**256 - 1):
        event = ev.decode_log(_disbursement(amount=amount))
        assert event.amount == amount
        assert orjson.loads(event.fields_json()) == {**event.fields(), "amount": str(amount)}


def test_strings_are_kept_injectively() -> None:
    """Issue 12 item 2: replacement made different bytes one text, and NUL stopped PostgreSQL."""
    raws = [b"\xe0\xb8", b"\xe0\xb9", "\ufffd".encode(), b"a\0b", "\ufffd0xe0b8".encode(), b"ok", b""]
    texts = []
    for raw in raws:
        data = abi_encode(["bytes", "bytes", "bytes32"], [raw, b"ok", b"\x01" * 32])
        event = ev.decode_log(_log(ev.AgencyRegistered, [_word(1), b"AG".ljust(32, b"\0")], data))
        assert "\0" not in event.name and ev.raw_of(event.name) == raw
        texts.append(event.name)
    assert len(set(texts)) == len(raws)
    assert texts[-2:] == ["ok", ""] and texts[2] == "\ufffd"


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda log: log.update(topics=["0x" + "11" * 32, *log["topics"][1:]]), UnknownEventError),
        (lambda log: log.update(topics=[]), UnknownEventError),
        (lambda log: log.update(topics=log["topics"][:3]), DecodeError),
        (lambda log: log.update(data=log["data"][:-2]), DecodeError),
        (lambda log: log.update(data=log["data"] + "00" * 32), DecodeError),
        (lambda log: log.update(removed=True), DecodeError),
        (lambda log: log.pop("blockHash"), DecodeError),
        (lambda log: log.update(data="0xzz"), DecodeError),
    ],
)
def test_malformed_logs_are_refused(mutate: Any, error: type[Exception]) -> None:
    log = _disbursement()
    mutate(log)
    with pytest.raises(error):
        ev.decode_log(log)


def test_malformed_dynamic_data_is_refused() -> None:
    log = _log(ev.AgencyRegistered, [_word(1), b"AG".ljust(32, b"\0")], _word(0x40) + _word(10**9) + b"\0" * 32)
    with pytest.raises(DecodeError):
        ev.decode_log(log)


# -- working days ---------------------------------------------------------------------------


def test_working_days_skip_weekends_and_thai_holidays() -> None:
    calendar = WorkingCalendar()
    thai = holidays.country_holidays("TH", years=[2025, 2026])
    # Songkran (13-15 April) is a public holiday in Thailand every year.
    assert date(2025, 4, 14) in thai and date(2025, 4, 15) in thai
    # Friday 11 April 2025 + 1 working day: skips the weekend and Songkran.
    day = calendar.add_working_days(date(2025, 4, 11), 1)
    assert day > date(2025, 4, 15)
    assert day.weekday() < 5 and day not in thai
    between = [date(2025, 4, 11) + timedelta(days=i) for i in range(1, (day - date(2025, 4, 11)).days)]
    assert all(d.weekday() >= 5 or d in thai for d in between)
    # A week without holidays: Monday 1 September 2025 + 5 working days = Monday 8 September.
    assert calendar.add_working_days(date(2025, 9, 1), 5) == date(2025, 9, 8)
    assert calendar.add_working_days(date(2025, 9, 1), 0) == date(2025, 9, 1)
    # Queen Suthida's birthday (3 June) falls inside a week: Mon 2 June 2025 + 5 = Tue 10 June.
    assert date(2025, 6, 3) in thai
    assert calendar.add_working_days(date(2025, 6, 2), 5) == date(2025, 6, 10)


def test_bangkok_date_of_block_time() -> None:
    # 2024-12-31 17:30 UTC is already 1 January in Bangkok (UTC+7).
    assert bangkok_date(1735666200) == date(2025, 1, 1)


def test_fast_code_decoding_equals_ledger_types() -> None:
    import random

    from ledger.types import decode_code

    rng = random.Random(5)
    alphabet = b"AZaz09._/-\x00\x7f\x80\xff \x01"
    samples = [b"\0" * 32, b"MOE".ljust(32, b"\0"), b"A" * 32, b"A\0B".ljust(32, b"\0"), b"\0A".ljust(32, b"\0")]
    samples += [bytes(rng.choice(alphabet) for _ in range(32)) for _ in range(3000)]
    samples += [
        bytes(rng.choice(alphabet[:9]) for _ in range(rng.randint(0, 32))).ljust(32, b"\0") for _ in range(3000)
    ]
    for raw in samples:
        assert ev.code_text(raw) == decode_code(raw), raw


# Bytes32 values that sit close to one another: canonical codes, their zero padding disturbed,
# NUL inside, non-ASCII, the printable form of another value's hex.
_NEAR = st.one_of(
    st.from_regex(rb"[A-Za-z0-9._/-]{1,32}", fullmatch=True).map(lambda b: b.ljust(32, b"\0")),
    st.binary(min_size=32, max_size=32),
    st.builds(
        lambda head, tail: (head + b"\0" + tail).ljust(32, b"\0")[:32], st.binary(max_size=20), st.binary(max_size=11)
    ),
    st.builds(
        lambda b, i: b[:20] + bytes(i) + b"\x01" + bytes(11 - i),
        st.binary(min_size=20, max_size=20),
        st.integers(0, 11),
    ),
)


@settings(max_examples=500, deadline=None)
@given(a=_NEAR, b=_NEAR)
def test_no_two_on_chain_values_share_a_text(a: bytes, b: bytes) -> None:
    """Issue 12 item 1: every bytes32 the indexer keys on renders injectively."""
    ev._code_cache.clear()
    for render in (ev.code_text, ev._voucher_text, decode_tracking):
        assert (render(a) == render(b)) == (a == b), (render, a, b)
