"""bench/sizes.py ranks modules and functions by lines, at a git ref or in the working tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SIZES = Path(__file__).resolve().parents[1] / "bench" / "sizes.py"

LEDGER = '''"""A module."""


def short():
    return 1


class Client:
    def call(self):
        def inner():
            return 2

        return inner()
'''


def sizes(repo: Path, *args: str) -> list[dict]:
    out = subprocess.run(
        [sys.executable, str(SIZES), "--repo", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True
    )


def test_a_ref_is_read_from_git_and_the_working_tree_from_disk(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "ledger").mkdir()
    (tmp_path / "ledger" / "client.py").write_text(LEDGER)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "big.py").write_text("x = 1\n" * 500)  # not a product package
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "one")
    (tmp_path / "audit").mkdir()
    (tmp_path / "audit" / "replay.py").write_text("def replay():\n" + "    x = 1\n" * 20)

    at_ref = sizes(tmp_path, "HEAD")
    assert at_ref[0] == {
        "kind": "total",
        "ref": "HEAD",
        "packages": ["ledger"],
        "modules": 1,
        "lines": 13,
        "functions": 3,
    }
    assert [(row["name"], row["line"], row["lines"]) for row in at_ref if row["kind"] == "function"] == [
        ("Client.call", 9, 5),
        ("short", 4, 2),
        ("Client.call.inner", 10, 2),
    ]

    now = sizes(tmp_path, "--top", "1")
    assert now[0]["packages"] == ["audit", "ledger"]
    assert [row for row in now if row["kind"] != "total"] == [
        {"rank": 1, "kind": "module", "path": "audit/replay.py", "lines": 21},
        {"rank": 1, "kind": "function", "path": "audit/replay.py", "name": "replay", "line": 1, "lines": 21},
    ]


def test_an_unknown_ref_is_one_line_not_a_trace(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    run = subprocess.run(
        [sys.executable, str(SIZES), "--repo", str(tmp_path), "no-such-ref"], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "no-such-ref" in run.stderr
