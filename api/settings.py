"""Settings of the public API: the product's ``GOVLEDGER_*`` settings plus the ``GOVLEDGER_API_*`` knobs.

Nothing reads the environment at import time; ``load_api_settings()`` does, when an app is built.
"""

from __future__ import annotations

import os
import secrets
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
    # Keys cursors with HMAC so that a forged or edited cursor is refused, not interpreted
    # (load_api_settings: GOVLEDGER_API_CURSOR_SECRET, else a random one kept in CURSOR_SECRET_FILE).
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


CURSOR_SECRET_FILE = "api-cursor-secret"


def _cursor_secret(database_url: str, deployment: Path) -> bytes:
    """GOVLEDGER_API_CURSOR_SECRET, else a random secret kept (0600) beside the mirror.

    Random and persisted rather than required: `govledger serve` must start with no configuration
    (the demo, one machine), and a file read by every worker of the machine and kept across
    restarts gives them one key, so a client's next_cursor survives a second worker or a deploy.
    (The key was once derived from the database URL, which is public or the default: anyone could
    sign cursors.) Several hosts behind one load balancer must share the key: they set the variable.
    """
    configured = os.environ.get("GOVLEDGER_API_CURSOR_SECRET", "")
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
    """The API's settings from the environment (``GOVLEDGER_DATABASE_URL``, ``GOVLEDGER_API_*``)."""
    product = get_settings()
    secret = _cursor_secret(product.database_url, product.deployment)
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
