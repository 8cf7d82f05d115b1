"""The one JSON-RPC layer (ledger/rpc.py), through an injected httpx transport."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import orjson
import pytest

from ledger.errors import RpcError
from ledger.rpc import JsonRpc


def node(*answers: httpx.Response, slept: list[float] | None = None, attempts: int = 10) -> JsonRpc:
    queue = list(answers)
    return JsonRpc(
        "http://node.invalid",
        backoff=0.01,
        attempts=attempts,
        sleep=(slept if slept is not None else []).append,
        transport=httpx.MockTransport(lambda request: queue.pop(0)),
    )


def test_503_waits_as_retry_after_says_as_an_http_date() -> None:
    slept: list[float] = []
    rpc = node(
        httpx.Response(503, headers={"Retry-After": formatdate(time.time() + 20, usegmt=True)}),
        httpx.Response(200, content=b'[{"jsonrpc":"2.0","id":1,"result":"0x10"}]'),
        slept=slept,
    )
    assert rpc.call("eth_blockNumber") == "0x10"
    assert len(slept) == 1 and 15 <= slept[0] <= 20
    assert rpc.retries == 1


def test_batch_answers_are_matched_by_id_and_errors_stay_in_their_slot() -> None:
    answer = [
        {"jsonrpc": "2.0", "id": 2, "error": {"code": -32000, "message": "nope", "data": "0x01"}},
        {"jsonrpc": "2.0", "id": 1, "result": "0xa"},
    ]
    rpc = node(httpx.Response(200, content=orjson.dumps(answer)))
    first, second = rpc.batch([("eth_chainId", []), ("eth_call", [{}, "latest"])])
    assert first == "0xa"
    assert isinstance(second, RpcError)
    assert (second.method, second.code, second.message, second.data) == ("eth_call", -32000, "nope", "0x01")
    assert "eth_call failed: nope" in str(second)


def test_an_incomplete_batch_is_asked_again() -> None:
    rpc = node(
        httpx.Response(200, content=b'[{"jsonrpc":"2.0","id":1,"result":"0x1"}]'),
        httpx.Response(
            200, content=b'[{"jsonrpc":"2.0","id":2,"result":"0x2"},{"jsonrpc":"2.0","id":1,"result":"0x1"}]'
        ),
    )
    assert rpc.batch([("eth_chainId", []), ("eth_blockNumber", [])]) == ["0x1", "0x2"]
    assert rpc.retries == 1


def test_a_node_failing_for_good_and_a_refused_request_are_one_error_type() -> None:
    failing = node(*[httpx.Response(500)] * 3, attempts=3)
    with pytest.raises(RpcError, match=r"eth_chainId: the node at http://node.invalid kept failing \(HTTP 500\)"):
        failing.call("eth_chainId")
    assert failing.retries == 2
    with pytest.raises(RpcError, match="refused the request with HTTP 404"):
        node(httpx.Response(404)).call("eth_chainId")


def test_an_unreachable_node_is_named() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    rpc = JsonRpc("http://node.invalid", attempts=2, sleep=lambda s: None, transport=httpx.MockTransport(refuse))
    with pytest.raises(RpcError, match="cannot reach the chain at http://node.invalid"):
        rpc.call("eth_chainId")
