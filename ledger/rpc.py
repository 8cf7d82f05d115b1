"""The one JSON-RPC layer of govledger: standard JSON-RPC 2.0 over HTTP (httpx + orjson).

The client, the indexer and the auditor all reach the node through :class:`JsonRpc`. web3.py's
request pipeline costs more than the network for large ``eth_getLogs`` answers, so the layer
speaks JSON-RPC itself.

Retried with exponential back-off and jitter: HTTP 429 and 503 (honouring ``Retry-After``, in
seconds or as an HTTP date), other HTTP 5xx, timeouts, connection resets, truncated or malformed
JSON, and a batch answer with items missing. A JSON-RPC error object is not retried: it becomes
an :class:`~ledger.errors.RpcError` carrying the method and the node's code, message and data,
raised by :meth:`JsonRpc.call` or put in its call's slot by :meth:`JsonRpc.batch`; the caller
knows what it means (a revert, a "too many results" that splits a range, ...).

Tests inject an ``httpx`` transport (``httpx.MockTransport``) instead of reaching a node.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from ledger.errors import RpcError

log = logging.getLogger("govledger.rpc")

# Messages nodes use when a getLogs answer would be too large (geth, Erigon, Besu,
# Alchemy, Infura, QuickNode, anvil ...). Matched case-insensitively.
TOO_MANY_RESULTS = (
    "too many",
    "limit exceeded",
    "query returned more than",
    "response size",
    "exceed",
    "block range",
    "range is too large",
    "range too large",
    "max results",
    "log response size",
)


def too_many_results(error: RpcError) -> bool:
    """Whether the node refused a query because its answer would be too large."""
    text = (error.message or "").lower()
    return error.code == -32005 or any(marker in text for marker in TOO_MANY_RESULTS)


def node_error(method: str, error: Any) -> RpcError:
    """The RpcError of a JSON-RPC error object, as the node sent it."""
    if not isinstance(error, dict):
        error = {"message": str(error)}
    try:
        code: int | None = int(error.get("code", 0))
    except (TypeError, ValueError):
        code = None
    message = str(error.get("message", "unknown error"))
    return RpcError(
        f"{method} failed: {message} (code {code})", method=method, code=code, message=message, data=error.get("data")
    )


class JsonRpc:
    """One node endpoint. Thread-safe for one caller per thread (httpx.Client is).

    Args:
        url: the node's JSON-RPC URL.
        timeout: seconds per HTTP request (connecting: at most 10).
        attempts: tries per request before giving up (1: no retry).
        transport: an ``httpx`` transport to use instead of the network (tests).
        sleep: how to wait between attempts (tests record the pauses).
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        attempts: int = 10,
        backoff: float = 0.2,
        max_backoff: float = 5.0,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.retries = 0  # total retries so far, for logs and tests
        self._next_id = 1
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"Content-Type": "application/json"},
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JsonRpc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pause(self, delay: float, wait: float | None, what: str, reason: str, attempt: int) -> None:
        self.retries += 1
        pause = max(wait or 0.0, delay * (0.5 + random.random()))
        log.warning("rpc retry", extra={"what": what, "reason": reason, "attempt": attempt, "pause": pause})
        self.sleep(pause)

    def _post(self, body: bytes, what: str) -> Any:
        """POST with retries; returns the parsed JSON answer."""
        delay = self.backoff
        last = ""
        unreachable = True  # every attempt failed to connect
        for attempt in range(1, self.attempts + 1):
            wait = None
            try:
                response = self._http.post(self.url, content=body)
                unreachable = False
                status = response.status_code
                if status in (429, 503):
                    last = f"HTTP {status}"
                    wait = _retry_after(response.headers.get("Retry-After"), self.max_retry_after)
                elif status >= 500:
                    last = f"HTTP {status}"
                elif status >= 400:
                    raise RpcError(
                        f"{what}: the node at {self.url} refused the request with HTTP {status}", method=what
                    )
                else:
                    try:
                        return orjson.loads(response.content)
                    except orjson.JSONDecodeError as exc:
                        last = f"malformed JSON ({exc})"
            except httpx.ConnectError as exc:
                last = f"{type(exc).__name__}: {exc}"
            except httpx.TimeoutException:
                unreachable = False
                last = "timed out"
            except httpx.TransportError as exc:  # resets, broken chunks
                unreachable = False
                last = f"{type(exc).__name__}: {exc}"
            if attempt == self.attempts:
                break
            self._pause(delay, wait, what, last, attempt)
            delay = min(delay * 2, self.max_backoff)
        if unreachable:
            raise RpcError(f"cannot reach the chain at {self.url} ({last}); is the node running?", method=what)
        raise RpcError(
            f"{what}: the node at {self.url} kept failing ({last}) after {self.attempts} attempts", method=what
        )

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One call; raises RpcError on an error answer."""
        (result,) = self.batch([(method, params)])
        if isinstance(result, RpcError):
            raise result
        return result

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several calls in one HTTP request (so one node answers all of them), matched by id.

        Returns each call's result in order, or an ``RpcError`` in the place of a call the node
        answered with a JSON-RPC error object.
        """
        if not calls:
            return []
        first = self._next_id
        self._next_id += len(calls)
        body = orjson.dumps(
            [
                {"jsonrpc": "2.0", "id": first + i, "method": method, "params": list(params)}
                for i, (method, params) in enumerate(calls)
            ]
        )
        what = ",".join(sorted({method for method, _ in calls}))
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            answer = self._post(body, what)
            by_id: dict[int, Any] = {}
            if isinstance(answer, list):
                by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
            elif isinstance(answer, dict) and answer.get("id") is None and "error" in answer:
                # Some servers answer a whole-request error (or no batch support) as one object.
                if len(calls) > 1:
                    raise node_error(what, answer["error"])
                by_id = {first: answer}
            results: list[Any] = []
            for i, (method, _) in enumerate(calls):
                item = by_id.get(first + i)
                if item is None:
                    break
                if "error" in item and item["error"] is not None:
                    results.append(node_error(method, item["error"]))
                elif "result" in item:
                    results.append(item["result"])
                else:
                    break
            if len(results) == len(calls):
                return results
            if attempt < self.attempts:
                self._pause(delay, None, what, "incomplete batch", attempt)
                delay = min(delay * 2, self.max_backoff)
        raise RpcError(f"{what}: the node at {self.url} kept answering incomplete batches", method=what)


def _retry_after(value: str | None, cap: float) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), capped."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), cap)
