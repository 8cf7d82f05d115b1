"""Settings of the public API: the product's ``GOVLEDGER_*`` settings plus the ``GOVLEDGER_API_*`` knobs.

Nothing reads the environment at import time; ``load_api_settings()`` does, when an app is built.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from api.errors import SettingsError
from ledger.settings import get_settings


@dataclass(frozen=True)
class ApiSettings:
    database_url: str = "sqlite:///var/govledger.db"
    deployment: Path = Path("var/deployment.json")
    ocid_prefix: str = "ocds-govledger"
    # Token bucket per client address: `rate_limit` requests per second on average, bursts of
    # `rate_burst`. 0 switches the limiter off (benchmarks; behind a proxy that limits already).
    rate_limit: float = 20.0
    rate_burst: int = 100
    # Trust X-Forwarded-For's last hop as the client address (only behind our own proxy).
    trust_forwarded: bool = False
    # Keys cursors with HMAC so that a forged or edited cursor is refused, not interpreted.
    cursor_secret: bytes = b""
    # Seconds a client or CDN may reuse an answer; the mirror moves with every block.
    cache_max_age: int = 5
    # Finished JSON answers each worker keeps until the mirror changes (api/cache.py); 0 = none.
    cache_entries: int = 2048
    max_query_bytes: int = 4096
    max_body_bytes: int = 0
    # Rows an export streams at most; above that the client must narrow the filters.
    export_max_rows: int = 1_000_000

    def with_overrides(self, **values: object) -> ApiSettings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def _number(name: str, default: float, *, integer: bool = False) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise SettingsError(f"{name}={raw!r} must not be negative")
    return value


def load_api_settings() -> ApiSettings:
    """The API's settings from the environment (``GOVLEDGER_DATABASE_URL``, ``GOVLEDGER_API_*``)."""
    product = get_settings()
    secret = os.environ.get("GOVLEDGER_API_CURSOR_SECRET", "").encode()
    if not secret:
        # Every worker must accept every other worker's cursors, so the default key is derived,
        # not random; a cursor only points into public data, the HMAC is for strict validation.
        secret = hashlib.sha256(b"govledger-cursor\0" + product.database_url.encode()).digest()
    return ApiSettings(
        database_url=product.database_url,
        deployment=product.deployment,
        ocid_prefix=product.ocid_prefix,
        rate_limit=_number("GOVLEDGER_API_RATE_LIMIT", ApiSettings.rate_limit),
        rate_burst=int(_number("GOVLEDGER_API_RATE_BURST", ApiSettings.rate_burst, integer=True)),
        trust_forwarded=os.environ.get("GOVLEDGER_API_TRUST_FORWARDED", "") in {"1", "true", "yes"},
        cursor_secret=secret,
        cache_max_age=int(_number("GOVLEDGER_API_CACHE_MAX_AGE", ApiSettings.cache_max_age, integer=True)),
        cache_entries=int(_number("GOVLEDGER_API_CACHE_ENTRIES", ApiSettings.cache_entries, integer=True)),
        export_max_rows=int(_number("GOVLEDGER_API_EXPORT_MAX_ROWS", ApiSettings.export_max_rows, integer=True)),
    )
