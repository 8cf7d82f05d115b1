"""The client against a second node implementation: Ganache 7 (npm devDependency), whose
refusals carry the revert data in ``error.data.result`` (issue 12 item 13).

Ganache 7 knows hardforks up to shanghai; the committed contract uses no cancun opcode
(MCOPY, TLOAD, TSTORE, BLOBHASH), which the first test checks, so it runs there unchanged.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account

from ledger import errors, node
from ledger.artifacts import load_artifact
from ledger.client import LedgerClient
from ledger.deploy import deploy_with_client
from ledger.keys import DEV_PRIVATE_KEY
from ledger.paths import PROJECT_ROOT
from ledger.rpc import JsonRpc
from ledger.types import encode_code
from ledger.values import Disbursement, ProjectSpec

pytestmark = pytest.mark.anvil  # like anvil, Ganache comes from node_modules after `npm ci`

GANACHE = PROJECT_ROOT / "node_modules" / ".bin" / "ganache"
RECORDER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


@pytest.fixture(scope="module")
def ganache() -> Iterator[dict[str, Any]]:
    assert GANACHE.exists(), f"{GANACHE} is missing: run `npm ci` (ganache is a devDependency)"
    port = node.free_port()
    funded = [arg for key in (DEV_PRIVATE_KEY, RECORDER_KEY) for arg in ("--wallet.accounts", f"{key},0x{10**24:x}")]
    process = subprocess.Popen(
        [str(GANACHE), "--server.host", "127.0.0.1", "--server.port", str(port), "--chain.chainId", "31337"]
        + ["--chain.hardfork", "shanghai", "--logging.quiet", *funded],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while not node.rpc_ready(url):
            assert process.poll() is None, process.stderr.read().decode()[-800:] if process.stderr else ""
            assert time.monotonic() < deadline, "ganache did not start"
            time.sleep(0.3)
        admin = LedgerClient(JsonRpc(url), None, Account.from_key(DEV_PRIVATE_KEY))
        assert "Ganache" in admin.transport.call("web3_clientVersion", [])
        deployment = deploy_with_client(admin)
        recorder = Account.from_key(RECORDER_KEY)
        admin.register_agency("MOE", "กระทรวงศึกษาธิการ")
        admin.add_recorder("MOE", recorder.address)
        admin.register_projects([ProjectSpec("P1", "MOE", 2568, 1_00, "หนึ่ง")])
        yield {"admin": admin, "moe": LedgerClient(JsonRpc(url), deployment.address, recorder)}
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_the_contract_needs_no_cancun_opcode() -> None:
    code = bytes.fromhex(load_artifact()["deployedBytecode"].removeprefix("0x"))
    opcodes, i = set(), 0
    while i < len(code):
        opcodes.add(code[i])
        i += 1 + (code[i] - 0x5F if 0x60 <= code[i] <= 0x7F else 0)
    assert opcodes.isdisjoint({0x49, 0x4A, 0x5C, 0x5D, 0x5E})


def test_refusals_on_ganache_are_the_decoded_custom_errors(ganache: dict[str, Any]) -> None:
    admin, moe = ganache["admin"], ganache["moe"]
    with pytest.raises(errors.AgencyExistsError, match="agency MOE is already registered"):
        admin.register_agency("MOE", "again")  # the eth_estimateGas preflight: error.data.result
    with pytest.raises(errors.OverBudgetError) as over:
        moe.disburse(Disbursement("P1", 2_00, "PAY", "V-OVER"))
    assert over.value.values == (encode_code("P1"), 1_00, 2_00)
    with pytest.raises(errors.OverBudgetError):
        moe.disburse_batch([Disbursement("P1", 60, "PAY", "B-1"), Disbursement("P1", 60, "PAY", "B-2")])
    with pytest.raises(errors.ProjectUnknownError):
        moe.disburse(Disbursement("NOPE", 1, "PAY", "V-NOPE"))


def test_a_mined_failure_on_ganache_is_decoded_with_its_hash(ganache: dict[str, Any]) -> None:
    """Passes the preflight, reverts when mined: the replay (eth_call) gives the reason."""
    moe = ganache["moe"]
    late = Disbursement("P1", 10, "PAY", "RACE")
    data = moe.abi.encode("disburse", late.to_abi())
    gas = moe.estimate(data, "disburse") * 2
    moe.disburse(late)  # someone records the voucher first
    with pytest.raises(errors.VoucherUsedError) as used:
        moe.send_data(data, "disburse", gas=gas)
    assert used.value.tx_hash and used.value.tx_hash in str(used.value)
