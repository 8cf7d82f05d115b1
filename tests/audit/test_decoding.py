"""The auditor's own decoders agree with the reference libraries: the one-word fast path with
eth-abi (values and abi.encode), the receipt RLP decoder with pyrlp, on real and random input."""

from __future__ import annotations

import random

import orjson
import pytest
import rlp
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from audit.errors import ReceiptError, ReplayError
from audit.events import decode_entry, event_specs
from audit.receipts import Log, decode_receipt, rlp_decode
from audit.verify import check_receipts, load_bundle


def test_fast_path_equals_eth_abi(chain) -> None:
    bundle = load_bundle(chain.directory)
    check_receipts(bundle)
    fast = 0
    for entry in bundle.entries:
        spec = event_specs()[entry.topic0]
        assert abi_encode(spec.types[1:-1], list(entry.fields.values())) == (
            entry.words if entry.words is not None else abi_encode(spec.types[1:-1], list(entry.fields.values()))
        )
        if entry.words is not None:
            fast += 1
            values = abi_decode(spec.types[1:-1], entry.words, strict=True)
            assert tuple(entry.fields.values()) == tuple(values)
    assert fast >= 50  # disbursements, recorders, role sets, requests


def test_fast_path_refuses_dirty_words(chain) -> None:
    bundle = load_bundle(chain.directory)
    row = next(r for r in bundle.log_rows if r["topics"][0][2:] == event_specs_by_name("ServiceRoleSet"))
    topics = tuple(bytes.fromhex(t[2:]) for t in row["topics"])
    data = bytearray(bytes.fromhex(row["data"][2:]))
    good = decode_entry(Log(bytes(20), topics, bytes(data)), 1, 0, 0)
    assert good.name == "ServiceRoleSet"
    data[0] = 1  # uint8 role with a high byte set
    with pytest.raises(ReplayError, match="does not decode"):
        decode_entry(Log(bytes(20), topics, bytes(data)), 1, 0, 0)
    with pytest.raises(ReplayError, match="wrong number of words"):
        decode_entry(Log(bytes(20), topics, bytes(data[:-1])), 1, 0, 0)


def event_specs_by_name(name: str) -> str:
    return next(topic.hex() for topic, spec in event_specs().items() if spec.name == name)


def test_rlp_decoder_equals_pyrlp(chain) -> None:
    checked = 0
    for line in (chain.directory / "receipts.jsonl").read_bytes().splitlines():
        for receipt in orjson.loads(line)["receipts"]:
            raw = bytes.fromhex(receipt[2:])
            body = raw[1:] if raw[0] < 0x80 else raw
            assert rlp_decode(body) == rlp.decode(body)
            checked += 1
    rng = random.Random(5)

    def shape(depth: int = 0):
        if depth < 3 and rng.random() < 0.4:
            return [shape(depth + 1) for _ in range(rng.randrange(6))]
        return rng.randbytes(rng.choice([0, 1, 1, 2, 31, 55, 56, 57, 300, 70_000]))

    for _ in range(2000):
        encoded = rlp.encode(shape())
        assert rlp_decode(encoded) == rlp.decode(encoded)
        checked += 1
    assert checked > 2000


@pytest.mark.parametrize(
    "raw",
    [
        b"\x81\x05",  # one byte below 0x80 wrapped in a string header
        b"\xb8\x05hello",  # long form for a short string
        b"\xc3\x01\x02",  # list shorter than announced
        b"\x01\x02",  # trailing bytes
        b"",
    ],
)
def test_rlp_decoder_refuses_non_canonical(raw: bytes) -> None:
    with pytest.raises(ValueError):
        rlp_decode(raw)
    with pytest.raises(ReceiptError):
        decode_receipt(b"\x02" + raw)


def test_a_string_that_is_not_utf8_decodes_and_its_head_is_over_its_bytes() -> None:
    """The contract accepts any bytes as a string: the entry decodes (shown with U+FFFD, as the
    mirror shows it) and its head is computed over the bytes on chain."""
    from eth_hash.auto import keccak

    from audit.events import next_head

    spec = next(s for s in event_specs().values() if s.name == "DisbursementReversed")
    reason = b"wrong \xff\xfe payee \x00"
    values = {
        "seq": 7,
        "projectCode": b"P".ljust(32, b"\0"),
        "agencyCode": b"A".ljust(32, b"\0"),
        "originalSeq": 3,
        "voucher": b"V".ljust(32, b"\0"),
        "amount": 100,
        "reason": reason,
    }
    raw_types = [t.replace("string", "bytes") for t in spec.types]
    head = keccak(
        abi_encode(
            ["bytes32", "uint64", "bytes32", *raw_types[1:-1]], [b"\1" * 32, 7, spec.topic0, *list(values.values())[1:]]
        )
    )
    values["head"] = head
    topics = [spec.topic0] + [
        abi_encode([t], [values[n]]) for n, t, i in zip(spec.names, raw_types, spec.indexed, strict=True) if i
    ]
    data = abi_encode(
        [t for t, i in zip(raw_types, spec.indexed, strict=True) if not i],
        [values[n] for n, i in zip(spec.names, spec.indexed, strict=True) if not i],
    )
    entry = decode_entry(Log(bytes(20), tuple(topics), data), 1, 0, 0)
    assert entry.fields["reason"] == "wrong \ufffd\ufffd payee \x00"
    assert next_head(b"\1" * 32, entry) == head
