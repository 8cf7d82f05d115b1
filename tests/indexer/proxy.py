"""A loopback JSON-RPC proxy that injects node faults, for the indexer's fault tests.

Each request is forwarded to the real node unless, with probability ``rate``, it is answered
with the configured fault:

    http500     HTTP 500 or 502 (alternating)
    http429     HTTP 429 with Retry-After: 0
    timeout     no answer until after the client's timeout, then the connection is dropped
    reset       the TCP connection is reset without an answer
    truncated   the node's real answer cut short (valid HTTP, broken JSON)
    lagging     answered as a node 1-5 blocks behind: lower eth_blockNumber, null headers and
                no logs past its own head (a lagging node behind a load balancer)
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson

FAULTS = ("http500", "http429", "timeout", "reset", "truncated", "lagging")


class FaultProxy:
    def __init__(
        self, upstream: str, fault: str | list[str], rate: float, *, seed: int = 0, hang: float = 0.6, force_at: int = 3
    ):
        self.upstream = upstream
        self.faults = [fault] if isinstance(fault, str) else list(fault)
        self.rate = rate
        self.force_at = force_at  # this request always gets a fault, so that every run injects some
        self.hang = hang
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.injected: dict[str, int] = {}
        self.requests = 0
        self.client = httpx.Client(timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                proxy.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- faults ---------------------------------------------------------------------------

    def _pick(self) -> str | None:
        with self.lock:
            self.requests += 1
            forced = self.requests == self.force_at and self.rate > 0
            if self.rng.random() >= self.rate and not forced:
                return None
            fault = self.rng.choice(self.faults)
            self.injected[fault] = self.injected.get(fault, 0) + 1
            return fault

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None):
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body)

    def _forward(self, body: bytes) -> bytes:
        return self.client.post(self.upstream, content=body, headers={"Content-Type": "application/json"}).content

    def handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        fault = self._pick()
        if fault is None:
            self._send(handler, 200, self._forward(body))
        elif fault == "http500":
            self._send(handler, 500 if self.injected["http500"] % 2 else 502, b"upstream error")
        elif fault == "http429":
            self._send(handler, 429, b'{"error":"rate limited"}', {"Retry-After": "0"})
        elif fault == "timeout":
            time.sleep(self.hang)
            self._reset(handler)
        elif fault == "reset":
            self._reset(handler)
        elif fault == "truncated":
            answer = self._forward(body)
            cut = answer[: max(1, int(len(answer) * self.rng.uniform(0.1, 0.9)))]
            self._send(handler, 200, cut)
        elif fault == "lagging":
            self._send(handler, 200, self._lagging(body))

    def _reset(self, handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        sock = handler.connection
        # SO_LINGER 0: close() sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    def _lagging(self, body: bytes) -> bytes:
        real_head = int(
            orjson.loads(self._forward(b'{"jsonrpc":"2.0","id":0,"method":"eth_blockNumber"}'))["result"], 16
        )
        head = real_head - self.rng.randint(1, 5)
        request = orjson.loads(body)
        items = request if isinstance(request, list) else [request]
        answers = []
        for item in items:
            method, params = item["method"], item.get("params", [])
            if method == "eth_blockNumber":
                answers.append({"jsonrpc": "2.0", "id": item["id"], "result": hex(head)})
                continue
            if method == "eth_getBlockByNumber" and params and params[0].startswith("0x") and int(params[0], 16) > head:
                answers.append({"jsonrpc": "2.0", "id": item["id"], "result": None})
                continue
            answer = orjson.loads(self._forward(orjson.dumps(item)))
            if method == "eth_getLogs" and isinstance(answer.get("result"), list):
                answer["result"] = [log for log in answer["result"] if int(log["blockNumber"], 16) <= head]
            answers.append(answer)
        return orjson.dumps(answers if isinstance(request, list) else answers[0])
