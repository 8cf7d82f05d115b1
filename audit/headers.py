"""Block headers: RLP encoding, hash check, and the parent chain up to the head.

The field list is the Ethereum header in its canonical order. Fields added by later forks
(London's baseFeePerGas, Shanghai's withdrawalsRoot, Cancun's blobGasUsed, excessBlobGas and
parentBeaconBlockRoot, Prague's requestsHash) are encoded when the node's block object has
them; a fork can only append, so a later field present after a missing earlier one is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import rlp
from eth_hash.auto import keccak

from audit.errors import HeaderError

# (JSON-RPC name, kind): "b" fixed or variable bytes, "i" unsigned integer (minimal big-endian).
BASE_FIELDS: tuple[tuple[str, str], ...] = (
    ("parentHash", "b"),
    ("sha3Uncles", "b"),
    ("miner", "b"),
    ("stateRoot", "b"),
    ("transactionsRoot", "b"),
    ("receiptsRoot", "b"),
    ("logsBloom", "b"),
    ("difficulty", "i"),
    ("number", "i"),
    ("gasLimit", "i"),
    ("gasUsed", "i"),
    ("timestamp", "i"),
    ("extraData", "b"),
    ("mixHash", "b"),
    ("nonce", "b"),
)
FORK_FIELDS: tuple[tuple[str, str], ...] = (
    ("baseFeePerGas", "i"),  # London (EIP-1559)
    ("withdrawalsRoot", "b"),  # Shanghai (EIP-4895)
    ("blobGasUsed", "i"),  # Cancun (EIP-4844)
    ("excessBlobGas", "i"),  # Cancun (EIP-4844)
    ("parentBeaconBlockRoot", "b"),  # Cancun (EIP-4788)
    ("requestsHash", "b"),  # Prague (EIP-7685)
)
HEADER_KEYS = tuple(name for name, _ in BASE_FIELDS + FORK_FIELDS) + ("hash",)


def _bytes(value: str) -> bytes:
    return bytes.fromhex(value[2:] if value.startswith("0x") else value)


def _int(value: str | int) -> int:
    return value if isinstance(value, int) else int(value, 16)


def header_fields(header: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The fields this header carries, in canonical order."""
    missing = [name for name, _ in BASE_FIELDS if name not in header]
    if missing:
        raise HeaderError(f"block {header.get('number')}: header lacks {', '.join(missing)}")
    fields = list(BASE_FIELDS)
    present = [name in header and header[name] is not None for name, _ in FORK_FIELDS]
    count = sum(present)
    if present[:count] != [True] * count:
        raise HeaderError(f"block {header.get('number')}: fork fields are not a prefix of {FORK_FIELDS}")
    return fields + list(FORK_FIELDS[:count])


def encode_header(header: Mapping[str, Any]) -> bytes:
    """The RLP encoding whose keccak is the block hash."""
    items: list[Any] = []
    try:
        for name, kind in header_fields(header):
            items.append(_int(header[name]) if kind == "i" else _bytes(header[name]))
    except (ValueError, TypeError, AttributeError) as exc:
        raise HeaderError(f"block {header.get('number')}: malformed header field: {exc}") from None
    return rlp.encode(items)


def header_hash(header: Mapping[str, Any]) -> bytes:
    return keccak(encode_header(header))


def header_from_block(block: Mapping[str, Any]) -> dict[str, Any]:
    """Only the header of a JSON-RPC block object (no transactions, sizes or totals)."""
    return {key: block[key] for key in HEADER_KEYS if key in block and block[key] is not None}


def check_header(header: Mapping[str, Any]) -> bytes:
    """Raise unless the header hashes to its ``hash``; returns that hash."""
    computed = header_hash(header)
    claimed = _bytes(header.get("hash", "0x"))
    if computed != claimed:
        raise HeaderError(
            f"block {_int(header['number'])}: header hashes to 0x{computed.hex()}, not its hash {header.get('hash')}"
        )
    return computed


def check_chain(headers: Iterable[Mapping[str, Any]], trusted_head: bytes | None = None) -> dict[int, bytes]:
    """Check every header's hash and that each is the parent of the next, ending at the head.

    Headers must cover a contiguous range of block numbers. Returns number -> hash.
    """
    hashes: dict[int, bytes] = {}
    previous: tuple[int, bytes] | None = None
    for header in headers:
        number = _int(header["number"])
        digest = check_header(header)
        if previous is not None:
            if number != previous[0] + 1:
                raise HeaderError(f"block {number} follows block {previous[0]}: the header chain has a gap")
            if _bytes(header["parentHash"]) != previous[1]:
                raise HeaderError(
                    f"block {number}: parentHash {header['parentHash']} is not block {previous[0]}'s hash "
                    f"0x{previous[1].hex()}"
                )
        hashes[number] = digest
        previous = (number, digest)
    if previous is None:
        raise HeaderError("no headers")
    if trusted_head is not None and previous[1] != trusted_head:
        raise HeaderError(
            f"head block {previous[0]} is 0x{previous[1].hex()}, not the trusted head 0x{trusted_head.hex()}"
        )
    return hashes
