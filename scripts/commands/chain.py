"""`govledger compile`, `node`, `deploy`, `role` and `key`: the chain itself and who may write to it.

Also the small pieces every write command shares: the settings flags, opening a client,
printing JSON.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.errors import InputError
from ledger.settings import Settings, get_settings

RpcUrl = Annotated[str | None, typer.Option("--rpc-url", help="JSON-RPC URL (default: GOVLEDGER_RPC_URL).")]
DeploymentFile = Annotated[
    Path | None, typer.Option("--deployment", help="Deployment file (default: GOVLEDGER_DEPLOYMENT).")
]
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


def settings_for(rpc_url: str | None = None, deployment: Path | None = None) -> Settings:
    return get_settings().with_overrides(rpc_url=rpc_url, deployment=deployment)


def connect(rpc_url: str | None, deployment: Path | None, *, signer: bool = True) -> Any:
    """A LedgerClient for the deployment in the settings, signed by the configured key.

    On a local development chain (31337) without a configured key, anvil's first public
    account (the one `govledger deploy` used there) signs, with a warning.
    """
    from ledger.client import LedgerClient

    return LedgerClient.from_settings(settings_for(rpc_url, deployment), signer=signer, allow_dev_key=True, warn=warn)


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def compile_command() -> None:
    """Recompile contracts/ with the pinned solc-js and rewrite ledger/artifacts/.

    Needs `npm ci` (the compiler is the npm package solc). The artifacts are committed;
    a test fails when they no longer match the sources.
    """
    from ledger.compile import write_artifacts

    path = write_artifacts()
    typer.echo(f"wrote {path}")


def node_command(
    port: Annotated[int, typer.Option("--port", help="Loopback port to listen on.")] = 8545,
    state: Annotated[Path, typer.Option("--state", help="Chain state file, loaded at start and saved.")] = Path(
        "var/chain-state.json"
    ),
) -> None:
    """Run a local development chain (anvil from node_modules) until Ctrl-C.

    It listens on 127.0.0.1 only. The chain survives restarts: anvil loads --state at start,
    saves it every few seconds (so even a crash loses at most those seconds) and on Ctrl-C.
    The chain id is 31337; anvil's public development accounts are funded.

    \b
    Example:
        govledger node                       # then, in another terminal: govledger deploy
        govledger node --port 8546 --state var/other-chain.json
    """
    import signal

    from ledger import node

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # A service manager stops us with SIGTERM: treat it like Ctrl-C so anvil saves its state.
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    state.parent.mkdir(parents=True, exist_ok=True)
    try:
        process, url = node.start_anvil(port, state)  # stops anvil itself if interrupted here
    except KeyboardInterrupt:
        typer.echo("stopped while starting", err=True)
        return
    try:
        typer.echo(f"local chain on {url} (chain id 31337), state in {state}; Ctrl-C to stop", err=True)
        code = process.wait()
    except KeyboardInterrupt:
        node.stop(process)
        typer.echo("stopped; state saved", err=True)
        return
    raise typer.Exit(code or 1)


def deploy_command(
    force: Annotated[bool, typer.Option("--force", help="Replace a live deployment recorded in the file.")] = False,
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Deploy the GovLedger contract and write the deployment file.

    The signing key (GOVLEDGER_KEYSTORE) becomes admin, registrar and pauser; hand those
    over with `govledger role`. The default services (student-loan, complaint) are defined.
    On a local development chain without a configured key, anvil's first public account is
    used (with a warning). A deployment file that points at live contract code on the same
    chain is never overwritten without --force.

    \b
    Example:
        govledger deploy
        GOVLEDGER_DEPLOYMENT=var/test.json govledger deploy --json
    """
    from ledger.client import LedgerClient
    from ledger.deploy import deploy_and_save
    from ledger.keys import load_account

    settings = settings_for(rpc_url, deployment)
    client = LedgerClient(LedgerClient.node(settings.rpc_url), None)
    client.account = load_account(settings, chain_id=client.chain_id, allow_dev_key=True, warn=warn)
    result = deploy_and_save(client, settings.deployment, force=force)
    if as_json:
        print_json(asdict(result) | {"deployment_file": str(settings.deployment)})
    else:
        typer.echo(
            f"deployed GovLedger at {result.address} on chain {result.chain_id} (block {result.deploy_block}); "
            f"wrote {settings.deployment}"
        )


ROLE_CHOICES = ("registrar", "pauser", "admin")


def role_command(
    action: Annotated[str, typer.Argument(help="grant or revoke")],
    role: Annotated[str, typer.Argument(help="registrar, pauser or admin")],
    address: Annotated[str, typer.Argument(help="0x address of the key")],
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Grant or revoke a role: registrar (budget office), pauser, or admin.

    The admin role changes hands in two steps so that a typo cannot lose control: the
    current admin runs `role grant admin NEW`, then the new admin (after the deployment's
    delay) runs `role grant admin NEW` with their own key to accept.

    \b
    Example:
        govledger role grant registrar 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
        govledger role revoke pauser 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    from eth_utils import is_address, to_checksum_address

    if action not in ("grant", "revoke"):
        raise InputError(f"{action!r} is not grant or revoke")
    if role not in ROLE_CHOICES:
        raise InputError(f"{role!r} is not one of {', '.join(ROLE_CHOICES)}")
    if not is_address(address):
        raise InputError(f"{address!r} is not an 0x address")
    address = to_checksum_address(address)
    client = connect(rpc_url, deployment)
    if role == "admin":
        if action == "revoke":
            raise InputError("the admin role is handed over with `role grant admin NEW`, not revoked")
        (pending, _) = client.call("pendingDefaultAdmin")
        if client.sender == address and str(pending).lower() == address.lower():
            result, done = client.accept_admin_transfer(), "accepted the admin role"
        else:
            result, done = client.begin_admin_transfer(address), "started the admin hand-over"
            done += f"; {address} accepts with `govledger role grant admin {address}` using its own key"
    elif action == "grant":
        result, done = client.grant_role(role, address), f"granted {role} to {address}"
    else:
        result, done = client.revoke_role(role, address), f"revoked {role} from {address}"
    if as_json:
        print_json({"action": action, "role": role, "address": address, "tx_hash": result.tx_hash})
    else:
        typer.echo(f"{done} (transaction {result.tx_hash})")


key_app = typer.Typer(help="Signing keys for recording officers (encrypted keystores).", no_args_is_help=True)


@key_app.command("new")
def key_new(
    path: Annotated[Path, typer.Argument(help="Where to write the keystore (never overwritten).")],
    as_json: Json = False,
) -> None:
    """Create a new key in an encrypted keystore and print its address.

    The password comes from GOVLEDGER_KEYSTORE_PASSWORD or a prompt. Give the address to
    the registrar (`govledger agency recorder add CODE ADDRESS`), then point
    GOVLEDGER_KEYSTORE at the file.

    \b
    Example:
        govledger key new ~/.govledger/officer.json
    """
    import getpass

    from ledger.keys import create_keystore

    password = get_settings().keystore_password
    if password is None:
        if not sys.stdin.isatty():
            raise InputError("set GOVLEDGER_KEYSTORE_PASSWORD or run on a terminal to type a password")
        password = getpass.getpass("new keystore password: ")
        if getpass.getpass("again: ") != password:
            raise InputError("the passwords differ")
    address = create_keystore(path, password)
    if as_json:
        print_json({"address": address, "keystore": str(path)})
    else:
        typer.echo(f"created {path} for address {address}")


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_command)
    app.command("node")(node_command)
    app.command("deploy")(deploy_command)
    app.command("role")(role_command)
    app.add_typer(key_app, name="key")
