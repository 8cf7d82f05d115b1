"""`govledger request open|advance`: service requests (recorder keys of the agencies involved)."""

from __future__ import annotations

import sys
from pathlib import Path
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


def _read_applicant_id(flag: str | None, file: Path | None) -> str:
    """The national ID from stdin, a file or a hidden prompt; a literal ID on argv is refused
    (it is already in `ps` and the shell history, so it is never echoed back either)."""
    import getpass

    if flag is not None and flag != "-":
        raise InputError(
            "never put the national ID on the command line (ps and shell history show it): "
            "use --applicant-id - to read it from stdin, --applicant-id-file FILE, or neither to be asked"
        )
    if flag is not None and file is not None:
        raise InputError("give --applicant-id - or --applicant-id-file, not both")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8").partition("\n")[0]
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(
                f"cannot read the national ID from {file}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
    if flag == "-":
        return sys.stdin.readline()
    if not sys.stdin.isatty():
        raise InputError("no national ID: stdin is not a terminal; use --applicant-id - or --applicant-id-file FILE")
    return getpass.getpass("applicant's national ID (not shown): ")


@app.command("open")
def open_command(
    service: Annotated[str, typer.Option("--service", help="Service id: student-loan or complaint.")],
    agency: Annotated[str, typer.Option("--agency", help="Your agency's code (it owns the request).")],
    applicant_id: Annotated[
        str | None,
        typer.Option(
            "--applicant-id",
            metavar="-",
            help="'-': read the applicant's 13-digit Thai national ID from stdin. Never the ID itself: "
            "argv shows in `ps` and shell history.",
        ),
    ] = None,
    applicant_id_file: Annotated[
        Path | None,
        typer.Option("--applicant-id-file", help="Read the national ID from this file (its first line)."),
    ] = None,
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Open a request and print the applicant's receipt: tracking code, salt, commitment.

    The national ID comes from a prompt that does not echo it (when neither --applicant-id -
    nor --applicant-id-file is given and stdin is a terminal), from stdin (--applicant-id -),
    or from a file; never from the command line. It is checked (check digit) and bound to
    the request only through keccak256(salt || HMAC-SHA256(GOVLEDGER_AGENCY_SECRET, id)); the
    ID itself is never stored, logged or sent. Give the receipt to the applicant: the
    tracking code lets them follow the request, the salt lets them prove it is theirs.

    \b
    Examples:
        govledger request open --service student-loan --agency MOE
        govledger request open --service student-loan --agency MOE --applicant-id-file id.txt
        read -rs ID && printf '%s\\n' "$ID" | govledger request open --service complaint --agency MOE --applicant-id -
    """
    from ledger.privacy import agency_secret, applicant_commitment, new_salt, validate_national_id
    from ledger.settings import get_settings
    from ledger.types import new_tracking_code

    _service(service)
    digits = validate_national_id(_read_applicant_id(applicant_id, applicant_id_file))
    client = connect(rpc_url, deployment)
    mine = client.my_agency()
    if mine != agency:
        raise InputError(f"your key records for agency {mine}, not {agency}")
    secret = agency_secret(get_settings().agency_secret, client.chain_id, warn)
    salt = new_salt()
    commitment = applicant_commitment(digits, secret, salt)
    del digits  # nothing below may see the ID
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
    reason: Annotated[
        str, typer.Option("--reason", help="Published note, e.g. what to correct. Visible text; no control characters.")
    ] = "",
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
    from ledger.types import check_text, encode_tracking

    encode_tracking(tracking)
    check_text(reason, "the reason", required=False)
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
