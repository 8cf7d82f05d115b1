"""`govledger agency add` and `govledger agency recorder add|remove` (registrar key)."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.errors import InputError
from scripts.commands.chain import DeploymentFile, Json, RpcUrl, connect, print_json

app = typer.Typer(help="Agencies and the keys that record for them (registrar only).", no_args_is_help=True)
recorder_app = typer.Typer(help="Give or take back an agency's recorder keys.", no_args_is_help=True)


def _address(value: str) -> str:
    from eth_utils import is_address, to_checksum_address

    if not is_address(value):
        raise InputError(f"{value!r} is not an 0x address")
    return str(to_checksum_address(value))


@app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="Agency code: 1-32 of A-Z a-z 0-9 . _ / -")],
    name: Annotated[str, typer.Option("--name", help="Official name (Thai).")],
    recorder: Annotated[str, typer.Option("--recorder", help="0x address of the agency's first recorder key.")],
    name_en: Annotated[str, typer.Option("--name-en", help="English name.")] = "",
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Register an agency and its first recorder key.

    \b
    Example:
        govledger agency add MOE --name "กระทรวงศึกษาธิการ" --name-en "Ministry of Education" \\
            --recorder 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    from ledger.types import check_text, encode_code

    encode_code(code, "agency code")
    address = _address(recorder)
    check_text(name, "the name")
    check_text(name_en, "the English name", required=False)
    client = connect(rpc_url, deployment)
    registered = client.register_agency(code, name, name_en)
    added = client.add_recorder(code, address)
    if as_json:
        print_json({"agency": code, "recorder": address, "seqs": registered.seqs + added.seqs})
    else:
        typer.echo(
            f"registered agency {code} with recorder {address} (ledger entries {registered.seqs[0]}, {added.seqs[0]})"
        )


@recorder_app.command("add")
def recorder_add(
    code: Annotated[str, typer.Argument(help="Agency code.")],
    address: Annotated[str, typer.Argument(help="0x address of the recorder key.")],
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Let a key record for an agency (a key records for one agency only).

    \b
    Example:
        govledger agency recorder add BU-3F9A0C12D4 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
    """
    address = _address(address)
    result = connect(rpc_url, deployment).add_recorder(code, address)
    if as_json:
        print_json({"agency": code, "recorder": address, "seq": result.seqs[0], "tx_hash": result.tx_hash})
    else:
        typer.echo(f"{address} now records for agency {code} (ledger entry {result.seqs[0]})")


@recorder_app.command("remove")
def recorder_remove(
    code: Annotated[str, typer.Argument(help="Agency code.")],
    address: Annotated[str, typer.Argument(help="0x address of the recorder key.")],
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Stop a key from recording for an agency; what it recorded before stays valid.

    \b
    Example:
        govledger agency recorder remove MOE 0x70997970C51812dc3A010C7d01b50e0d17dc79C8
    """
    address = _address(address)
    result = connect(rpc_url, deployment).remove_recorder(code, address)
    if as_json:
        print_json({"agency": code, "recorder": address, "seq": result.seqs[0], "tx_hash": result.tx_hash})
    else:
        typer.echo(f"{address} no longer records for agency {code} (ledger entry {result.seqs[0]})")


app.add_typer(recorder_app, name="recorder")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="agency")
