"""The indexer's node: the shared JSON-RPC layer (``ledger.rpc``) and the standard methods it reads.

Retries, batching and timeouts are the layer's. A JSON-RPC error object is not retried: it is
returned to the caller, which knows what it means (a "too many results" error splits the range;
others are fatal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.errors import RpcError
from ledger.rpc import JsonRpc


class RpcClient(JsonRpc):
    """One node endpoint. Thread-safe for one caller per thread (httpx.Client is)."""

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def block_number(self) -> int:
        return int(self.call("eth_blockNumber"), 16)

    def header(self, number: int) -> dict[str, Any] | None:
        return self.call("eth_getBlockByNumber", [hex(number), False])

    def headers(self, numbers: Sequence[int]) -> list[dict[str, Any] | None]:
        """Headers by number, in batches; None for a block the node does not have."""
        out: list[dict[str, Any] | None] = []
        for start in range(0, len(numbers), 200):
            chunk = numbers[start : start + 200]
            for number, result in zip(
                chunk, self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in chunk]), strict=True
            ):
                if isinstance(result, RpcError):
                    raise result
                if result is not None and int(result["number"], 16) != number:
                    raise RpcError(f"eth_getBlockByNumber({number}) answered block {int(result['number'], 16)}")
                out.append(result)
        return out
