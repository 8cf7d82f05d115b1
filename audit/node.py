"""A read-only JSON-RPC node that serves a verified bundle, so the indexer can rebuild a mirror
from it through its ordinary code path (the same one the public mirror was built with).

Serves eth_chainId, net_version, eth_blockNumber, eth_getBlockByNumber/Hash (headers, no
transactions' bodies), eth_getLogs (our contract's proven logs), eth_getCode; loopback only.
"""

from __future__ import annotations

import bisect
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson


class BundleNode:
    def __init__(
        self,
        manifest: Any,
        headers: list[dict[str, Any]],
        log_rows: list[dict[str, Any]],
        head: int | None = None,
    ) -> None:
        self.manifest = manifest
        self.by_number = {int(h["number"], 16): h for h in headers}
        self.by_hash = {h["hash"].lower(): h for h in headers}
        # "latest" may be set below the bundle's head, to rebuild a mirror at its own height.
        self.head = max(self.by_number) if head is None else head
        self.logs = [
            {
                "address": row["address"].lower(),
                "topics": row["topics"],
                "data": row["data"],
                "blockNumber": hex(row["block"]),
                "blockHash": row["block_hash"],
                "transactionHash": row["tx_hash"],
                "transactionIndex": hex(row["tx_index"]),
                "logIndex": hex(row["log_index"]),
                "removed": False,
            }
            for row in log_rows
        ]
        self.log_blocks = [row["block"] for row in log_rows]
        self._server: ThreadingHTTPServer | None = None

    # -- methods ---------------------------------------------------------------------------

    def _number(self, tag: str) -> int:
        if tag in ("latest", "safe", "finalized", "pending"):
            return self.head
        if tag == "earliest":
            return min(self.by_number)
        return int(tag, 16)

    def _block(self, header: dict[str, Any] | None) -> dict[str, Any] | None:
        if header is None:
            return None
        return {**header, "transactions": [], "uncles": []}

    def get_logs(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        if "blockHash" in query:
            header = self.by_hash.get(query["blockHash"].lower())
            start = end = int(header["number"], 16) if header else -1
        else:
            start = self._number(query.get("fromBlock", "latest"))
            end = self._number(query.get("toBlock", "latest"))
        addresses = query.get("address")
        if isinstance(addresses, str):
            addresses = [addresses]
        wanted = {a.lower() for a in addresses} if addresses else None
        filters = query.get("topics") or []
        out = []
        for log in self.logs[bisect.bisect_left(self.log_blocks, start) : bisect.bisect_right(self.log_blocks, end)]:
            if wanted is not None and log["address"] not in wanted:
                continue
            if self._topics_match(log["topics"], filters):
                out.append(log)
        return out

    @staticmethod
    def _topics_match(topics: list[str], filters: list[Any]) -> bool:
        for i, option in enumerate(filters):
            if option is None:
                continue
            options = [option] if isinstance(option, str) else option
            if i >= len(topics) or topics[i].lower() not in {o.lower() for o in options}:
                return False
        return True

    def dispatch(self, method: str, params: list[Any]) -> Any:
        if method == "eth_chainId":
            return hex(self.manifest.chain_id)
        if method == "net_version":
            return str(self.manifest.chain_id)
        if method == "eth_blockNumber":
            return hex(self.head)
        if method == "eth_getBlockByNumber":
            return self._block(self.by_number.get(self._number(params[0])))
        if method == "eth_getBlockByHash":
            return self._block(self.by_hash.get(params[0].lower()))
        if method == "eth_getLogs":
            return self.get_logs(params[0])
        if method == "eth_getCode":
            return self.manifest.deployed_bytecode if params[0].lower() == self.manifest.address.lower() else "0x"
        if method == "eth_syncing":
            return False
        raise LookupError(method)

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            result = self.dispatch(request.get("method", ""), request.get("params") or [])
            return {"jsonrpc": "2.0", "id": request.get("id"), "result": result}
        except LookupError:
            error = {"code": -32601, "message": f"the bundle node does not serve {request.get('method')}"}
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as exc:
            error = {"code": -32602, "message": f"invalid params: {exc}"}
        return {"jsonrpc": "2.0", "id": request.get("id"), "error": error}

    # -- server ----------------------------------------------------------------------------

    def start(self) -> str:
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    request = orjson.loads(body)
                    reply = [node.answer(r) for r in request] if isinstance(request, list) else node.answer(request)
                except orjson.JSONDecodeError:
                    reply = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
                payload = orjson.dumps(reply)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="bundle-node").start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
