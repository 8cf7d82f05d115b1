"""Settings in one place: one module reads the environment, and the README documents every variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from indexer.sync import DEFAULT_REORG_WINDOW, reorg_window
from ledger.errors import SettingsError
from ledger.paths import PROJECT_ROOT
from ledger.settings import get_settings

PRODUCT = ("ledger", "indexer", "audit", "api", "scripts")
SETTINGS_MODULE = PROJECT_ROOT / "ledger" / "settings.py"
READS_ENVIRONMENT = re.compile(r"\bos\.environ\b|\bgetenv\b|\benviron\b|process\.env\b")
# A trailing "_" is a prefix ("GOVLEDGER_API_*"), not a variable.
VARIABLE = re.compile(r"\bGOVLEDGER_[A-Z0-9_]*")


def files(*folders: str, suffixes: tuple[str, ...] = (".py", ".cjs", ".js", ".html", ".md")) -> list[Path]:
    found: list[Path] = []
    for folder in folders:
        found += [p for p in (PROJECT_ROOT / folder).rglob("*") if p.suffix in suffixes and p.is_file()]
    return sorted(found)


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}"
        for path in files(*PRODUCT, suffixes=(".py", ".cjs", ".js"))
        if path != SETTINGS_MODULE
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if READS_ENVIRONMENT.search(line)
    ]
    assert readers == [], "read settings through ledger.settings.get_settings()"


def test_every_variable_is_documented_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    configuration = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = {name for name in VARIABLE.findall(configuration) if not name.endswith("_")}
    used = {
        name
        for path in files(*PRODUCT, "tests", "bench", "docs")
        for name in VARIABLE.findall(path.read_text(encoding="utf-8"))
        if not name.endswith("_")
    }
    assert len(used) >= 20
    assert used - documented == set()
    assert documented - used == set()  # nothing documented that nothing reads


def test_the_settings_module_reads_every_product_variable() -> None:
    read_there = set(re.findall(r'"(GOVLEDGER_[A-Z0-9_]+)"', SETTINGS_MODULE.read_text(encoding="utf-8")))
    product = {
        name
        for path in files(*PRODUCT)
        for name in VARIABLE.findall(path.read_text(encoding="utf-8"))
        if not name.endswith("_")
    }
    assert product - read_there == set()


def test_settings_are_read_when_asked_and_again_after_cache_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOVLEDGER_REORG_WINDOW", raising=False)
    get_settings.cache_clear()
    assert reorg_window() == DEFAULT_REORG_WINDOW
    monkeypatch.setenv("GOVLEDGER_REORG_WINDOW", "16")
    assert reorg_window() == DEFAULT_REORG_WINDOW  # cached until cleared
    get_settings.cache_clear()
    assert reorg_window() == 16
    assert reorg_window(8) == 8  # the flag wins
    monkeypatch.setenv("GOVLEDGER_REORG_WINDOW", "0")
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match="GOVLEDGER_REORG_WINDOW must be at least 1"):
        get_settings()
    monkeypatch.undo()
    get_settings.cache_clear()
