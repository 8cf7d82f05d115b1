"""Settings of the public API: the product's ``GOVLEDGER_*`` settings plus the ``GOVLEDGER_API_*`` knobs.

The values come from ``ledger.settings.get_settings()``, the one reader of the environment;
``load_api_settings()`` shapes them for the API when an app is built.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from api.errors import SettingsError
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
    # Keys cursors with HMAC so that a forged or edited cursor is refused, not interpreted
    # (load_api_settings: GOVLEDGER_API_CURSOR_SECRET, else a random one kept in CURSOR_SECRET_FILE).
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


CURSOR_SECRET_FILE = "api-cursor-secret"


def _cursor_secret(configured: str, database_url: str, deployment: Path) -> bytes:
    """GOVLEDGER_API_CURSOR_SECRET, else a random secret kept (0600) beside the mirror.

    Random and persisted rather than required: `govledger serve` must start with no configuration
    (the demo, one machine), and a file read by every worker of the machine and kept across
    restarts gives them one key, so a client's next_cursor survives a second worker or a deploy.
    (The key was once derived from the database URL, which is public or the default: anyone could
    sign cursors.) Several hosts behind one load balancer must share the key: they set the variable.
    """
    if configured:
        return configured.encode()
    from api.database import SqliteMirror, open_mirror

    mirror = open_mirror(database_url)
    folder = mirror.path.parent if isinstance(mirror, SqliteMirror) else deployment.parent
    path = folder / CURSOR_SECRET_FILE
    try:
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            draft = folder / f".{CURSOR_SECRET_FILE}.{os.getpid()}"
            descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
            try:
                # link() never replaces: when workers race, every one ends up with the first key.
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        secret = path.read_text().strip().encode()
    except OSError as exc:
        raise SettingsError(
            f"cannot keep the cursor secret in {path} ({exc.strerror}); set GOVLEDGER_API_CURSOR_SECRET"
        ) from None
    if not secret:
        raise SettingsError(f"{path} is empty; delete it or set GOVLEDGER_API_CURSOR_SECRET")
    return secret


def load_api_settings() -> ApiSettings:
    """The API's settings, read through ``get_settings()`` (``GOVLEDGER_DATABASE_URL``, ``GOVLEDGER_API_*``)."""
    product = get_settings()
    secret = _cursor_secret(product.api_cursor_secret, product.database_url, product.deployment)
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
