"""`govledger budget import`: budget-bill lines → agencies, projects, allocations (registrar key)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scripts.commands.chain import DeploymentFile, Json, RpcUrl, connect, print_json

app = typer.Typer(help="The budget: agencies, projects and allocations from the budget bill.", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A budget-bill CSV (FY2565 machine-readable format).")],
    fiscal_year: Annotated[
        int | None, typer.Option("--fiscal-year", help="B.E. fiscal year to import (default: the bill's own).")
    ] = None,
    rpc_url: RpcUrl = None,
    deployment: DeploymentFile = None,
    as_json: Json = False,
) -> None:
    """Register the agencies, projects and allocations of one budget-bill volume.

    Agency and project codes are derived from the names (rule in docs/DATA.md); each
    project's allocation is the sum of its lines for the fiscal year. Every refused line is
    listed with its ITEM_ID and reason; the others are imported. Running it again changes
    nothing. New agencies get recorder keys with `govledger agency recorder add`.

    \b
    Example:
        govledger budget import 2022-3-7.csv
        govledger budget import 2022-3-7.csv --fiscal-year 2565 --json
    """
    from ledger.budget import import_budget
    from ledger.types import format_baht

    result = import_budget(connect(rpc_url, deployment), file, fiscal_year)
    plan = result.plan
    if as_json:
        print_json(
            {
                "file": str(file),
                "fiscal_year": plan.fiscal_year,
                "rows": plan.rows,
                "imported_rows": plan.imported_rows,
                "other_fiscal_year_rows": plan.other_year_rows,
                "imported_with_extraction_warning": plan.warned_rows,
                "refused": [{"item_id": item, "reason": reason} for item, reason in plan.refused],
                "refused_by_reason": plan.refused_by_reason,
                "agencies": {"added": result.agencies_added, "existing": result.agencies_existing},
                "projects": {"added": result.projects_added, "existing": result.projects_existing},
                "conflicts": result.conflicts,
                "allocated": format_baht(result.allocated),
                "agency_codes": dict(sorted(plan.agencies.items())),
            }
        )
    else:
        for item, reason in plan.refused:
            typer.echo(f"refused {item}: {reason}")
        for conflict in result.conflicts:
            typer.echo(f"conflict: {conflict}")
        typer.echo(
            f"{file}: FY {plan.fiscal_year}: {plan.rows} rows read, {plan.imported_rows} imported "
            f"({plan.warned_rows} with an extraction warning), {len(plan.refused)} refused, "
            f"{plan.other_year_rows} for other fiscal years; agencies {result.agencies_added} added, "
            f"{result.agencies_existing} existing; projects {result.projects_added} added, "
            f"{result.projects_existing} existing; {format_baht(result.allocated)} baht allocated"
        )
    if result.conflicts:
        raise typer.Exit(1)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="budget")
