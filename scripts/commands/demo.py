"""`govledger demo`: the whole system on the embedded default (anvil + SQLite)."""

from __future__ import annotations

import typer


def demo() -> None:
    """Start a local chain, deploy, seed real FY2565 budget lines, index, and serve."""
    typer.echo("govledger demo: not yet - recording, indexing and the API are still being built.", err=True)
    raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
