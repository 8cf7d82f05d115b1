"""The gate every request passes before routing: size caps, per-client rate limit, CORS, HEAD,
security headers.

One pure ASGI middleware instead of three stacked ones: each layer of Starlette middleware costs
a few percent of a fast endpoint's throughput.
"""

from __future__ import annotations

import math
import time
from typing import Any

import orjson

from api.responses import PROBLEM

Scope = dict[str, Any]
CORS_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"ETag, Retry-After, Content-Disposition"),
]
# On every answer (JSON, pages, /docs, errors, exports), unless the answer set its own value (the
# /docs page allows its one inline script by hash). The pages have no inline script or style, so
# the policy forbids both; JSON is never framed or sniffed into something runnable either.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
_PREFLIGHT_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, HEAD, OPTIONS"),
    (b"access-control-allow-headers", b"If-None-Match, Accept, Content-Type"),
    (b"access-control-max-age", b"86400"),
    *SECURITY_HEADERS,
]


class TokenBuckets:
    """Per-client token buckets: ``rate`` tokens per second, holding at most ``burst``."""

    MAX_CLIENTS = 100_000

    def __init__(self, rate: float, burst: int, clock: Any = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str) -> float:
        """0 when the request may pass, else the seconds until one token is back."""
        now = self.clock()
        tokens, stamp = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        if tokens >= 1.0:
            self._set(client, tokens - 1.0, now)
            return 0.0
        self._set(client, tokens, now)
        return (1.0 - tokens) / self.rate

    def _set(self, client: str, tokens: float, now: float) -> None:
        if len(self._buckets) >= self.MAX_CLIENTS and client not in self._buckets:
            # A flood of distinct addresses must not grow memory without bound: forget the
            # buckets that have refilled (they hold no information).
            full = now - self.burst / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if v[1] > full}
            if len(self._buckets) >= self.MAX_CLIENTS:
                self._buckets.clear()
        self._buckets[client] = (tokens, now)


def _problem(status: int, title: str, detail: str, extra: list[tuple[bytes, bytes]] = ()) -> tuple[dict, dict]:
    body = orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})
    headers = [
        (b"content-type", PROBLEM.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *CORS_HEADERS,
        *SECURITY_HEADERS,
        *extra,
    ]
    return {"type": "http.response.start", "status": status, "headers": headers}, {
        "type": "http.response.body",
        "body": body,
    }


class Guard:
    def __init__(
        self,
        app: Any,
        *,
        rate_limit: float,
        rate_burst: int,
        max_query_bytes: int,
        max_body_bytes: int,
        trust_forwarded: bool = False,
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate_limit, rate_burst) if rate_limit > 0 else None
        self.max_query_bytes = max_query_bytes
        self.max_body_bytes = max_body_bytes
        self.trust_forwarded = trust_forwarded

    def client_of(self, scope: Scope) -> str:
        if self.trust_forwarded:
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    return value.decode("latin-1").rsplit(",", 1)[-1].strip()
        client = scope.get("client")
        return client[0] if client else "unknown"

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refuse(scope)
        if refusal is not None:
            start, body = refusal
            await send(start)
            await send(body)
            return
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": _PREFLIGHT_HEADERS})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += CORS_HEADERS
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                message["headers"] = headers
            await send(message)

        if scope["method"] == "HEAD":
            await self.head(scope, receive, send_with_cors)
        else:
            await self.app(scope, receive, send_with_cors)

    async def head(self, scope: Scope, receive: Any, send: Any) -> None:
        """HEAD wherever GET is served (RFC 9110 9.3.2): the GET answer's status and headers, no body.

        The routes, the answer cache and the ETag/304 logic all see a GET, so nothing can differ
        but the body. Once the headers are out, the route is told the client left, so a streamed
        export stops instead of being computed for nobody.
        """
        answered = False

        async def headers_only(message: dict) -> None:
            nonlocal answered
            if answered:
                return
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body":
                answered = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def receive_until_answered() -> dict:
            if answered:
                return {"type": "http.disconnect"}
            return await receive()

        await self.app({**scope, "method": "GET"}, receive_until_answered, headers_only)

    def refuse(self, scope: Scope) -> tuple[dict, dict] | None:
        query = scope.get("query_string", b"")
        if len(query) > self.max_query_bytes:
            return _problem(414, "URI Too Long", f"the query string is longer than {self.max_query_bytes} bytes")
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return _problem(400, "Bad Request", "Content-Length is not a number")
                if length > self.max_body_bytes:
                    return _problem(413, "Content Too Large", "this read-only API takes no request body")
            elif name == b"transfer-encoding" and self.max_body_bytes == 0:
                return _problem(413, "Content Too Large", "this read-only API takes no request body")
        if self.buckets is not None:
            wait = self.buckets.take(self.client_of(scope))
            if wait > 0:
                retry = str(max(1, math.ceil(wait))).encode()
                return _problem(
                    429,
                    "Too Many Requests",
                    f"rate limit exceeded; retry after {retry.decode()} s",
                    [(b"retry-after", retry)],
                )
        return None
