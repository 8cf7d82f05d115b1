"""The client against real nodes: a transaction that never mines, an unreachable node, a wrong chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from ledger import node
from ledger.client import LedgerClient
from ledger.deploy import deploy_with_client
from ledger.deployment import Deployment, save_deployment
from ledger.errors import ChainMismatchError, RpcError, TransactionTimeoutError
from ledger.keys import DEV_PRIVATE_KEY
from ledger.rpc import JsonRpc
from ledger.settings import Settings

pytestmark = pytest.mark.anvil


def test_a_transaction_that_never_mines_is_reported_with_its_hash() -> None:
    process, url = node.start_anvil()
    try:
        admin = LedgerClient(JsonRpc(url), None, Account.from_key(DEV_PRIVATE_KEY), timeout=1.5)
        deploy_with_client(admin)
        # From now on blocks are only mined on request: nothing sent will be mined.
        admin.transport.call("evm_setAutomine", [False])
        with pytest.raises(TransactionTimeoutError) as info:
            admin.register_agency("MOE", "กระทรวง")
        tx_hash = info.value.tx_hash
        assert tx_hash.startswith("0x") and tx_hash in str(info.value)
        assert admin.transport.call("eth_getTransactionByHash", [tx_hash]) is not None
    finally:
        node.stop(process)


def test_unreachable_node_and_wrong_chain(tmp_path: Path, anvil_chain: dict) -> None:
    deployment = anvil_chain["deployment"]
    path = tmp_path / "deployment.json"
    save_deployment(deployment, path)
    port = node.free_port()  # nothing listens there
    with pytest.raises(RpcError, match=f"cannot reach the chain at http://127.0.0.1:{port}"):
        LedgerClient.from_settings(Settings(rpc_url=f"http://127.0.0.1:{port}", deployment=path), signer=False)
    other = Deployment(**(deployment.__dict__ | {"chain_id": 1}))
    save_deployment(other, path)
    with pytest.raises(ChainMismatchError, match="the node serves chain 31337, the deployment is on chain 1"):
        LedgerClient.from_settings(Settings(rpc_url=anvil_chain["url"], deployment=path), signer=False)


def test_failed_batch_in_a_window_reports_the_successes_and_the_hash(anvil_fresh: dict) -> None:
    from ledger.errors import VoucherUsedError
    from ledger.values import Disbursement, ProjectSpec

    anvil_fresh["admin"].register_projects([ProjectSpec("W-1", "MOE", 2568, 10**9, "หน้าต่าง")])
    moe = anvil_fresh["client"](1)
    items = [Disbursement("W-1", 100 + i, "P", f"W{i}") for i in range(6)]
    moe.disburse(items[3])  # recorded by "someone else" after the caller validated its list
    confirmed: list[int] = []
    with pytest.raises(VoucherUsedError) as info:
        moe.disburse_batch(items, batch_size=2, in_flight=8, on_batch=lambda start, batch, r: confirmed.append(start))
    assert info.value.tx_hash and info.value.tx_hash in str(info.value)
    assert confirmed == [0, 4]
    state = moe.disbursements("MOE", [d.voucher for d in items])
    assert [state[d.voucher] is not None for d in items] == [True, True, False, True, True, True]


def test_batch_gas_covers_batches_unlike_the_preflighted_prefix(anvil_fresh: dict) -> None:
    """The prefix pays one project with short codes and no hash; later batches touch a new
    project per item with full-length codes, hashes and linked requests: none runs out of gas."""
    from ledger.services import COMPLAINT
    from ledger.types import new_tracking_code
    from ledger.values import Disbursement, ProjectSpec

    admin = anvil_fresh["admin"]
    admin.register_projects(
        [ProjectSpec("G", "MOE", 2568, 10**12, "g")]
        + [ProjectSpec(f"G-{i:03d}-" + "x" * 26, "MOE", 2568, 10**12, "g") for i in range(120)]
    )
    moe = anvil_fresh["client"](1)
    tracking = [new_tracking_code() for _ in range(20)]
    for code in tracking:
        moe.open_request(COMPLAINT.service, code, b"\x01" * 32)
    plain = [Disbursement("G", 1, "P", f"A{i}") for i in range(50)]
    heavy = [
        Disbursement(f"G-{i:03d}-" + "x" * 26, 10**6 + i, "P" * 32, f"B{i:030d}", bytes([255]) * 32, tracking[i % 20])
        for i in range(120)
    ]
    results = moe.disburse_batch(plain + heavy, batch_size=50)
    assert len(results) == 4 and all(r.gas_used > 0 for r in results)
    assert moe.disbursement("MOE", f"B{119:030d}") is not None


def test_anvil_interrupted_while_starting_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    # A SIGTERM or Ctrl-C that lands while start_anvil waits for the node to answer used to
    # leave anvil running with nobody holding it (found as a stray anvil after a test run).
    started: list[Any] = []
    real_popen = node.subprocess.Popen

    def recording_popen(*args: Any, **kwargs: Any) -> Any:
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    def interrupted(url: str) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(node.subprocess, "Popen", recording_popen)
    monkeypatch.setattr(node, "rpc_ready", interrupted)
    with pytest.raises(KeyboardInterrupt):
        node.start_anvil()
    assert len(started) == 1 and started[0].poll() is not None
