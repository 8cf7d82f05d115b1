"""Revert data found in every JSON-RPC error shape the common nodes send (issue 12 item 13).

Ganache puts it in ``error.data.result`` (7.x) or under the transaction hash as ``return``
(6.x, ganache-core), Hardhat in ``error.data.data``, geth/anvil/Besu in ``error.data``. The
replies marked "recorded" were captured from real nodes on 2026-11-26 (Hardhat 2.22.19,
Ganache 7.9.2 with --chain.hardfork shanghai, running GovLedger); the Ganache 6 shape follows
ganache-core's lib/utils/runtimeerror.js (trufflesuite/ganache, results keyed by transaction
hash with ``error``, ``program_counter``, ``return``), which its provider puts in ``error.data``
beside ``stack`` and ``name``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest
from eth_abi import encode as abi_encode
from eth_account import Account

from ledger import errors
from ledger.client import LedgerClient
from ledger.keys import DEV_PRIVATE_KEY
from ledger.rpc import JsonRpc
from ledger.types import encode_code

# DisbursementOverBudget(bytes32 projectCode, uint256 remaining, uint256 requested) for project
# P1 with 1.00 baht remaining and 10,000.00 requested: what the recorded replies carry.
OVER_BUDGET = "0x43f13702" + abi_encode(["bytes32", "uint256", "uint256"], [encode_code("P1"), 100, 10**6]).hex()
MESSAGE = "VM Exception while processing transaction: revert"

SHAPES: dict[str, dict[str, Any]] = {
    "anvil/geth": {"code": 3, "message": "execution reverted: custom error 0x43f13702", "data": OVER_BUDGET},
    "besu": {"code": -32000, "message": "Execution reverted", "data": OVER_BUDGET},
    "hardhat (recorded)": {
        "code": -32603,
        "message": f"Error: VM Exception while processing transaction: reverted with an unrecognized custom "
        f"error (return data: {OVER_BUDGET})",
        "data": {"message": "Error: VM Exception ...", "data": OVER_BUDGET},
    },
    "ganache 7 eth_estimateGas (recorded)": {
        "message": MESSAGE,
        "code": -32000,
        "name": "RuntimeError",
        "data": {"hash": None, "programCounter": 11878, "result": OVER_BUDGET, "reason": None, "message": "revert"},
    },
    "ganache 7 transaction": {
        "message": MESSAGE,
        "code": -32000,
        "name": "RuntimeError",
        "data": {"hash": "0x" + "ab" * 32, "programCounter": 11878, "result": OVER_BUDGET, "message": "revert"},
    },
    "ganache 7 eth_call (recorded)": {"message": MESSAGE, "code": -32000, "name": "CallError", "data": OVER_BUDGET},
    "ganache 6 (ganache-core)": {
        "message": MESSAGE,
        "code": -32000,
        "data": {
            "0x" + "cd" * 32: {"error": "revert", "program_counter": 11878, "return": OVER_BUDGET},
            "stack": "RuntimeError: VM Exception while processing transaction: revert\n    at ...",
            "name": "RuntimeError",
        },
    },
}


def recorded_node(error: dict[str, Any]) -> JsonRpc:
    """A node that answers eth_chainId and refuses everything else with one recorded error."""

    def answer(call: dict[str, Any]) -> dict[str, Any]:
        if call["method"] == "eth_chainId":
            return {"jsonrpc": "2.0", "id": call["id"], "result": "0x7a69"}
        return {"jsonrpc": "2.0", "id": call["id"], "error": error}

    def reply(request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        return httpx.Response(
            200, content=orjson.dumps([answer(c) for c in body] if isinstance(body, list) else answer(body))
        )

    return JsonRpc("http://recorded.invalid", transport=httpx.MockTransport(reply))


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_nodes_revert_shape_decodes_to_the_custom_error(shape: str) -> None:
    client = LedgerClient(recorded_node(SHAPES[shape]), "0x" + "11" * 20, Account.from_key(DEV_PRIVATE_KEY))
    with pytest.raises(errors.OverBudgetError) as single:
        client.estimate(b"\x00" * 4, "disburse")  # one JSON-RPC call
    assert single.value.values == (encode_code("P1"), 100, 10**6)
    assert "over budget: project P1 has 1.00 baht remaining, 10000.00 requested" in str(single.value)
    with pytest.raises(errors.OverBudgetError):
        client.disbursements("MOE", ["V1", "V2"])  # a JSON-RPC batch


@pytest.mark.parametrize(
    "error",
    [
        {"code": -32000, "message": "insufficient funds for gas * price + value"},
        {"code": -32000, "message": "nonce too low", "data": {"stack": "Error: nonce too low", "name": "Error"}},
        {"code": -32000, "message": "odd", "data": {"result": "not hex"}},
    ],
)
def test_errors_without_revert_data_stay_node_errors(error: dict[str, Any]) -> None:
    client = LedgerClient(recorded_node(error), "0x" + "11" * 20, Account.from_key(DEV_PRIVATE_KEY))
    with pytest.raises(errors.RpcError, match=re.escape(f"eth_estimateGas failed: {error['message']}")):
        client.estimate(b"\x00" * 4, "disburse")
