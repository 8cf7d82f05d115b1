"""Deploy the GovLedger contract and its default service definitions.

Only ``ledger/`` sends transactions. This module holds the smallest deploy path used by
tests and the demo; ``govledger deploy`` adds the deployment file on top of it.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3

from ledger.artifacts import load_artifact
from ledger.services import DEFAULT_SERVICES, ServiceDefinition
from ledger.types import encode_code


def deploy_contract(w3: Web3, admin: str, admin_delay: int = 0) -> Any:
    """Deploy from an unlocked account (dev chains); returns the web3 contract and its receipt."""
    artifact = load_artifact()
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx_hash = factory.constructor(admin_delay, admin).transact({"from": admin})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"]), receipt


def service_args(definition: ServiceDefinition) -> tuple[Any, ...]:
    """Arguments of ``defineService`` for a definition."""
    return (
        encode_code(definition.service, "service"),
        list(definition.states),
        list(definition.time_limit_days),
        list(definition.roles),
        definition.encoded_transitions(),
    )


def define_default_services(contract: Any, registrar: str) -> None:
    w3 = contract.w3
    for definition in DEFAULT_SERVICES:
        tx_hash = contract.functions.defineService(*service_args(definition)).transact({"from": registrar})
        w3.eth.wait_for_transaction_receipt(tx_hash)
