"""The house style is checked, not hoped for: ruff's lint rules and formatter (pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ["ledger", "indexer", "audit", "api", "scripts", "tests", "bench"]


def test_ruff_finds_nothing() -> None:
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", *CODE], cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout[-4000:]
    layout = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *CODE], cwd=ROOT, capture_output=True, text=True
    )
    assert layout.returncode == 0, layout.stdout[-4000:]
