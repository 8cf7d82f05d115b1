"""Deploy the GovLedger contract and its default service definitions.

Only ``ledger/`` sends transactions. ``deploy_and_save`` is `govledger deploy`: signed by the
configured key through ``ledger.client``, with the deployment file written at the end. (Tests
deploy from unlocked accounts through web3 with tests/web3_deploy.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.artifacts import load_artifact
from ledger.deployment import Deployment, load_deployment, save_deployment
from ledger.errors import DeploymentExistsError, SettingsError
from ledger.services import DEFAULT_SERVICES, ServiceDefinition
from ledger.types import encode_code


def service_args(definition: ServiceDefinition) -> tuple[Any, ...]:
    """Arguments of ``defineService`` for a definition."""
    return (
        encode_code(definition.service, "service"),
        list(definition.states),
        list(definition.time_limit_days),
        list(definition.roles),
        definition.encoded_transitions(),
    )


def deploy_with_client(client: Any, *, admin_delay: int = 0) -> Deployment:
    """Deploy GovLedger signed by the client's key and define the default services.

    The signing key becomes admin, registrar and pauser (hand over with `govledger role`).
    Returns the Deployment to save; ``client.address`` points at the new contract.
    """
    from ledger.artifacts import artifact_sha256

    result = client.deploy(admin_delay=admin_delay)
    for definition in DEFAULT_SERVICES:
        client.define_service(definition)
    block = client.transport.call("eth_getBlockByNumber", [hex(result.block_number), False])
    artifact = load_artifact()
    return Deployment(
        chain_id=client.chain_id,
        address=client.address,
        deploy_block=result.block_number,
        deploy_block_hash=block["hash"],
        deploy_tx=result.tx_hash,
        artifact_sha256=artifact_sha256(),
        compiler=str(artifact["compiler"]["version"]),
    )


def live_deployment(path: Path, client: Any) -> Deployment | None:
    """The deployment recorded at ``path`` if its contract code is live on the client's chain."""
    if not Path(path).exists():
        return None
    try:
        existing = load_deployment(path)
    except SettingsError:
        return None
    if existing.chain_id != client.chain_id:
        return None
    return existing if client.code_at(existing.address) else None


def deploy_and_save(client: Any, path: Path, *, force: bool = False, admin_delay: int = 0) -> Deployment:
    """`govledger deploy`: refuse to replace a live deployment unless ``force``; write the file."""
    existing = live_deployment(path, client)
    if existing is not None and not force:
        raise DeploymentExistsError(
            f"{path} records a live deployment at {existing.address} on chain {existing.chain_id}; "
            "use --force to deploy a new contract and replace the file"
        )
    deployment = deploy_with_client(client, admin_delay=admin_delay)
    save_deployment(deployment, path)
    return deployment
