"""Chains of hand-made GovLedger logs, served by the auditor's bundle node, for values today's
contract refuses but an older deployment (or another chain) may still hold: non-canonical
tracking codes, amounts above the mirror's 64-bit bound. The indexer does not check heads
(the auditor does), so every head here is a counter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from eth_abi import encode as abi_encode

from indexer import decode as ev
from indexer.sync import index_once
from ledger.deployment import Deployment

ADDRESS = "0x" + "ab" * 20
CHAIN_ID = 31337
START_TIME = 1_740_000_000  # 2025-02-19, a working day in Bangkok


def code(text: str) -> bytes:
    return text.encode("ascii").ljust(32, b"\0")


def word(n: int) -> bytes:
    return n.to_bytes(32, "big")


class CraftedChain:
    """Blocks of logs; ``add`` appends an event with the next seq to the current block."""

    def __init__(self) -> None:
        self.headers: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.seq = 0
        self.fork = ""
        self.new_block()

    def forked(self, after_block: int) -> CraftedChain:
        """Another chain sharing blocks 0..after_block with this one (its next blocks hash apart)."""
        other = CraftedChain()
        other.headers = [dict(h) for h in self.headers[: after_block + 1]]
        other.logs = [dict(log) for log in self.logs if log["block"] <= after_block]
        other.seq = max((int(log["topics"][1], 16) for log in other.logs), default=0)
        other.fork = self.fork + "'"
        other.new_block()
        return other

    def new_block(self) -> None:
        number = len(self.headers)
        parent = self.headers[-1]["hash"] if self.headers else "0x" + "00" * 32
        digest = hashlib.sha256(f"{number}:{parent}{self.fork}".encode()).hexdigest()
        self.headers.append(
            {
                "number": hex(number),
                "hash": "0x" + digest,
                "parentHash": parent,
                "timestamp": hex(START_TIME + 12 * number),
            }
        )

    def add(self, event: type[ev.LedgerEvent], topics: list[bytes], types: list[str], values: list[Any]) -> None:
        self.seq += 1
        header = self.headers[-1]
        number = int(header["number"], 16)
        self.logs.append(
            {
                "address": ADDRESS,
                "topics": [ev.topic_of(event)] + ["0x" + t.hex() for t in [word(self.seq), *topics]],
                "data": "0x" + abi_encode([*types, "bytes32"], [*values, word(self.seq)]).hex(),
                "block": number,
                "block_hash": header["hash"],
                "tx_hash": "0x" + hashlib.sha256(f"tx{self.seq}".encode()).hexdigest(),
                "tx_index": len([log for log in self.logs if log["block"] == number]),
                "log_index": len([log for log in self.logs if log["block"] == number]),
            }
        )

    # -- events -------------------------------------------------------------------------

    def agency(self, agency: bytes, name: bytes = b"name", name_en: bytes = b"name") -> None:
        self.add(ev.AgencyRegistered, [agency], ["bytes", "bytes"], [name, name_en])

    def service(self, service: bytes, states: list[bytes], roles: list[bytes], transitions: list[tuple]) -> None:
        self.add(
            ev.ServiceDefined,
            [service],
            ["bytes[]", "uint16[]", "bytes[]", "(uint8,uint8,uint8)[]"],
            [states, [0] * len(states), roles, transitions],
        )

    def open(self, tracking: bytes, agency: bytes, service: bytes) -> None:
        self.add(ev.RequestOpened, [tracking, agency], ["bytes32", "bytes32"], [service, b"\x05" * 32])

    def advance(self, tracking: bytes, agency: bytes, from_state: int, to_state: int, reason: bytes) -> None:
        self.add(ev.RequestAdvanced, [tracking, agency], ["uint8", "uint8", "bytes"], [from_state, to_state, reason])

    def project(self, project: bytes, agency: bytes, allocation: int, name: bytes = b"project") -> None:
        self.add(ev.ProjectRegistered, [project, agency], ["uint16", "uint256", "bytes"], [2568, allocation, name])

    def amend(self, project: bytes, previous: int, new: int, reason: bytes = b"reason") -> None:
        self.add(ev.AllocationAmended, [project], ["uint256", "uint256", "bytes"], [previous, new, reason])

    def disburse(self, project: bytes, agency: bytes, voucher: bytes, amount: int, request: bytes = b"\0" * 32) -> int:
        self.add(
            ev.DisbursementRecorded,
            [project, agency],
            ["bytes32", "uint256", "bytes32", "bytes32", "bytes32"],
            [voucher, amount, code("PAYEE"), b"\x09" * 32, request],
        )
        return self.seq

    def reverse(self, project: bytes, agency: bytes, original: int, voucher: bytes, amount: int) -> None:
        self.add(
            ev.DisbursementReversed,
            [project, agency],
            ["uint64", "bytes32", "uint256", "bytes"],
            [original, voucher, amount, b"reason"],
        )

    # -- serving and indexing -------------------------------------------------------------

    def deployment(self) -> Deployment:
        return Deployment(
            chain_id=CHAIN_ID,
            address=ADDRESS,
            deploy_block=0,
            deploy_block_hash=self.headers[0]["hash"],
            deploy_tx="",
            artifact_sha256="",
            compiler="",
        )

    @contextmanager
    def node(self, upto_block: int | None = None) -> Iterator[str]:
        from ledger.audit.node import BundleNode

        last = len(self.headers) - 1 if upto_block is None else upto_block
        manifest = SimpleNamespace(chain_id=CHAIN_ID, address=ADDRESS, deployed_bytecode="0x00")
        headers = self.headers[: last + 1]
        logs = [log for log in self.logs if log["block"] <= last]
        with BundleNode(manifest, headers, logs) as url:
            yield url

    def index(self, database_url: str, upto_block: int | None = None) -> None:
        with self.node(upto_block) as url:
            index_once(url, database_url, self.deployment())
