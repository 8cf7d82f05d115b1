"""Settings of the public API: the product's ``GOVLEDGER_*`` settings plus the ``GOVLEDGER_API_*`` knobs.

The values come from ``ledger.settings.get_settings()``, the one reader of the environment;
``load_api_settings()`` shapes them for the API when an app is built.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from ledger.settings import Settings, get_settings


@dataclass(frozen=True)
class ApiSettings:
    # The defaults are the environment's defaults (ledger.settings.Settings), written once.
    database_url: str = Settings.database_url
    deployment: Path = Settings.deployment
    ocid_prefix: str = Settings.ocid_prefix
    # Token bucket per client address: `rate_limit` requests per second on average, bursts of
    # `rate_burst`. 0 switches the limiter off (benchmarks; behind a proxy that limits already).
    rate_limit: float = Settings.api_rate_limit
    rate_burst: int = Settings.api_rate_burst
    # Trust X-Forwarded-For's last hop as the client address (only behind our own proxy).
    trust_forwarded: bool = Settings.api_trust_forwarded
    # Keys cursors with HMAC so that a forged or edited cursor is refused, not interpreted.
    cursor_secret: bytes = b""
    # Seconds a client or CDN may reuse an answer; the mirror moves with every block.
    cache_max_age: int = Settings.api_cache_max_age
    # Finished JSON answers each worker keeps until the mirror changes (api/cache.py); 0 = none.
    cache_entries: int = Settings.api_cache_entries
    max_query_bytes: int = 4096
    max_body_bytes: int = 0
    # Rows an export streams at most; above that the client must narrow the filters.
    export_max_rows: int = Settings.api_export_max_rows

    def with_overrides(self, **values: object) -> ApiSettings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def load_api_settings() -> ApiSettings:
    """The API's settings, read through ``get_settings()`` (``GOVLEDGER_DATABASE_URL``, ``GOVLEDGER_API_*``)."""
    product = get_settings()
    secret = product.api_cursor_secret.encode()
    if not secret:
        # Every worker must accept every other worker's cursors, so the default key is derived,
        # not random; a cursor only points into public data, the HMAC is for strict validation.
        secret = hashlib.sha256(b"govledger-cursor\0" + product.database_url.encode()).digest()
    return ApiSettings(
        database_url=product.database_url,
        deployment=product.deployment,
        ocid_prefix=product.ocid_prefix,
        rate_limit=product.api_rate_limit,
        rate_burst=product.api_rate_burst,
        trust_forwarded=product.api_trust_forwarded,
        cursor_secret=secret,
        cache_max_age=product.api_cache_max_age,
        cache_entries=product.api_cache_entries,
        export_max_rows=product.api_export_max_rows,
    )
