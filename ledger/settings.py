"""Settings from flags, then the environment (prefix GOVLEDGER_), then defaults.

Nothing reads the environment at import time: call ``get_settings()``; tests call
``get_settings.cache_clear()`` after changing the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from ledger.errors import SettingsError


@dataclass(frozen=True)
class Settings:
    rpc_url: str = "http://127.0.0.1:8545"
    database_url: str = "sqlite:///var/govledger.db"
    deployment: Path = Path("var/deployment.json")
    keystore: Path | None = None
    keystore_password: str | None = None
    private_key: str | None = None
    confirmations: int = 0
    agency_secret: str | None = None
    ocid_prefix: str = "ocds-govledger"

    def with_overrides(self, **flags: object) -> Settings:
        """A copy with the flags that were given (None means "not given")."""
        return replace(self, **{k: v for k, v in flags.items() if v is not None})


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r} must not be negative")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ.get
    keystore = env("GOVLEDGER_KEYSTORE")
    return Settings(
        rpc_url=env("GOVLEDGER_RPC_URL") or Settings.rpc_url,
        database_url=env("GOVLEDGER_DATABASE_URL") or Settings.database_url,
        deployment=Path(env("GOVLEDGER_DEPLOYMENT") or Settings.deployment),
        keystore=Path(keystore) if keystore else None,
        keystore_password=env("GOVLEDGER_KEYSTORE_PASSWORD"),
        private_key=env("GOVLEDGER_PRIVATE_KEY"),
        confirmations=_int("GOVLEDGER_CONFIRMATIONS", Settings.confirmations),
        agency_secret=env("GOVLEDGER_AGENCY_SECRET"),
        ocid_prefix=env("GOVLEDGER_OCID_PREFIX") or Settings.ocid_prefix,
    )
