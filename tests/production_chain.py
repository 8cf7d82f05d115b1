"""A chain in production shape, on anvil: empty blocks on a timer and in bursts, and no old state.

Besu QBFT seals a block every period whether or not it holds transactions, and Bonsai storage
keeps state for only the last ~512 blocks. ``ProductionChain`` mimics both: anvil started with
``--block-time`` (a sealed block per period), ``burst(n)`` mines hundreds of empty blocks at once
(``anvil_mine``), and ``reload()`` stops anvil with SIGTERM (it dumps ``--state``) and starts it
again from the dump, after which it answers state queries only at the latest block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from web3 import Web3

from ledger import node


class ProductionChain:
    def __init__(self, directory: Path, block_time: int = 1) -> None:
        self.state = Path(directory) / "anvil-state.json"
        self.block_time = block_time
        self.port = node.free_port()
        self.process: Any = None
        self.url = ""
        self.w3: Web3 | None = None

    def start(self) -> ProductionChain:
        self.process, self.url = node.start_anvil(self.port, self.state, extra=["--block-time", str(self.block_time)])
        self.w3 = Web3(Web3.HTTPProvider(self.url))
        return self

    def stop(self) -> None:
        if self.process is not None:
            node.stop(self.process)
            self.process = None

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        assert self.w3 is not None
        answer = self.w3.provider.make_request(method, params or [])
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    @property
    def head(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    @contextlib.contextmanager
    def instant(self) -> Iterator[Web3]:
        """Mine each transaction at once while recording (a test waiting a period per transaction
        would be slow); the timer resumes afterwards."""
        self.rpc("evm_setAutomine", [True])
        try:
            assert self.w3 is not None
            yield self.w3
        finally:
            self.rpc("evm_setIntervalMining", [self.block_time])

    def burst(self, blocks: int) -> int:
        """Mine ``blocks`` empty blocks at once; returns the new head."""
        self.rpc("anvil_mine", [hex(blocks)])
        return self.head

    def reload(self) -> None:
        """Restart from the state dump on the same port: the blocks, receipts and logs survive,
        the state of every block but the latest does not."""
        self.stop()
        self.start()
