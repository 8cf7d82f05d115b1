"""Citizen receipts: a self-contained proof that one ledger entry is in the chain.

A proof carries the entry's log, its transaction receipt, the receipt-trie path from the
block's receiptsRoot to that receipt, the block header, and every header from there up to
a checkpoint block. Anyone can check it offline with keccak, RLP and a trie; comparing the
checkpoint hash with one published by a trusted party (an audit office, a newspaper, the
API of another mirror) makes it a proof against everyone else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eth_utils import to_checksum_address

from audit.errors import AuditError, ProofError
from audit.events import decode_entry, event_specs
from audit.headers import check_chain, header_from_block
from audit.receipts import decode_receipt, encode_receipt, receipt_from_rpc, receipt_proof, verify_receipt_proof

FORMAT = "govledger-proof/1"


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def _int(value: str) -> int:
    return int(value, 16)


def find_entry_log(source: Any, address: str, from_block: int, to_block: int, seq: int) -> dict[str, Any]:
    """The log of ledger entry ``seq`` (every entry has ``seq`` as its first indexed topic)."""
    topic = "0x" + seq.to_bytes(32, "big").hex()
    logs = source.call(
        "eth_getLogs",
        [{"address": address, "fromBlock": hex(from_block), "toBlock": hex(to_block), "topics": [None, topic]}],
    )
    ours = [log for log in logs if bytes.fromhex(log["topics"][0][2:]) in event_specs() and not log.get("removed")]
    if not ours:
        raise ProofError(f"no ledger entry with seq {seq} up to block {to_block}")
    return ours[0]


def build_proof(source: Any, address: str, from_block: int, seq: int, checkpoint: int | None = None) -> dict[str, Any]:
    """A proof of entry ``seq``, with the header chain up to ``checkpoint`` (default: the latest block)."""
    address = to_checksum_address(address)
    head = source.call("eth_getBlockByNumber", [hex(checkpoint) if checkpoint is not None else "latest", False])
    head_number = _int(head["number"])
    log = find_entry_log(source, address, from_block, head_number, seq)
    number = _int(log["blockNumber"])
    receipts = source.block_receipts([number])[0]
    tx_index = _int(log["transactionIndex"])
    encoded = [encode_receipt(receipt_from_rpc(r)) for r in receipts]
    receipt = decode_receipt(encoded[tx_index])
    # The log's position inside its receipt: the block-wide index minus the logs of earlier receipts.
    position = _int(log["logIndex"]) - sum(len(decode_receipt(e).logs) for e in encoded[:tx_index])
    headers = [
        header_from_block(b)
        for b in source.batch([("eth_getBlockByNumber", [hex(n), False]) for n in range(number, head_number + 1)])
    ]
    if headers[-1]["hash"] != head["hash"]:
        raise ProofError("the chain changed while the proof was built; try again")
    entry = decode_entry(receipt.logs[position], number, tx_index, _int(log["logIndex"]))
    return {
        "format": FORMAT,
        "chain_id": _int(source.call("eth_chainId", [])),
        "contract": address,
        "entry": {
            "seq": entry.seq,
            "event": entry.name,
            "head": jsonable(entry.head),
            "fields": {k: jsonable(v) for k, v in entry.fields.items()},
        },
        "block": number,
        "tx_hash": log["transactionHash"],
        "tx_index": tx_index,
        "log_index": _int(log["logIndex"]),
        "log_position": position,
        "receipt": "0x" + encoded[tx_index].hex(),
        "receipt_proof": ["0x" + node.hex() for node in receipt_proof(encoded, tx_index)],
        "headers": headers,
        "checkpoint": {"number": head_number, "hash": head["hash"]},
    }


def verify_proof(proof: Mapping[str, Any], trusted_head: bytes | None = None) -> dict[str, Any]:
    """Check a proof offline; returns the proven entry. Raises ProofError (or another AuditError)."""
    try:
        if proof.get("format") != FORMAT:
            raise ProofError(f"not a govledger proof (format {proof.get('format')!r})")
        headers = proof["headers"]
        if not headers or _int(headers[0]["number"]) != proof["block"]:
            raise ProofError("the header chain does not start at the entry's block")
        hashes = check_chain(headers, trusted_head)
        checkpoint = proof["checkpoint"]
        last = max(hashes)
        if last != checkpoint["number"] or "0x" + hashes[last].hex() != checkpoint["hash"].lower():
            raise ProofError(f"the header chain ends at block {last}, not at the checkpoint {checkpoint['hash']}")
        root = bytes.fromhex(headers[0]["receiptsRoot"][2:])
        nodes = [bytes.fromhex(n[2:]) for n in proof["receipt_proof"]]
        proven = verify_receipt_proof(root, proof["tx_index"], nodes)
        if proven != bytes.fromhex(proof["receipt"][2:]):
            raise ProofError("the receipt differs from the one the trie path proves")
        receipt = decode_receipt(proven)
        position = proof["log_position"]
        if not 0 <= position < len(receipt.logs):
            raise ProofError(f"the receipt has no log at position {position}")
        log = receipt.logs[position]
        if log.address != bytes.fromhex(proof["contract"][2:]):
            raise ProofError("the log was not emitted by the ledger contract")
        entry = decode_entry(log, proof["block"], proof["tx_index"], proof["log_index"])
    except AuditError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ProofError(f"the proof is malformed: {exc!r}") from None
    claimed = proof["entry"]
    actual = {
        "seq": entry.seq,
        "event": entry.name,
        "head": jsonable(entry.head),
        "fields": {k: jsonable(v) for k, v in entry.fields.items()},
    }
    if claimed != actual:
        raise ProofError("the entry stated in the proof differs from the log the chain holds")
    return {
        **actual,
        "block": proof["block"],
        "block_hash": headers[0]["hash"],
        "checkpoint": checkpoint,
        "confirmations": checkpoint["number"] - proof["block"],
    }
