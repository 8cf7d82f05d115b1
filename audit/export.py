"""Export a portable audit bundle from any standard JSON-RPC node.

Streams block by block to disk and is resumable: after each chunk the file sizes are saved
in ``export-progress.json``; a re-run with the same contract truncates the files back to those
sizes and carries on. The head is fixed when the export starts, so a resumed export still
describes one consistent chain (and fails loudly if that head was reorganised away).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from audit.bundle import DATA_FILES, HEADERS, LOGS, RECEIPTS, Manifest, write_manifest
from audit.errors import BundleError, HeaderError, ReceiptError
from audit.headers import check_header, header_from_block
from audit.receipts import bloom_contains, encode_receipt, receipt_from_rpc, receipts_root
from ledger.errors import RpcError

PROGRESS = "export-progress.json"
LEDGER_HEAD_CALL = "0x" + keccak(b"ledgerHead()")[:4].hex()


def _int(value: str) -> int:
    return int(value, 16)


def ledger_head_at(source: Any, address: str, block: int) -> tuple[int, str]:
    """(seq, head) that the contract's ``ledgerHead()`` returns at the end of ``block``."""
    raw = source.call("eth_call", [{"to": address, "data": LEDGER_HEAD_CALL}, hex(block)])
    data = bytes.fromhex(raw[2:])
    if len(data) != 64:
        return 0, "0x" + "00" * 32
    return int.from_bytes(data[:32], "big"), "0x" + data[32:].hex()


def state_head_at(source: Any, address: str, block: int) -> tuple[int, str] | None:
    """``ledger_head_at``, or None when the node no longer keeps the state of ``block``.

    Production nodes answer state queries for recent blocks only (Besu's Bonsai storage about the
    last 512; anvil reloaded from ``--state`` only the latest): everything else the audit needs
    comes from headers, receipts and logs, which every node keeps."""
    try:
        return ledger_head_at(source, address, block)
    except RpcError:
        return None


def sample_blocks(first: int, last: int, count: int, seed: str) -> list[int]:
    """``count`` distinct heights in [first, last], always including the last; reproducible per head."""
    span = range(first, last)
    picked = random.Random(seed).sample(span, min(count, len(span))) if count > 0 else []
    return sorted(set(picked) | {last})


def export_bundle(
    source: Any,
    address: str,
    from_block: int,
    outdir: Path,
    *,
    to_block: int | None = None,
    samples: int = 100,
    chunk: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> Manifest:
    """Write a bundle of blocks ``from_block``..head into ``outdir``; returns its manifest."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    address = to_checksum_address(address)
    address_bytes = bytes.fromhex(address[2:])
    state_path = outdir / PROGRESS
    state: dict[str, Any] | None = None
    if state_path.exists():
        state = orjson.loads(state_path.read_bytes())
        if state.get("address") != address or state.get("from_block") != from_block:
            state = None
    if state is None:
        head = source.call("eth_getBlockByNumber", [hex(to_block) if to_block is not None else "latest", False])
        if head is None:
            raise BundleError(f"the node has no block {to_block}")
        state = {
            "address": address,
            "from_block": from_block,
            "head_number": _int(head["number"]),
            "head_hash": head["hash"],
            # The parent of the first block anchors the range (an indexer asks for it too).
            "next_block": max(from_block - 1, 0),
            "first_header": max(from_block - 1, 0),
            "sizes": {name: 0 for name in DATA_FILES},
            "parent": None,
            "counts": {"headers": 0, "receipt_blocks": 0, "receipts": 0, "logs": 0},
        }
        (outdir / "manifest.json").unlink(missing_ok=True)
    head_number = state["head_number"]
    if from_block > head_number:
        raise BundleError(f"first block {from_block} is after the head {head_number}")
    handles = {}
    for name in DATA_FILES:
        path = outdir / name
        handle = path.open("ab" if path.exists() else "wb")
        handle.truncate(state["sizes"][name])
        handle.seek(state["sizes"][name])
        handles[name] = handle
    chain_id = _int(source.call("eth_chainId", []))
    try:
        block = state["next_block"]
        while block <= head_number:
            numbers = list(range(block, min(block + chunk, head_number + 1)))
            blocks = source.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
            wanted = [
                b
                for b in blocks
                if _int(b["number"]) >= from_block and bloom_contains(bytes.fromhex(b["logsBloom"][2:]), address_bytes)
            ]
            receipts_by_block = dict(
                zip(
                    [_int(b["number"]) for b in wanted],
                    source.block_receipts([_int(b["number"]) for b in wanted]),
                    strict=True,
                )
            )
            for b in blocks:
                header = header_from_block(b)
                digest = check_header(header)
                number = _int(header["number"])
                if state["parent"] is not None and header["parentHash"] != state["parent"]:
                    raise HeaderError(
                        f"block {number} does not follow block {number - 1}: the chain changed during export"
                    )
                state["parent"] = "0x" + digest.hex()
                handles[HEADERS].write(orjson.dumps(header) + b"\n")
                state["counts"]["headers"] += 1
                if number in receipts_by_block and number >= from_block:
                    _write_receipts(handles, state, b, receipts_by_block[number], address_bytes, address)
            block = numbers[-1] + 1
            for handle in handles.values():
                handle.flush()
                os.fsync(handle.fileno())
            state["next_block"] = block
            state["sizes"] = {name: handles[name].tell() for name in DATA_FILES}
            tmp = state_path.with_suffix(".tmp")
            tmp.write_bytes(orjson.dumps(state))
            tmp.replace(state_path)
            if progress:
                progress(block - state["first_header"], head_number + 1 - state["first_header"])
    finally:
        for handle in handles.values():
            handle.close()
    if state["parent"] != state["head_hash"]:
        raise HeaderError(f"block {head_number} is no longer {state['head_hash']}: the chain reorganised; export again")
    code = code_at(source, address, head_number)
    heights = sample_blocks(from_block, head_number, samples, state["head_hash"])
    heads = []
    for height in heights:
        found = state_head_at(source, address, height)
        if found is not None:
            heads.append({"block": height, "seq": found[0], "head": found[1]})
    manifest = Manifest(
        chain_id=chain_id,
        address=address,
        deployed_bytecode=code,
        from_block=from_block,
        head_number=head_number,
        head_hash=state["head_hash"],
        ledger_heads=heads,
        counts=state["counts"],
    )
    write_manifest(outdir, manifest)
    state_path.unlink(missing_ok=True)
    return manifest


def code_at(source: Any, address: str, block: int) -> str:
    """The contract's code at ``block``, or at the latest block when the node keeps no state of
    ``block``: GovLedger cannot change its code (no proxy, no selfdestruct), and the verifier
    compares it with the sources either way."""
    try:
        return str(source.call("eth_getCode", [address, hex(block)]))
    except RpcError:
        return str(source.call("eth_getCode", [address, "latest"]))


def _write_receipts(
    handles: dict[str, Any],
    state: dict[str, Any],
    block: dict[str, Any],
    receipts: list[dict[str, Any]],
    address_bytes: bytes,
    address: str,
) -> None:
    number = _int(block["number"])
    encoded = [encode_receipt(receipt_from_rpc(r)) for r in receipts]
    if receipts_root(encoded) != bytes.fromhex(block["receiptsRoot"][2:]):
        raise ReceiptError(f"block {number}: the node's receipts do not rebuild its receiptsRoot")
    txs = [[r["transactionHash"], r.get("from")] for r in receipts]
    line = {"block": number, "hash": block["hash"], "receipts": ["0x" + e.hex() for e in encoded], "tx": txs}
    handles[RECEIPTS].write(orjson.dumps(line) + b"\n")
    state["counts"]["receipt_blocks"] += 1
    state["counts"]["receipts"] += len(receipts)
    log_index = 0
    for tx_index, receipt in enumerate(receipts):
        for log in receipt["logs"]:
            if bytes.fromhex(log["address"][2:]) == address_bytes:
                row = {
                    "block": number,
                    "block_hash": block["hash"],
                    "tx_index": tx_index,
                    "log_index": log_index,
                    "tx_hash": receipt["transactionHash"],
                    "address": address,
                    "topics": [t.lower() for t in log["topics"]],
                    "data": log["data"].lower(),
                }
                handles[LOGS].write(orjson.dumps(row) + b"\n")
                state["counts"]["logs"] += 1
            log_index += 1
