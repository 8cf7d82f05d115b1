"""Slither, offline, with no Medium or High finding left untriaged.

crytic-compile cannot drive solc-js, so the contracts are compiled here with ledger.compile
(analysis only: ABI + AST, a few seconds) and written out as a Hardhat build-info file next
to copies of the exact sources; Slither then reads it with
``--compile-force-framework hardhat --hardhat-ignore-compile``.

slither-analyzer pins web3<8 while the product uses web3 8, so it lives in its own venv:
``$GOVLEDGER_SLITHER`` if set, else ``var/slither-venv`` (created from PyPI on first use with
the pins in slither-requirements.txt).
"""

from __future__ import annotations

import copy
import fcntl
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ledger.compile import compile_sources, compiler_version, standard_input
from ledger.paths import PROJECT_ROOT

from .conftest import report

REQUIREMENTS = Path(__file__).with_name("slither-requirements.txt")
TOOL_VENV = PROJECT_ROOT / "var" / "slither-venv"

# Medium/High findings judged harmless, keyed by (detector, text in the description) -> why.
TRIAGED: dict[tuple[str, str], str] = {}


def slither_executable() -> Path:
    configured = os.environ.get("GOVLEDGER_SLITHER")
    if configured:
        return Path(configured)
    executable = TOOL_VENV / "bin" / "slither"
    TOOL_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(TOOL_VENV.parent / ".slither-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two xdist workers must not build it at once
        if not executable.exists():
            subprocess.run([sys.executable, "-m", "venv", str(TOOL_VENV)], check=True)
            subprocess.run([str(TOOL_VENV / "bin" / "pip"), "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
    return executable


def write_build_info(root: Path) -> None:
    input_json = copy.deepcopy(standard_input())
    input_json["settings"]["outputSelection"] = {"*": {"*": ["abi", "userdoc", "devdoc"], "": ["ast"]}}
    output = compile_sources(input_json)
    for contracts in output["contracts"].values():
        for contract in contracts.values():
            # Slither analyses the AST; crytic-compile only needs these keys to exist.
            empty = {"object": "", "sourceMap": ""}
            contract["evm"] = {"bytecode": empty, "deployedBytecode": empty}
    for unit, source in input_json["sources"].items():
        path = root / unit
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source["content"], encoding="utf-8")
    version = compiler_version()
    build_info = {
        "_format": "hh-sol-build-info-1",
        "id": "govledger",
        "solcVersion": version.split("+")[0],
        "solcLongVersion": version,
        "input": input_json,
        "output": output,
    }
    (root / "artifacts" / "build-info").mkdir(parents=True)
    (root / "artifacts" / "build-info" / "govledger.json").write_text(json.dumps(build_info), encoding="utf-8")
    (root / "hardhat.config.js").write_text("module.exports = {};\n", encoding="utf-8")


def run_slither(root: Path) -> tuple[int, list[dict[str, Any]]]:
    """(contracts analyzed, detector findings)."""
    out = root / "slither.json"
    command = [
        str(slither_executable()),
        ".",
        "--compile-force-framework",
        "hardhat",
        "--hardhat-ignore-compile",
        "--npx-disable",
        "--exclude-dependencies",
        "--json",
        str(out),
    ]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=1800)
    if not out.exists():
        raise AssertionError(f"slither did not run:\n{result.stderr[-3000:]}")
    data = json.loads(out.read_text())
    assert data["success"], data.get("error")
    analyzed = re.search(r"analyzed \((\d+) contracts", result.stderr)
    return (int(analyzed.group(1)) if analyzed else 0), data["results"].get("detectors", [])


def untriaged(findings: list[dict[str, Any]]) -> list[str]:
    bad = []
    for finding in findings:
        if finding["impact"] not in ("Medium", "High"):
            continue
        if not any(check == finding["check"] and text in finding["description"] for check, text in TRIAGED):
            bad.append(f"{finding['impact']} {finding['check']}: {finding['description'].strip()}")
    return bad


@pytest.mark.slow
@pytest.mark.xdist_group("contracts-slither")
def test_slither_finds_no_untriaged_medium_or_high(tmp_path: Path) -> None:
    write_build_info(tmp_path)
    analyzed, findings = run_slither(tmp_path)
    assert analyzed >= 6, "slither analyzed none of our contracts"
    by_impact: dict[str, int] = {}
    for finding in findings:
        by_impact[finding["impact"]] = by_impact.get(finding["impact"], 0) + 1
    report(f"slither: {analyzed} contracts analyzed, {len(findings)} findings by impact {by_impact} (no dependencies)")
    bad = untriaged(findings)
    assert not bad, "\n".join(bad)


def test_triage_rule_catches_a_medium_finding() -> None:
    # The gate itself: an untriaged Medium finding fails, a Low one does not.
    medium = {"impact": "Medium", "check": "uninitialized-local", "description": "x is never initialized"}
    low = {"impact": "Low", "check": "shadowing-local", "description": "y shadows"}
    assert untriaged([medium, low]) == ["Medium uninitialized-local: x is never initialized"]
