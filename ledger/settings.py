"""Every ``GOVLEDGER_*`` setting: flags, then the environment, then defaults.

This is the one module that reads the environment, and it reads it only in ``get_settings()``
(never at import time). Tests that change the environment call ``get_settings.cache_clear()``.
Each variable is documented in the README's *Configuration* section (tests/test_settings.py
checks both). The API's knobs live here too, so that there is one reader and one list; the
API turns them into its own ``ApiSettings`` (api/settings.py).
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
    # None: the indexer's default (indexer.sync.DEFAULT_REORG_WINDOW).
    reorg_window: int | None = None
    agency_secret: str | None = None
    ocid_prefix: str = "ocds-govledger"
    # Test hook of the indexer's crash tests: SIGKILL at the n-th time a named point is reached.
    test_kill_at: tuple[str, int] | None = None
    api_rate_limit: float = 20.0
    api_rate_burst: int = 100
    api_trust_forwarded: bool = False
    api_cursor_secret: str = ""
    api_cache_max_age: int = 5
    api_cache_entries: int = 2048
    api_export_max_rows: int = 1_000_000

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


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r} must not be negative")
    return value


def _reorg_window() -> int | None:
    raw = os.environ.get("GOVLEDGER_REORG_WINDOW", "")
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"GOVLEDGER_REORG_WINDOW={raw!r} is not a whole number") from None
    if value < 1:
        raise SettingsError("GOVLEDGER_REORG_WINDOW must be at least 1")
    return value


def _kill_at() -> tuple[str, int] | None:
    raw = os.environ.get("GOVLEDGER_TEST_KILL_AT", "")
    if not raw:
        return None
    point, _, count = raw.partition(":")
    return point, int(count or "1")


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
        reorg_window=_reorg_window(),
        agency_secret=env("GOVLEDGER_AGENCY_SECRET"),
        ocid_prefix=env("GOVLEDGER_OCID_PREFIX") or Settings.ocid_prefix,
        test_kill_at=_kill_at(),
        api_rate_limit=_number("GOVLEDGER_API_RATE_LIMIT", Settings.api_rate_limit),
        api_rate_burst=_int("GOVLEDGER_API_RATE_BURST", Settings.api_rate_burst),
        api_trust_forwarded=env("GOVLEDGER_API_TRUST_FORWARDED", "") in {"1", "true", "yes"},
        api_cursor_secret=env("GOVLEDGER_API_CURSOR_SECRET", ""),
        api_cache_max_age=_int("GOVLEDGER_API_CACHE_MAX_AGE", Settings.api_cache_max_age),
        api_cache_entries=_int("GOVLEDGER_API_CACHE_ENTRIES", Settings.api_cache_entries),
        api_export_max_rows=_int("GOVLEDGER_API_EXPORT_MAX_ROWS", Settings.api_export_max_rows),
    )
