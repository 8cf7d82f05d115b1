"""The deployment file: where the contract lives, written by `govledger deploy`.

Every reader (indexer, API, auditor) starts from it: the chain id guards against pointing
at the wrong chain, the deploy block is where indexing starts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ledger.errors import SettingsError


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    address: str  # checksummed
    deploy_block: int
    deploy_block_hash: str  # 0x-hex
    deploy_tx: str  # 0x-hex
    artifact_sha256: str
    compiler: str
    contract: str = "GovLedger"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def load_deployment(path: Path) -> Deployment:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(
            f"no deployment file at {path}; run `govledger deploy` (or set GOVLEDGER_DEPLOYMENT)"
        ) from None
    except ValueError as exc:
        raise SettingsError(f"deployment file {path} is not valid JSON: {exc}") from None
    try:
        return Deployment(**data)
    except TypeError as exc:
        raise SettingsError(f"deployment file {path} is malformed: {exc}") from None


def save_deployment(deployment: Deployment, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(deployment.to_json(), encoding="utf-8")
    tmp.replace(path)
