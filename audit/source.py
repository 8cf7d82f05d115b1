"""Where an export reads the chain: any standard JSON-RPC node, through the shared JSON-RPC layer.

A source hands back JSON-RPC objects as a node sends them (hex strings, camelCase names), so the
exporter never depends on web3.py's result formatting. Tests inject eth-tester through
``tests/support/sources.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ledger.errors import RpcError
from ledger.rpc import JsonRpc


class Source(Protocol):
    def call(self, method: str, params: list[Any]) -> Any: ...

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]: ...

    def block_receipts(self, numbers: Sequence[int]) -> list[list[dict[str, Any]]]: ...


class HttpSource:
    """A JSON-RPC node; a node's error raises ``ledger.errors.RpcError`` (in a batch too)."""

    def __init__(self, url: str, timeout: float = 60.0, *, attempts: int = 3, node: JsonRpc | None = None) -> None:
        self.url = url
        self.node = node or JsonRpc(url, timeout=timeout, attempts=attempts)
        self.has_block_receipts: bool | None = None

    def call(self, method: str, params: list[Any]) -> Any:
        return self.node.call(method, params)

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        results = self.node.batch(calls)
        for result in results:
            if isinstance(result, RpcError):
                raise result
        return results

    def block_receipts(self, numbers: Sequence[int]) -> list[list[dict[str, Any]]]:
        """All receipts of each block: eth_getBlockReceipts, or per transaction when the node lacks it."""
        if self.has_block_receipts is not False:
            try:
                result = self.batch([("eth_getBlockReceipts", [hex(n)]) for n in numbers])
                self.has_block_receipts = True
                return result
            except RpcError:
                if self.has_block_receipts:
                    raise
                self.has_block_receipts = False
        blocks = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        out = []
        for block in blocks:
            out.append(self.batch([("eth_getTransactionReceipt", [h]) for h in block["transactions"]]))
        return out
