"""Raw JSON-RPC over HTTP (httpx + orjson), with retries that survive a flaky node.

web3.py's request pipeline costs more than the network for large ``eth_getLogs`` answers, so
the indexer speaks JSON-RPC itself. Only standard ``eth_*`` methods are used.

Retried with exponential backoff and jitter: HTTP 429 (honouring ``Retry-After``), HTTP 5xx,
timeouts, connection resets, truncated or malformed JSON, and a batch answer with items missing.
A JSON-RPC error object is not retried here: it is returned to the caller, which knows what it
means (a "too many results" error splits the range; others are fatal).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson

from indexer.errors import RpcError

log = logging.getLogger("govledger.indexer.rpc")

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


class JsonRpcError(RpcError):
    """The node answered with a JSON-RPC error object."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method} failed: {message} (code {code})")
        self.method = method
        self.code = code
        self.message = message

    @property
    def too_many_results(self) -> bool:
        text = self.message.lower()
        return self.code == -32005 or any(marker in text for marker in TOO_MANY_RESULTS)


class RpcClient:
    """One node endpoint. Thread-safe for one caller per thread (httpx.Client is)."""

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
    ) -> None:
        self.url = url
        self.attempts = attempts
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
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RpcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------------

    def _post(self, body: bytes, what: str) -> Any:
        """POST with retries; returns the parsed JSON answer."""
        delay = self.backoff
        last = ""
        for attempt in range(1, self.attempts + 1):
            wait = None
            try:
                response = self._http.post(self.url, content=body)
                status = response.status_code
                if status == 429:
                    last = "HTTP 429 Too Many Requests"
                    wait = _retry_after(response.headers.get("Retry-After"), self.max_retry_after)
                elif status >= 500:
                    last = f"HTTP {status}"
                elif status >= 400:
                    raise RpcError(f"{what}: the node refused the request with HTTP {status}")
                else:
                    try:
                        return orjson.loads(response.content)
                    except orjson.JSONDecodeError as exc:
                        last = f"malformed JSON ({exc})"
            except httpx.TimeoutException:
                last = "timed out"
            except httpx.TransportError as exc:  # resets, refused connections, broken chunks
                last = f"{type(exc).__name__}: {exc}"
            if attempt == self.attempts:
                break
            self.retries += 1
            pause = max(wait or 0.0, delay * (0.5 + random.random()))
            log.warning("rpc retry", extra={"what": what, "reason": last, "attempt": attempt, "pause": pause})
            self.sleep(pause)
            delay = min(delay * 2, self.max_backoff)
        raise RpcError(f"{what}: the node at {self.url} kept failing ({last}) after {self.attempts} attempts")

    # -- calls ----------------------------------------------------------------------------

    def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One call; raises JsonRpcError on an error answer."""
        (result,) = self.batch([(method, params)])
        if isinstance(result, JsonRpcError):
            raise result
        return result

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several calls in one HTTP request (so one node answers all of them).

        Returns each call's result in order, or a ``JsonRpcError`` instance in its place.
        """
        first = self._next_id
        self._next_id += len(calls)
        body = orjson.dumps(
            [
                {"jsonrpc": "2.0", "id": first + i, "method": method, "params": list(params)}
                for i, (method, params) in enumerate(calls)
            ]
        )
        what = ",".join(sorted({method for method, _ in calls}))
        for attempt in range(1, self.attempts + 1):
            answer = self._post(body, what)
            by_id: dict[int, Any] = {}
            if isinstance(answer, list):
                by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
            elif isinstance(answer, dict) and len(calls) == 1 and answer.get("id") is None and "error" in answer:
                by_id = {first: answer}  # some servers answer a whole-request error as a single object
            results: list[Any] = []
            for i, (method, _) in enumerate(calls):
                item = by_id.get(first + i)
                if item is None:
                    break
                if "error" in item and item["error"] is not None:
                    error = item["error"] if isinstance(item["error"], dict) else {"message": str(item["error"])}
                    results.append(JsonRpcError(method, int(error.get("code", 0)), str(error.get("message", ""))))
                elif "result" in item:
                    results.append(item["result"])
                else:
                    break
            if len(results) == len(calls):
                return results
            if attempt < self.attempts:
                self.retries += 1
                self.sleep(min(self.backoff * 2**attempt, self.max_backoff))
        raise RpcError(f"{what}: the node at {self.url} kept answering incomplete batches")

    # -- standard methods -------------------------------------------------------------------

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
                if isinstance(result, JsonRpcError):
                    raise result
                if result is not None and int(result["number"], 16) != number:
                    raise RpcError(f"eth_getBlockByNumber({number}) answered block {int(result['number'], 16)}")
                out.append(result)
        return out


def _retry_after(value: str | None, cap: float) -> float | None:
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), cap)
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff
