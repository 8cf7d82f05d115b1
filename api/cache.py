"""Finished JSON answers kept per worker until the mirror changes.

The mirror only changes when the indexer commits a batch (at most once a block), while citizens
ask the same questions over and over: the first page of the latest disbursements, a ministry's
summary, a project everyone is reading about. So a ``GET /v1/...`` answer is kept, byte for byte
with its ETag, under its path and query string, and served again without routing or SQL while
the mirror's version is the one it was computed at. The version (``Mirror.version``: SQLite's
``PRAGMA data_version``, PostgreSQL's checkpoint row) is asked at most every
``Mirror.version_interval`` (0.05 s on SQLite, 0.2 s on PostgreSQL), not on every request: asking
costs a read transaction or a round trip. So an answer can be that much older than the mirror,
well inside the 5 s that ``Cache-Control`` already lets clients keep it.

Only complete 200 answers of JSON routes are kept, from the second time they are asked: errors,
exports (streamed) and the dashboard's pages (they depend on the reader's language) always run,
and a question asked once costs no more than a few microseconds. Memory is bounded by entry
count and bytes; the oldest entries go first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

from api.errors import ApiError
from api.responses import matches

Scope = dict[str, Any]
MAX_BODY = 1 << 20  # a list page of 500 rows is about 400 kB


class Answer:
    __slots__ = ("start", "body", "etag", "cache_control")

    def __init__(self, start: dict[str, Any], body: bytes) -> None:
        self.start = start
        self.body = body
        headers = dict(start["headers"])
        self.etag = headers.get(b"etag", b"").decode("latin-1")
        self.cache_control = headers.get(b"cache-control", b"")


class AnswerCache:
    """ASGI middleware in front of the routes (inside the Guard, so limits and CORS still apply)."""

    def __init__(self, app: Any, *, mirror: Any, entries: int, max_bytes: int = 64 << 20) -> None:
        self.app = app
        self.mirror = mirror
        self.entries = entries
        self.max_bytes = max_bytes
        self.answers: OrderedDict[tuple[str, bytes], Answer] = OrderedDict()
        self.asked: set[tuple[str, bytes]] = set()  # questions asked once since the last change
        self.bytes = 0
        self.version: Any = None
        self.next_check = 0.0

    def cacheable(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET" or self.entries == 0:
            return False
        path = scope["path"]
        return path.startswith("/v1/") and not path.startswith("/v1/export")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if not self.cacheable(scope):
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        if now >= self.next_check:
            try:
                version = await self.mirror.version()
            except ApiError:
                # No mirror yet: the route answers its own 503.
                await self.app(scope, receive, send)
                return
            if version != self.version:
                self.answers.clear()
                self.asked.clear()
                self.bytes = 0
                self.version = version
            self.next_check = now + self.mirror.version_interval
        version = self.version
        key = (scope["path"], scope["query_string"])
        answer = self.answers.get(key)
        if answer is not None:
            await self.replay(answer, scope, send)
            return
        if key not in self.asked:
            # Kept from the second time it is asked: one-off questions (a random disbursement
            # by id) pass straight through instead of pushing out the answers people repeat.
            if len(self.asked) >= 4 * self.entries:
                self.asked.clear()
            self.asked.add(key)
            await self.app(scope, receive, send)
            return

        start: dict[str, Any] = {}
        parts: list[bytes] = []
        complete = False

        async def capture(message: dict[str, Any]) -> None:
            nonlocal complete
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        await self.app(scope, receive, capture)
        if start.get("status") == 200 and complete and self.version == version:
            body = b"".join(parts)
            headers = dict(start.get("headers", ()))
            if headers.get(b"content-type") == b"application/json" and b"etag" in headers and len(body) <= MAX_BODY:
                self.keep(key, Answer(start, body))

    def keep(self, key: tuple[str, bytes], answer: Answer) -> None:
        size = len(answer.body) + len(key[0]) + len(key[1])
        while self.answers and (len(self.answers) >= self.entries or self.bytes + size > self.max_bytes):
            oldest, dropped = self.answers.popitem(last=False)
            self.bytes -= len(dropped.body) + len(oldest[0]) + len(oldest[1])
        self.answers[key] = answer
        self.bytes += size

    @staticmethod
    async def replay(answer: Answer, scope: Scope, send: Any) -> None:
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if matches(value.decode("latin-1"), answer.etag):
                    headers = [(b"etag", answer.etag.encode("latin-1")), (b"cache-control", answer.cache_control)]
                    await send({"type": "http.response.start", "status": 304, "headers": headers})
                    await send({"type": "http.response.body", "body": b""})
                    return
                break
        await send({"type": "http.response.start", "status": 200, "headers": list(answer.start["headers"])})
        await send({"type": "http.response.body", "body": answer.body})
