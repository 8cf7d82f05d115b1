"""`govledger request open|advance`: service requests (recorder keys of the agencies involved)."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.errors import InputError
from ledger.services import ServiceDefinition
from scripts.commands.chain import DeploymentFile, Json, RpcUrl, connect, print_json, warn

app = typer.Typer(help="Citizen service requests tracked by an unguessable code.", no_args_is_help=True)


def _service(name: str) -> ServiceDefinition:
    from ledger.services import DEFAULT_SERVICES

    for definition in DEFAULT_SERVICES:
        if definition.service == name:
            return definition
    known = ", ".join(d.service for d in DEFAULT_SERVICES)
    raise InputError(f"unknown service {name!r}; known: {known}")


@app.command("open")
def open_command(
    service: Annotated[str, typer.Option("--service", help="Service id: student-loan or complaint.")],
    agency: Annotated[str, typer.Option("--agency", help="Your agency's code (it owns the request).")],
    applicant_id: Annotated[
        str | None,
        typer.Option("--applicant-id", help="Applicant's 13-digit Thai national ID; omit to type it unseen."),
    ] = None,
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Open a request and print the applicant's receipt: tracking code, salt, commitment.

    The national ID is checked (check digit) and bound to the request only through
    keccak256(salt || HMAC-SHA256(GOVLEDGER_AGENCY_SECRET, id)); the ID itself is never
    stored, logged or sent. Give the receipt to the applicant: the tracking code lets them
    follow the request, the salt lets them prove it is theirs.

    \b
    Example:
        govledger request open --service student-loan --agency MOE
    """
    import getpass

    from ledger.privacy import agency_secret, applicant_commitment, new_salt, validate_national_id
    from ledger.settings import get_settings
    from ledger.types import new_tracking_code

    _service(service)
    if applicant_id is None:
        applicant_id = getpass.getpass("applicant's national ID (not shown): ")
    digits = validate_national_id(applicant_id)
    client = connect(rpc_url, deployment)
    mine = client.my_agency()
    if mine != agency:
        raise InputError(f"your key records for agency {mine}, not {agency}")
    secret = agency_secret(get_settings().agency_secret, client.chain_id, warn)
    salt = new_salt()
    commitment = applicant_commitment(digits, secret, salt)
    del digits, applicant_id  # nothing below may see the ID
    tracking = new_tracking_code()
    result = client.open_request(service, tracking, commitment)
    receipt = {
        "tracking_code": tracking,
        "service": service,
        "agency": agency,
        "salt": "0x" + salt.hex(),
        "commitment": "0x" + commitment.hex(),
        "seq": result.seqs[0],
        "tx_hash": result.tx_hash,
    }
    if as_json:
        print_json(receipt)
    else:
        typer.echo(f"tracking code: {tracking}")
        typer.echo("receipt for the applicant (keep it; the salt proves the request is yours):")
        for key in ("tracking_code", "service", "agency", "salt", "commitment"):
            typer.echo(f"  {key}: {receipt[key]}")


@app.command("advance")
def advance_command(
    tracking: Annotated[str, typer.Argument(help="Tracking code, e.g. 7K3M-Q9XA-...")],
    to: Annotated[str, typer.Option("--to", help="Target state name, e.g. school-verified.")],
    reason: Annotated[str, typer.Option("--reason", help="Published note, e.g. what to correct.")] = "",
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Move a request to its next state, if the service table allows it from the current one.

    \b
    Example:
        govledger request advance 7K3M-Q9XA-0000-0000-0000-0000-0000-0000 --to school-verified
    """
    from ledger.errors import RequestUnknownError
    from ledger.types import encode_tracking

    encode_tracking(tracking)
    client = connect(rpc_url, deployment)
    state = client.request_state(tracking)
    if state is None:
        raise RequestUnknownError(f"no request with tracking code {tracking}", "RequestUnknown", (tracking,))
    definition = _service(state.service)
    current = definition.states[state.state]
    allowed = definition.next_states(current)
    if to not in allowed:
        options = ", ".join(allowed) if allowed else f"none: {current} is final"
        raise InputError(
            f"{state.service} request in state {current} cannot go to {to!r}; allowed next states: {options}"
        )
    result = client.advance_request(tracking, definition.state_index(to), reason)
    if as_json:
        print_json(
            {"tracking_code": tracking, "from": current, "to": to, "seq": result.seqs[0], "tx_hash": result.tx_hash}
        )
    else:
        typer.echo(f"request {tracking}: {current} -> {to} (ledger entry {result.seqs[0]})")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="request")
