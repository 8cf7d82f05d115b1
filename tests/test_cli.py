"""The `govledger` entry point: usage errors and domain errors are one clear line, never a trace."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scripts.govledger import main


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.govledger", *args], capture_output=True, text=True, timeout=120
    )


def test_unknown_command_is_a_usage_error_without_traceback() -> None:
    result = _run("no-such-command")
    assert result.returncode == 2
    assert "No such command 'no-such-command'" in result.stderr
    assert "Traceback" not in result.stderr


def test_domain_error_is_one_line(tmp_path) -> None:
    # A deployment file that does not exist: a SettingsError (a LedgerError) from ledger/.
    result = _run(
        "disburse",
        "add",
        "P1",
        "10.00",
        "--payee",
        "VND-1",
        "--voucher",
        "V1",
        "--deployment",
        str(tmp_path / "missing.json"),
        "--rpc-url",
        "http://127.0.0.1:9",
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: ") and "Traceback" not in result.stderr


def test_every_command_of_the_architecture_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = [
        ["node"],
        ["deploy"],
        ["agency", "add"],
        ["agency", "recorder", "add"],
        ["project", "add"],
        ["budget", "import"],
        ["disburse", "add"],
        ["disburse", "import"],
        ["reverse"],
        ["request", "open"],
        ["request", "advance"],
        ["index"],
        ["serve"],
        ["audit", "export"],
        ["audit", "verify"],
        ["role"],
        ["demo"],
        ["db", "upgrade"],
    ]
    for command in commands:
        try:
            main([*command, "--help"])
        except SystemExit as exc:
            assert exc.code in (0, None), command
        out = capsys.readouterr().out
        assert out.startswith(f"Usage: govledger {' '.join(command)}"), (command, out[:200])


def test_an_aborted_prompt_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    import scripts.govledger as cli

    def abort(**_: object) -> None:
        raise typer.Abort()

    monkeypatch.setattr(cli, "app", abort)
    monkeypatch.setattr(cli, "_load", lambda: None)
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "aborted\n"
