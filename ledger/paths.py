"""Where the project's own files live (contracts, artifacts, node_modules, var/)."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
NODE_MODULES = PROJECT_ROOT / "node_modules"
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
SOLC_FRONT = Path(__file__).resolve().parent / "solc_front.cjs"
ANVIL_BIN = NODE_MODULES / ".bin" / "anvil"
