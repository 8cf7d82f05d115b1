"""Transaction receipts: EIP-2718 typed encoding, the receipts-trie root, and trie proofs.

A block's receiptsRoot is the root of a Merkle-Patricia trie mapping ``rlp(index)`` to the
encoded receipt: ``rlp([status, cumulativeGasUsed, logsBloom, logs])`` for legacy receipts,
and the type byte followed by that RLP for typed ones (EIP-2718). Rebuilding the root from the
receipts proves every log in them is in the block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import rlp
from eth_bloom import BloomFilter
from trie import HexaryTrie
from trie.exceptions import BadTrieProof

from audit.errors import ProofError, ReceiptError


@dataclass(frozen=True)
class Log:
    address: bytes  # 20 bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class Receipt:
    type: int
    status: bytes  # status (b"" or b"\x01") or, before Byzantium, the 32-byte state root
    cumulative_gas_used: int
    bloom: bytes
    logs: tuple[Log, ...]


def _hex(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def _int(value: str | int) -> int:
    return value if isinstance(value, int) else int(value, 16)


def bloom_of(logs: Sequence[Log]) -> bytes:
    bloom = BloomFilter()
    for log in logs:
        bloom.add(log.address)
        for topic in log.topics:
            bloom.add(topic)
    return int(bloom).to_bytes(256, "big")


def bloom_contains(bloom: bytes, item: bytes) -> bool:
    return item in BloomFilter(int.from_bytes(bloom, "big"))


def receipt_from_rpc(receipt: Mapping[str, Any]) -> Receipt:
    """A receipt from a JSON-RPC receipt object (hex strings); the bloom is checked or filled in."""
    logs = tuple(
        Log(_hex(log["address"]), tuple(_hex(t) for t in log["topics"]), _hex(log["data"])) for log in receipt["logs"]
    )
    if receipt.get("status") is not None:
        status = b"\x01" if _int(receipt["status"]) == 1 else b""
    elif receipt.get("root"):
        status = _hex(receipt["root"])
    else:
        raise ReceiptError(f"receipt {receipt.get('transactionHash')} has neither status nor root")
    bloom = bloom_of(logs)
    if receipt.get("logsBloom") and _hex(receipt["logsBloom"]) != bloom:
        raise ReceiptError(f"receipt {receipt.get('transactionHash')}: logsBloom does not match its logs")
    return Receipt(_int(receipt.get("type") or 0), status, _int(receipt["cumulativeGasUsed"]), bloom, logs)


def encode_receipt(receipt: Receipt) -> bytes:
    body = rlp.encode(
        [
            receipt.status,
            receipt.cumulative_gas_used,
            receipt.bloom,
            [[log.address, list(log.topics), log.data] for log in receipt.logs],
        ]
    )
    return body if receipt.type == 0 else bytes([receipt.type]) + body


def _rlp_item(buf: bytes, pos: int) -> tuple[bool, int, int]:
    """(is_list, payload start, payload end) of the canonical RLP item at ``pos``."""
    first = buf[pos]
    if first < 0x80:
        return False, pos, pos + 1
    if first <= 0xB7:
        start, end = pos + 1, pos + 1 + first - 0x80
        if first == 0x81 and buf[start] < 0x80:
            raise ValueError("a single byte below 0x80 must encode itself")
        return False, start, end
    if first < 0xC0:
        size = first - 0xB7
        length = int.from_bytes(buf[pos + 1 : pos + 1 + size], "big")
        if buf[pos + 1] == 0 or length < 56:
            raise ValueError("non-canonical long string length")
        return False, pos + 1 + size, pos + 1 + size + length
    if first <= 0xF7:
        return True, pos + 1, pos + 1 + first - 0xC0
    size = first - 0xF7
    length = int.from_bytes(buf[pos + 1 : pos + 1 + size], "big")
    if buf[pos + 1] == 0 or length < 56:
        raise ValueError("non-canonical long list length")
    return True, pos + 1 + size, pos + 1 + size + length


def rlp_decode(buf: bytes) -> Any:
    """Strict, canonical RLP decoding into nested lists of bytes (pyrlp is pure Python and
    generic; receipts of 500 logs are decoded here several times faster)."""

    def item(pos: int, limit: int) -> tuple[Any, int]:
        is_list, start, end = _rlp_item(buf, pos)
        if end > limit:
            raise ValueError("an RLP item runs past its container")
        if not is_list:
            return buf[start:end], end
        out = []
        while start < end:
            value, start = item(start, end)
            out.append(value)
        return out, end

    if not buf:
        raise ValueError("empty RLP")
    value, end = item(0, len(buf))
    if end != len(buf):
        raise ValueError("trailing bytes after the RLP item")
    return value


def decode_receipt(encoded: bytes) -> Receipt:
    """The inverse of ``encode_receipt``; raises ReceiptError on anything malformed."""
    try:
        if not encoded:
            raise ValueError("empty receipt")
        kind = 0
        body = encoded
        # A legacy receipt is an RLP list (first byte >= 0xc0); a typed one starts with its type.
        if encoded[0] < 0x80:
            kind, body = encoded[0], encoded[1:]
        status, gas, bloom, logs = rlp_decode(body)
        if (gas and gas[0] == 0) or not all(isinstance(x, bytes) for x in (status, gas, bloom)):
            raise ValueError("malformed receipt fields")
        decoded_logs = []
        for address, topics, data in logs:
            if (
                not isinstance(address, bytes)
                or len(address) != 20
                or not isinstance(topics, list)
                or any(not isinstance(t, bytes) or len(t) != 32 for t in topics)
                or not isinstance(data, bytes)
            ):
                raise ValueError("malformed log")
            decoded_logs.append(Log(address, tuple(topics), data))
        if len(bloom) != 256:
            raise ValueError("bloom is not 256 bytes")
        return Receipt(kind, status, int.from_bytes(gas, "big"), bloom, tuple(decoded_logs))
    except (ValueError, TypeError, IndexError) as exc:
        raise ReceiptError(f"receipt does not decode: {exc}") from None


def receipts_trie(encoded_receipts: Sequence[bytes]) -> HexaryTrie:
    trie = HexaryTrie(db={})
    # Writes inside a squash_changes batch skip hashing intermediate roots: much faster.
    with trie.squash_changes() as batch:
        for index, encoded in enumerate(encoded_receipts):
            batch[rlp.encode(index)] = encoded
    return trie


def receipts_root(encoded_receipts: Sequence[bytes]) -> bytes:
    return receipts_trie(encoded_receipts).root_hash


def receipt_proof(encoded_receipts: Sequence[bytes], index: int) -> list[bytes]:
    """The trie nodes from the root to receipt ``index``, each RLP-encoded."""
    trie = receipts_trie(encoded_receipts)
    return [rlp.encode(node) for node in trie.get_proof(rlp.encode(index))]


def verify_receipt_proof(root: bytes, index: int, proof: Sequence[bytes]) -> bytes:
    """The encoded receipt at ``index`` under ``root``; raises ProofError when the path is wrong."""
    try:
        nodes = tuple(rlp.decode(node) for node in proof)
        value = HexaryTrie.get_from_proof(root, rlp.encode(index), nodes)
    except (BadTrieProof, rlp.exceptions.DecodingError, KeyError, ValueError, TypeError, IndexError) as exc:
        raise ProofError(f"receipt proof for index {index} does not lead to root 0x{root.hex()}: {exc}") from None
    if not value:
        raise ProofError(f"receipt proof shows no receipt at index {index} under root 0x{root.hex()}")
    return value
