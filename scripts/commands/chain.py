"""`govledger compile` (and, with the recording issue, `node`, `deploy`, `role`)."""

from __future__ import annotations

import typer


def compile_command() -> None:
    """Recompile contracts/ with the pinned solc-js and rewrite ledger/artifacts/.

    Needs `npm ci` (the compiler is the npm package solc). The artifacts are committed;
    a test fails when they no longer match the sources.
    """
    from ledger.compile import write_artifacts

    path = write_artifacts()
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_command)
