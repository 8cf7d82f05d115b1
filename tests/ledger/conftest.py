"""Fixtures for the ledger client: eth-tester behind a JSON-RPC-shaped transport, and the
well-known anvil development keys."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import pytest
from eth_account import Account
from eth_tester import EthereumTester
from eth_tester.exceptions import TransactionFailed, TransactionNotFound

from ledger.client import LedgerClient
from ledger.deploy import deploy_with_client
from ledger.errors import RpcError

# anvil's development keys 0..3 (public knowledge).
DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
)


class TesterTransport:
    """The handful of JSON-RPC methods the client uses, answered by eth-tester (py-evm).

    eth-tester reports a revert only as text ("execution reverted: b'...'"); this test
    adaptor turns that text back into bytes so that the product code sees what a real node
    sends (a JSON-RPC error with the revert data). Product code never parses error text.
    """

    def __init__(self, tester: EthereumTester) -> None:
        self.tester = tester

    @staticmethod
    def _revert(exc: TransactionFailed, method: str) -> RpcError:
        text = str(exc.args[0]) if exc.args else ""
        data = b""
        text = text.removeprefix("execution reverted: ")
        if text.startswith(("b'", 'b"')):
            data = ast.literal_eval(text)
        # What a node sends: code 3 with the revert data.
        return RpcError(f"{method} failed: {text}", method=method, code=3, message=text, data="0x" + data.hex())

    @staticmethod
    def _tx(tx: dict[str, Any]) -> dict[str, Any]:
        out = {"from": Account.from_key(DEV_KEYS[0]).address} | {
            k: v for k, v in tx.items() if k in ("from", "to", "data", "value")
        }
        if "gas" in tx:
            out["gas"] = int(tx["gas"], 16) if isinstance(tx["gas"], str) else tx["gas"]
        return out

    def call(self, method: str, params: list[Any]) -> Any:
        t = self.tester
        try:
            if method == "eth_chainId":
                return hex(t.backend.chain.chain_id)
            if method == "eth_blockNumber":
                return hex(t.get_block_by_number("latest")["number"])
            if method == "eth_getTransactionCount":
                return hex(t.get_nonce(params[0], params[1]))
            if method == "eth_getBlockByNumber":
                tag = params[0]
                block = t.get_block_by_number(int(tag, 16) if tag.startswith("0x") else tag)
                return {
                    "number": hex(block["number"]),
                    "hash": block["hash"],
                    "gasLimit": hex(block["gas_limit"]),
                    "baseFeePerGas": hex(block["base_fee_per_gas"]),
                }
            if method == "eth_maxPriorityFeePerGas":
                return hex(10**9)
            if method == "eth_gasPrice":
                return hex(10**9)
            if method == "eth_sendRawTransaction":
                return t.send_raw_transaction(params[0])
            if method == "eth_getTransactionReceipt":
                try:
                    r = t.get_transaction_receipt(params[0])
                except TransactionNotFound:
                    return None
                return {
                    "status": hex(r["status"]),
                    "blockNumber": hex(r["block_number"]),
                    "gasUsed": hex(r["gas_used"]),
                    "transactionHash": r["transaction_hash"],
                    "contractAddress": r["contract_address"],
                    "logs": [
                        {"address": log["address"], "topics": list(log["topics"]), "data": log["data"]}
                        for log in r["logs"]
                    ],
                }
            if method == "eth_call":
                block = params[1]
                block = int(block, 16) if isinstance(block, str) and block.startswith("0x") else block
                return t.call(self._tx(params[0]), block)
            if method == "eth_estimateGas":
                return hex(t.estimate_gas(self._tx(params[0])))
            if method == "eth_getCode":
                return t.get_code(params[0])
            if method == "eth_getLogs":
                query = params[0]
                filter_id = t.create_log_filter(
                    from_block=int(query["fromBlock"], 16),
                    to_block=None,
                    address=query["address"],
                    topics=query["topics"],
                )
                logs = t.get_all_filter_logs(filter_id)
                return [
                    {
                        "topics": list(log["topics"]),
                        "data": log["data"],
                        "transactionHash": log["transaction_hash"],
                        "blockNumber": hex(log["block_number"]),
                    }
                    for log in logs
                ]
        except TransactionFailed as exc:
            raise self._revert(exc, method) from None
        raise NotImplementedError(method)

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        out: list[Any] = []
        for method, params in calls:
            try:
                out.append(self.call(method, params))
            except RpcError as exc:
                out.append(exc)
        return out


@pytest.fixture(scope="module")
def chain() -> Iterator[dict[str, Any]]:
    """A fresh eth-tester chain per module with anvil's dev keys funded, GovLedger deployed
    through the client by key 0, agency MOE (recorder key 1) and SCH (recorder key 2)."""
    from eth_tester import PyEVMBackend

    keys = [bytes.fromhex(k[2:]) for k in DEV_KEYS]
    genesis = PyEVMBackend.generate_genesis_params(overrides={"gas_limit": 60_000_000})
    from eth_keys import keys as eth_keys

    state = {
        eth_keys.PrivateKey(k).public_key.to_canonical_address(): {
            "balance": 10**24,
            "nonce": 0,
            "code": b"",
            "storage": {},
        }
        for k in keys
    }
    tester = EthereumTester(PyEVMBackend(genesis_parameters=genesis, genesis_state=state))
    transport = TesterTransport(tester)
    accounts = [Account.from_key(k) for k in DEV_KEYS]
    admin = LedgerClient(transport, None, accounts[0], poll_interval=0)
    deployment = deploy_with_client(admin)
    admin.register_agency("MOE", "กระทรวงศึกษาธิการ", "Ministry of Education")
    admin.register_agency("SCH", "โรงเรียน", "School")
    admin.add_recorder("MOE", accounts[1].address)
    admin.add_recorder("SCH", accounts[2].address)
    yield {
        "tester": tester,
        "transport": transport,
        "accounts": accounts,
        "admin": admin,
        "deployment": deployment,
        "client": lambda i: LedgerClient(transport, deployment.address, accounts[i], poll_interval=0),
    }


@pytest.fixture
def fresh(chain: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The module chain with every change a test makes undone afterwards."""
    snapshot = chain["tester"].take_snapshot()
    yield chain
    chain["tester"].revert_to_snapshot(snapshot)
    chain["admin"]._nonce = None  # the local nonce counter does not know about the revert


@pytest.fixture(scope="module")
def anvil_chain() -> Iterator[dict[str, Any]]:
    """A private anvil for the module with GovLedger deployed by dev key 0 and agency MOE
    (recorder dev key 1); for tests that write too much for eth-tester's speed."""
    from ledger import node
    from ledger.rpc import JsonRpc

    process, url = node.start_anvil()
    try:
        accounts = [Account.from_key(k) for k in DEV_KEYS]
        admin = LedgerClient(JsonRpc(url), None, accounts[0])
        deployment = deploy_with_client(admin)
        admin.register_agency("MOE", "กระทรวงศึกษาธิการ", "Ministry of Education")
        admin.add_recorder("MOE", accounts[1].address)
        yield {
            "url": url,
            "admin": admin,
            "accounts": accounts,
            "deployment": deployment,
            "client": lambda i: LedgerClient(JsonRpc(url), deployment.address, accounts[i]),
        }
    finally:
        node.stop(process)


@pytest.fixture
def anvil_fresh(anvil_chain: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The module's anvil with each test's changes undone (evm_snapshot / evm_revert)."""
    transport = anvil_chain["admin"].transport
    snapshot = transport.call("evm_snapshot", [])
    yield anvil_chain
    transport.call("evm_revert", [snapshot])
    anvil_chain["admin"]._nonce = None
