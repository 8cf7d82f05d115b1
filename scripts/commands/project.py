"""`govledger project add` (registrar key)."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.errors import InputError
from scripts.commands.chain import DeploymentFile, Json, RpcUrl, connect, print_json

app = typer.Typer(help="Projects and their allocations (registrar only).", no_args_is_help=True)


@app.command("add")
def add(
    code: Annotated[str, typer.Argument(help="Project code: 1-32 of A-Z a-z 0-9 . _ / -")],
    agency: Annotated[str, typer.Option("--agency", help="Code of the agency that spends it.")],
    fiscal_year: Annotated[int, typer.Option("--fiscal-year", help="Thai fiscal year, Buddhist Era (2568).")],
    budget: Annotated[str, typer.Option("--budget", help="Allocation in baht, e.g. 1500000.00 or 1,500,000")],
    name: Annotated[str, typer.Option("--name", help="Project name (Thai).")],
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Register a project of an agency with its allocation for a fiscal year.

    \b
    Example:
        govledger project add MOE-2568-001 --agency MOE --fiscal-year 2568 \\
            --budget 1500000.00 --name "ห้องเรียนอัจฉริยะ"
    """
    from ledger.types import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, check_text, encode_code, format_baht, parse_baht
    from ledger.values import ProjectSpec

    encode_code(code, "project code")
    encode_code(agency, "agency code")
    if not MIN_FISCAL_YEAR <= fiscal_year <= MAX_FISCAL_YEAR:
        raise InputError(f"{fiscal_year} is not a Buddhist Era fiscal year like 2568")
    allocation = parse_baht(budget)
    check_text(name, "the name")
    (result,) = connect(rpc_url, deployment).register_projects(
        [ProjectSpec(code, agency, fiscal_year, allocation, name)]
    )
    if as_json:
        print_json(
            {
                "project": code,
                "agency": agency,
                "fiscal_year": fiscal_year,
                "allocation": format_baht(allocation),
                "seq": result.seqs[0],
                "tx_hash": result.tx_hash,
            }
        )
    else:
        typer.echo(
            f"registered project {code} of {agency}, FY {fiscal_year}, {format_baht(allocation)} baht "
            f"(ledger entry {result.seqs[0]})"
        )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="project")
