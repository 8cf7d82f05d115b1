"""The portable audit bundle: what `govledger audit export` writes and `verify` reads.

A bundle is a directory:

    manifest.json   format, chain id, contract address and deployed bytecode, block range,
                    head number and hash, ledger heads the node reported at sampled blocks,
                    and the SHA-256 and size of every other file
    headers.jsonl   one JSON-RPC header object per line, every block from the parent of the
                    first block to the head (the parent chain needs them all)
    receipts.jsonl  per block whose logsBloom may hold our contract: every receipt of the block,
                    EIP-2718 encoded (hex), with the transaction hashes and node-reported senders
    logs.jsonl      our contract's logs, in chain order, with their block, transaction and log index

Headers and receipts are kept in the exact form that is hashed, so a verifier needs nothing
but keccak, RLP and a trie to prove each log is in the chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from audit.errors import BundleError

FORMAT = "govledger-audit-bundle/1"
MANIFEST = "manifest.json"
HEADERS = "headers.jsonl"
RECEIPTS = "receipts.jsonl"
LOGS = "logs.jsonl"
DATA_FILES = (HEADERS, RECEIPTS, LOGS)


@dataclass
class Manifest:
    chain_id: int
    address: str  # checksummed contract address
    deployed_bytecode: str  # 0x-hex, as eth_getCode returned it at the head
    from_block: int
    head_number: int
    head_hash: str
    # {"block", "seq", "head"} from eth_call ledgerHead(), at the sampled heights whose state the
    # node still kept (a production node keeps recent state only; the head is always sampled).
    ledger_heads: list[dict[str, Any]]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> {"sha256", "bytes"}
    counts: dict[str, int] = field(default_factory=dict)
    format: str = FORMAT

    def to_json(self) -> bytes:
        return orjson.dumps(self.__dict__, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def write_manifest(directory: Path, manifest: Manifest) -> None:
    manifest.files = {}
    for name in DATA_FILES:
        sha, size = file_digest(directory / name)
        manifest.files[name] = {"sha256": sha, "bytes": size}
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_bytes(manifest.to_json())
    tmp.replace(directory / MANIFEST)


def read_manifest(directory: Path) -> Manifest:
    path = Path(directory) / MANIFEST
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise BundleError(f"{path} is missing: not an audit bundle, or the export did not finish") from None
    except orjson.JSONDecodeError as exc:
        raise BundleError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BundleError(f"{path}: unknown bundle format {data.get('format') if isinstance(data, dict) else data!r}")
    try:
        return Manifest(**data)
    except TypeError as exc:
        raise BundleError(f"{path} is malformed: {exc}") from None


def check_files(directory: Path, manifest: Manifest) -> None:
    """Every data file is present with the size and SHA-256 the manifest gives."""
    for name in DATA_FILES:
        expected = manifest.files.get(name)
        path = Path(directory) / name
        if expected is None:
            raise BundleError(f"the manifest does not list {name}")
        if not path.is_file():
            raise BundleError(f"{name} is missing from the bundle")
        sha, size = file_digest(path)
        if size != expected.get("bytes"):
            raise BundleError(f"{name} has {size} bytes, the manifest says {expected.get('bytes')} (truncated?)")
        if sha != expected.get("sha256"):
            raise BundleError(f"{name} has SHA-256 {sha}, the manifest says {expected.get('sha256')}")


def read_lines(path: Path) -> Iterator[Any]:
    """The JSON objects of a JSON-lines file; a torn or malformed line is a BundleError."""
    with Path(path).open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n"):
                raise BundleError(f"{path.name} line {number} is cut short")
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise BundleError(f"{path.name} line {number} is not JSON: {exc}") from None
