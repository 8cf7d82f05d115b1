"""The `govledger` command: one entry point for agencies, operators and auditors.

Each sub-command lives in ``scripts/commands/<name>.py`` and adds itself with ``register``.
Commands parse arguments, call ``ledger``/``indexer``/``api``, and print; any error from
those packages becomes one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import importlib
import sys

import typer

try:  # typer >= 0.20 vendors click; older releases use click itself
    from typer._click import exceptions as _click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as _click_errors

from ledger.errors import LedgerError

HELP = """govledger: a public, verifiable ledger of government spending and service requests.

Budget spending is recorded on an EVM chain under a project code; service requests
(a student-loan application, a complaint) are tracked by an unguessable tracking code.
An indexer mirrors the chain into SQL; a read-only API and dashboard serve citizens;
auditors replay everything on their own machine.

Quick start on a local chain:  govledger demo

Settings come from flags, then GOVLEDGER_* environment variables (see README).
"""

app = typer.Typer(
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Sub-command modules, in the order --help lists them.
COMMAND_MODULES = (
    "chain",
    "agency",
    "project",
    "budget",
    "disburse",
    "request",
    "index",
    "serve",
    "audit",
    "demo",
)

# Errors that become one clean line; each package adds its root here when it exists.
USER_ERRORS: list[type[BaseException]] = [LedgerError]


def _load() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"scripts.commands.{name}")
        module.register(app)
        USER_ERRORS.extend(getattr(module, "USER_ERRORS", ()))


def main(argv: list[str] | None = None) -> None:
    _load()
    try:
        # Without standalone mode click returns a command's `typer.Exit(code)` instead of raising it.
        code = app(args=argv, prog_name="govledger", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except tuple(USER_ERRORS) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except _click_errors.ClickException as exc:  # usage errors: the usage line and one reason
        exc.show()
        sys.exit(exc.exit_code)
    except typer.Abort:  # a prompt answered with Ctrl-C or Ctrl-D
        typer.echo("aborted", err=True)
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
