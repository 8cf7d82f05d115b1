"""The contracts' documentation conventions (contracts/README.md): every custom error says when
it is raised and what its values are, and every implementation of an interface function takes
its documentation from the interface with ``@inheritdoc``."""

from __future__ import annotations

import re

from ledger.paths import CONTRACTS_DIR

INTERFACES = sorted((CONTRACTS_DIR / "interfaces").glob("*.sol"))
IMPLEMENTATIONS = sorted(CONTRACTS_DIR.glob("*.sol"))
ERROR = re.compile(r"((?:^[ \t]*///.*\n)*)^[ \t]*error (\w+)\(([^)]*)\);", re.M)
FUNCTION = re.compile(r"^[ \t]*function (\w+)\(", re.M)


def test_every_error_has_a_notice_and_its_params() -> None:
    missing: list[str] = []
    errors = 0
    for path in INTERFACES + IMPLEMENTATIONS:
        for doc, name, params in ERROR.findall(path.read_text(encoding="utf-8")):
            errors += 1
            if "@notice" not in doc:
                missing.append(f"{name}: @notice")
            for param in filter(None, (p.split()[-1] for p in params.split(",") if p.strip())):
                if not re.search(rf"@param {param}\b", doc):
                    missing.append(f"{name}: @param {param}")
    assert errors >= 30
    assert missing == []


def test_every_interface_function_implementation_inherits_its_doc() -> None:
    declared = {name: path.stem for path in INTERFACES for name in FUNCTION.findall(path.read_text(encoding="utf-8"))}
    missing: list[str] = []
    implemented = 0
    for path in IMPLEMENTATIONS:
        text = path.read_text(encoding="utf-8")
        for match in FUNCTION.finditer(text):
            name = match.group(1)
            if name not in declared:
                continue
            implemented += 1
            previous = text[: match.start()].rstrip().rsplit("\n", 1)[-1].strip()
            if previous != f"/// @inheritdoc {declared[name]}":
                missing.append(f"{path.name}: {name}")
    assert implemented == len(declared)
    assert missing == []
