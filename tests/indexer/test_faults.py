"""RPC faults through a fault-injecting loopback proxy: every fault type at several rates, the final
mirror equals the reference, the ledger has no gap, and a node that fails for good stops the indexer
with the checkpoint still at a fully written block."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from indexer.errors import RpcError
from indexer.rpc import RpcClient
from indexer.sync import index_once
from ledger.rpc import too_many_results
from tests.indexer.chain import Scenario, deploy
from tests.indexer.conftest import assert_same_mirror, snapshot
from tests.indexer.proxy import FAULTS, FaultProxy
from tests.indexer.test_crash import check_prefix

pytestmark = [pytest.mark.anvil, pytest.mark.xdist_group("indexer-faults")]

TUNING = {"initial_span": 2, "max_span": 4, "rpc_timeout": 0.4, "rpc_backoff": 0.005, "reorg_window": 16}


@pytest.fixture(scope="module")
def chain(anvil: tuple[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    url, w3 = anvil
    contract, deployment = deploy(w3)
    scenario = Scenario(w3, contract, seed=31)
    scenario.setup(agencies=2, projects=3)
    for _ in range(15):
        scenario.step()
    ref_url = f"sqlite:///{tmp_path_factory.mktemp('faults') / 'reference.db'}"
    index_once(url, ref_url, deployment)
    return {
        "url": url,
        "deployment": deployment,
        "reference": snapshot(ref_url),
        "reference_url": ref_url,
        "head": w3.eth.block_number,
    }


RUNS: list[tuple[str, float]] = [(fault, rate) for fault in FAULTS for rate in (0.1, 0.3)] + [
    ("http429", 0.6),
    ("lagging", 0.7),
]


@pytest.mark.parametrize(("fault", "rate"), RUNS)
def test_fault_type_at_rate(chain: dict[str, Any], fault: str, rate: float, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    head = chain["head"]
    with FaultProxy(chain["url"], fault, rate, seed=FAULTS.index(fault) * 100 + int(rate * 100)) as proxy:
        # A lagging node reports a lower head, so one run may stop short of the real head (never
        # skipping anything: the prefix is checked); later runs get there.
        for _ in range(20):
            if index_once(proxy.url, url, chain["deployment"], **TUNING).block_number >= head:
                break
            check_prefix(url, chain["reference_url"])
    assert proxy.injected.get(fault, 0) > 0, "the proxy injected nothing: the test would prove nothing"
    assert_same_mirror(snapshot(url), chain["reference"])
    print(f"{fault} at {rate:.0%}: {proxy.injected[fault]} faults in {proxy.requests} requests, mirror == reference")


def test_all_faults_mixed_into_postgres(chain: dict[str, Any], pg_url: str) -> None:
    with FaultProxy(chain["url"], list(FAULTS), 0.3, seed=5) as proxy:
        for _ in range(20):
            if index_once(proxy.url, pg_url, chain["deployment"], **TUNING).block_number >= chain["head"]:
                break
    assert len(proxy.injected) == len(FAULTS)
    assert_same_mirror(snapshot(pg_url), chain["reference"])
    print(f"mixed faults into PostgreSQL: {proxy.injected} in {proxy.requests} requests, mirror == reference")


def test_node_failing_for_good_stops_at_a_complete_block(chain: dict[str, Any], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mirror.db'}"
    with FaultProxy(chain["url"], "http500", 0.0) as proxy:

        class Dying:
            """Healthy for the first requests, then every answer is a 500."""

            def __init__(self) -> None:
                self.count = 0

        dying = Dying()
        original = proxy._pick

        def pick() -> str | None:
            dying.count += 1
            if dying.count > 12:
                proxy.injected["http500"] = proxy.injected.get("http500", 0) + 1
                return "http500"
            return original()

        proxy._pick = pick  # type: ignore[method-assign]
        with pytest.raises(RpcError, match="kept failing"):
            index_once(proxy.url, url, chain["deployment"], **{**TUNING, "initial_span": 1, "max_span": 1})
    block = check_prefix(url, chain["reference_url"])
    assert block >= chain["deployment"].deploy_block
    # And it resumes from there.
    index_once(chain["url"], url, chain["deployment"], **TUNING)
    assert_same_mirror(snapshot(url), chain["reference"])


def test_retry_after_is_honoured() -> None:
    slept: list[float] = []
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(503),
            httpx.Response(200, content=b'[{"jsonrpc":"2.0","id":1,"result":"0x10"}]'),
        ]
    )
    client = RpcClient(
        "http://node.invalid",
        sleep=slept.append,
        backoff=0.01,
        transport=httpx.MockTransport(lambda request: next(answers)),
    )
    assert client.block_number() == 16
    assert slept[0] >= 3.0 and slept[1] < 1.0
    assert client.retries == 2


def test_json_rpc_errors_are_not_retried_and_too_many_results_is_recognised() -> None:
    body = b'[{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"query returned more than 10000 results"}}]'
    client = RpcClient(
        "http://node.invalid",
        sleep=lambda s: None,
        transport=httpx.MockTransport(lambda request: httpx.Response(200, content=body)),
    )
    (answer,) = client.batch([("eth_getLogs", [{}])])
    assert isinstance(answer, RpcError) and too_many_results(answer)
    assert client.retries == 0
