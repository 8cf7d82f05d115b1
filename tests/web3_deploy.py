"""Deploy GovLedger from an unlocked account through web3: the smallest path, for eth-tester and
anvil in tests and benchmarks. The product deploys through ``ledger.deploy.deploy_with_client``
(signed by the configured key); keeping this here keeps web3 out of the product."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from ledger.artifacts import load_artifact
from ledger.deploy import service_args
from ledger.services import DEFAULT_SERVICES


def deploy_contract(w3: Web3, admin: str, admin_delay: int = 0) -> Any:
    """Deploy from an unlocked account (dev chains); returns the web3 contract and its receipt."""
    artifact = load_artifact()
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx_hash = factory.constructor(admin_delay, admin).transact({"from": admin})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"]), receipt


def define_default_services(contract: Any, registrar: str) -> None:
    w3 = contract.w3
    for definition in DEFAULT_SERVICES:
        tx_hash = contract.functions.defineService(*service_args(definition)).transact({"from": registrar})
        w3.eth.wait_for_transaction_receipt(tx_hash)
