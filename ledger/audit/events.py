"""Our contract's events, decoded with eth-abi straight from the committed ABI.

Deliberately independent of ``indexer.decode``: the auditor must not share a decoding bug
with the mirror it checks. Also computes each entry's ledger head from the formula in
ILedgerHead: ``keccak256(abi.encode(prevHead, seq, topic0, <fields except seq and head>))``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak

from ledger.artifacts import load_artifact
from ledger.audit.errors import ReplayError
from ledger.audit.receipts import Log


def abi_type(param: Mapping[str, Any]) -> str:
    """The canonical type string of an ABI parameter, tuples expanded."""
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in param["components"]) + ")" + kind[len("tuple") :]
    return kind


@dataclass(frozen=True)
class EventSpec:
    name: str
    topic0: bytes
    names: tuple[str, ...]  # every parameter, declaration order
    types: tuple[str, ...]
    indexed: tuple[bool, ...]
    data_types: tuple[str, ...]  # the non-indexed ones, for abi_decode
    head_types: tuple[str, ...]  # what abi.encode covers: prevHead, seq, selector, fields...
    static: bool  # every parameter is a one-word value type: decoded and hashed by slicing words
    checks: tuple[Any, ...] = ()  # static events: per parameter, word -> value (strict)
    texts: tuple[bool, ...] = ()  # per parameter: a string (or string[]), decoded as bytes first


# One-word value types and the check each word must pass (ABI strict mode: clean padding).
def _static_check(kind: str) -> Any:
    if kind == "bytes32":
        return lambda word: word
    if kind == "bool":
        return lambda word: {bytes(32): False, bytes(31) + b"\1": True}[word]
    if kind == "address":
        return lambda word: "0x" + word[12:].hex() if not any(word[:12]) else _bad(kind)
    if kind.startswith("uint") and kind[4:].isdigit():
        bits = int(kind[4:])
        return lambda word: int.from_bytes(word, "big") if int.from_bytes(word, "big") >> bits == 0 else _bad(kind)
    return None


def _bad(kind: str) -> Any:
    raise ValueError(f"a {kind} word has dirty padding")


@lru_cache(maxsize=1)
def event_specs() -> dict[bytes, EventSpec]:
    """Events that carry ``seq`` and ``head`` (the ledger entries), keyed by topic0."""
    specs: dict[bytes, EventSpec] = {}
    for item in load_artifact()["abi"]:
        if item.get("type") != "event":
            continue
        names = tuple(p["name"] for p in item["inputs"])
        if not names or names[0] != "seq" or names[-1] != "head":
            continue
        types = tuple(abi_type(p) for p in item["inputs"])
        signature = f"{item['name']}({','.join(types)})"
        indexed = tuple(bool(p["indexed"]) for p in item["inputs"])
        specs[keccak(signature.encode())] = EventSpec(
            name=item["name"],
            topic0=keccak(signature.encode()),
            names=names,
            types=types,
            indexed=indexed,
            data_types=tuple(t for t, i in zip(types, indexed, strict=True) if not i),
            head_types=("bytes32", "uint64", "bytes32") + types[1:-1],
            static=all(_static_check(t) is not None for t in types),
            checks=tuple(_static_check(t) for t in types),
            texts=tuple(t.startswith("string") for t in types),
        )
    return specs


@dataclass(frozen=True)
class Entry:
    """One ledger entry: a decoded event and where the chain put it."""

    name: str
    seq: int
    head: bytes
    fields: dict[str, Any]  # every parameter except seq and head
    topic0: bytes
    block_number: int
    tx_index: int
    log_index: int  # position in the block, as JSON-RPC numbers logs
    words: bytes | None = None  # static events: the ABI encoding of ``fields``, as found in the log
    raw: tuple[Any, ...] | None = None  # other events: ``fields`` with strings as the bytes on chain

    def where(self) -> str:
        return f"{self.name} seq {self.seq} (block {self.block_number}, log {self.log_index})"


def decode_entry(log: Log, block_number: int, tx_index: int, log_index: int) -> Entry:
    """Decode one log of our contract; raises ReplayError for anything that is not an entry."""
    if not log.topics:
        raise ReplayError(f"block {block_number} log {log_index}: anonymous log from the contract")
    spec = event_specs().get(log.topics[0])
    if spec is None:
        raise ReplayError(f"block {block_number} log {log_index}: unknown event topic 0x{log.topics[0].hex()}")
    if spec.static:
        return _decode_static(spec, log, block_number, tx_index, log_index)
    topics = iter(log.topics[1:])
    try:
        # Strings are read as the bytes they are (the same ABI encoding): the contract accepts any
        # bytes, not only UTF-8, and the head is computed over those bytes.
        data = iter(abi_decode(tuple(_as_bytes(t) for t in spec.data_types), log.data, strict=True))
        values = []
        for kind, is_indexed in zip(spec.types, spec.indexed, strict=True):
            if is_indexed:
                # Every indexed parameter of ours is a value type: the topic is its encoding.
                values.append(abi_decode((kind,), next(topics))[0])
            else:
                values.append(next(data))
        if next(topics, None) is not None:
            raise ValueError("too many topics")
    except (StopIteration, ValueError, TypeError, OverflowError) as exc:
        raise ReplayError(f"block {block_number} log {log_index}: {spec.name} does not decode: {exc}") from None
    except Exception as exc:  # eth-abi's DecodingError family
        raise ReplayError(f"block {block_number} log {log_index}: {spec.name} does not decode: {exc}") from None
    raw = tuple(values[1:-1])
    texts = [_text(v) if is_text else v for v, is_text in zip(raw, spec.texts[1:-1], strict=True)]
    fields = dict(zip(spec.names[1:-1], texts, strict=True))
    return Entry(spec.name, values[0], values[-1], fields, spec.topic0, block_number, tx_index, log_index, raw=raw)


def _as_bytes(kind: str) -> str:
    return "bytes" + kind[len("string") :] if kind.startswith("string") else kind


def _text(value: Any) -> Any:
    """A string's bytes as text, each invalid UTF-8 sequence shown as U+FFFD (as the mirror shows it)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return [_text(v) for v in value]


def _decode_static(spec: EventSpec, log: Log, block_number: int, tx_index: int, log_index: int) -> Entry:
    """Events of one-word values only: each parameter is one 32-byte word of a topic or the data,
    so decoding is slicing (with eth-abi's strict padding checks) and abi.encode is concatenation."""
    data = log.data
    indexed_count = sum(spec.indexed)
    if len(log.topics) != 1 + indexed_count or len(data) != 32 * (len(spec.types) - indexed_count):
        raise ReplayError(f"block {block_number} log {log_index}: {spec.name} has the wrong number of words")
    topics = iter(log.topics[1:])
    offset = 0
    words = []
    for is_indexed in spec.indexed:
        if is_indexed:
            words.append(next(topics))
        else:
            words.append(data[offset : offset + 32])
            offset += 32
    try:
        values = [check(word) for check, word in zip(spec.checks, words, strict=True)]
    except (ValueError, KeyError) as exc:
        raise ReplayError(f"block {block_number} log {log_index}: {spec.name} does not decode: {exc!r}") from None
    fields = dict(zip(spec.names[1:-1], values[1:-1], strict=True))
    return Entry(
        spec.name,
        values[0],
        values[-1],
        fields,
        spec.topic0,
        block_number,
        tx_index,
        log_index,
        b"".join(words[1:-1]),
    )


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def tracking_text(raw: bytes) -> str:
    """The printed form of a tracking code, written here and not borrowed from ``ledger.types``
    or the indexer, so that a rendering bug there (two on-chain codes printed alike) shows:
    20 bytes as 32 Crockford base32 digits in groups of four; any other bytes32 as 0x-hex."""
    if len(raw) != 32 or raw[20:] != bytes(12):
        return "0x" + raw.hex()
    bits = "".join(f"{byte:08b}" for byte in raw[:20])
    digits = "".join(_CROCKFORD[int(bits[i : i + 5], 2)] for i in range(0, 160, 5))
    return "-".join(digits[i : i + 4] for i in range(0, 32, 4))


def next_head(previous: bytes, entry: Entry) -> bytes:
    if entry.words is not None:
        return keccak(previous + entry.seq.to_bytes(32, "big") + entry.topic0 + entry.words)
    spec = event_specs()[entry.topic0]
    if entry.raw is not None:
        types = tuple(_as_bytes(t) for t in spec.head_types)
        return keccak(abi_encode(types, [previous, entry.seq, entry.topic0, *entry.raw]))
    return keccak(abi_encode(spec.head_types, [previous, entry.seq, entry.topic0, *entry.fields.values()]))


@lru_cache(maxsize=1)
def other_topics() -> dict[bytes, str]:
    """Events of the ABI that are not ledger entries (OpenZeppelin roles, pausing)."""
    topics = {}
    for item in load_artifact()["abi"]:
        if item.get("type") == "event":
            signature = f"{item['name']}({','.join(abi_type(p) for p in item['inputs'])})"
            topics[keccak(signature.encode())] = item["name"]
    return {topic: name for topic, name in topics.items() if topic not in event_specs()}


def decode_entries(logs: Sequence[tuple[Log, int, int, int]]) -> list[Entry]:
    """The ledger entries among our contract's logs; role and pause events are left out."""
    others = other_topics()
    return [decode_entry(*item) for item in logs if not (item[0].topics and item[0].topics[0] in others)]
