"""Where an export reads the chain: any standard JSON-RPC node, or web3 (eth-tester in tests).

Both hand back JSON-RPC objects as a node sends them (hex strings, camelCase names), so the
exporter never depends on web3.py's result formatting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import httpx
import orjson

from audit.errors import SourceError


class Source(Protocol):
    def call(self, method: str, params: list[Any]) -> Any: ...

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]: ...


class HttpSource:
    """A JSON-RPC node over HTTP, with batched requests (standard JSON-RPC 2.0 batches)."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url
        self._client = httpx.Client(timeout=timeout, headers={"Content-Type": "application/json"})
        self.has_block_receipts: bool | None = None

    def _post(self, body: Any) -> Any:
        try:
            response = self._client.post(self.url, content=orjson.dumps(body))
            response.raise_for_status()
            return orjson.loads(response.content)
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            raise SourceError(f"JSON-RPC node {self.url}: {exc}") from None

    @staticmethod
    def _result(reply: Any, method: str) -> Any:
        if not isinstance(reply, dict):
            raise SourceError(f"{method}: malformed reply")
        if "error" in reply:
            raise SourceError(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply.get("result")

    def call(self, method: str, params: list[Any]) -> Any:
        return self._result(self._post({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}), method)

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        if not calls:
            return []
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        replies = self._post(body)
        if not isinstance(replies, list) or len(replies) != len(calls):
            raise SourceError("JSON-RPC batch reply does not match the request")
        by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
        return [self._result(by_id.get(i), calls[i][0]) for i in range(len(calls))]

    def block_receipts(self, numbers: Sequence[int]) -> list[list[dict[str, Any]]]:
        """All receipts of each block: eth_getBlockReceipts, or per transaction when the node lacks it."""
        if self.has_block_receipts is not False:
            try:
                result = self.batch([("eth_getBlockReceipts", [hex(n)]) for n in numbers])
                self.has_block_receipts = True
                return result
            except SourceError:
                if self.has_block_receipts:
                    raise
                self.has_block_receipts = False
        blocks = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        out = []
        for block in blocks:
            out.append(self.batch([("eth_getTransactionReceipt", [h]) for h in block["transactions"]]))
        return out


def _jsonify(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _jsonify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonify(v) for v in value]
    return value


class Web3Source:
    """web3.py's formatted results turned back into node JSON; for eth-tester in tests."""

    def __init__(self, w3: Any) -> None:
        self.w3 = w3

    def call(self, method: str, params: list[Any]) -> Any:
        eth = self.w3.eth
        if method == "eth_chainId":
            return hex(eth.chain_id)
        if method == "eth_blockNumber":
            return hex(eth.block_number)
        if method == "eth_getBlockByNumber":
            number = params[0] if params[0] in ("latest", "earliest") else int(params[0], 16)
            return _jsonify(dict(eth.get_block(number, False)))
        if method == "eth_getCode":
            return "0x" + bytes(eth.get_code(params[0], int(params[1], 16))).hex()
        if method == "eth_call":
            return "0x" + bytes(eth.call(params[0], int(params[1], 16))).hex()
        if method == "eth_getLogs":
            query = dict(params[0])
            for bound in ("fromBlock", "toBlock"):
                if isinstance(query.get(bound), str) and query[bound].startswith("0x"):
                    query[bound] = int(query[bound], 16)
            return [_jsonify(dict(log)) for log in eth.get_logs(query)]
        raise SourceError(f"{method} is not served by the web3 source")

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        return [self.call(m, p) for m, p in calls]

    def block_receipts(self, numbers: Sequence[int]) -> list[list[dict[str, Any]]]:
        out = []
        for n in numbers:
            block = self.w3.eth.get_block(n, False)
            out.append([_jsonify(dict(self.w3.eth.get_transaction_receipt(h))) for h in block["transactions"]])
        return out


class EthTesterSource(Web3Source):
    """eth-tester through web3, with two corrections taken from py-evm's own header: eth-tester
    pads ``extraData`` to 32 bytes and carries ``logsBloom`` as an integer (leading zero bytes
    lost), and either changes the header's hash."""

    def __init__(self, w3: Any, tester: Any) -> None:
        super().__init__(w3)
        self.tester = tester

    def call(self, method: str, params: list[Any]) -> Any:
        result = super().call(method, params)
        if method == "eth_getBlockByNumber" and result is not None:
            header = self.tester.backend.chain.get_canonical_block_header_by_number(int(result["number"], 16))
            result["extraData"] = "0x" + bytes(header.extra_data).hex()
            result["logsBloom"] = "0x" + header.bloom.to_bytes(256, "big").hex()
        return result
