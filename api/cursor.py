"""Opaque keyset cursors: the last row's sort key, signed so that only cursors we issued are read.

A cursor is ``base64url(json(key)) "." base64url(hmac)``. The HMAC also covers the list and its
filters, so a cursor from ``/v1/projects?agency=A`` is refused by ``/v1/projects?agency=B``
instead of silently paging through the wrong list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from api.errors import InvalidParameterError

MAX_CURSOR_CHARS = 512
_MAC_BYTES = 16
# What a sort key may hold: a ledger seq (a BIGINT column) or a code (a VARCHAR(66) column, and
# PostgreSQL text never holds NUL). Checked even on cursors that verify: whoever knows the secret
# can sign anything, and a value outside the column's range must be a 422, not a driver's 500.
MAX_INT = 2**63 - 1
MAX_TEXT = 66


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, scope: str, payload: bytes) -> bytes:
    return hmac.new(secret, scope.encode() + b"\0" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode_cursor(secret: bytes, scope: str, key: list[Any]) -> str:
    """A cursor resuming after the row whose sort key is ``key``."""
    payload = orjson.dumps(key)
    return _b64(payload) + "." + _b64(_mac(secret, scope, payload))


def decode_cursor(secret: bytes, scope: str, text: str, shape: tuple[type, ...]) -> list[Any]:
    """The sort key inside a cursor we issued for this list; anything else is a 422."""
    refused = InvalidParameterError("cursor", "not a cursor issued for this list; use next_cursor as given")
    if len(text) > MAX_CURSOR_CHARS or text.count(".") != 1:
        raise refused
    body, mac = text.split(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
    except (ValueError, UnicodeEncodeError):
        raise refused from None
    if not hmac.compare_digest(given, _mac(secret, scope, payload)):
        raise refused
    try:
        key = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise refused from None
    # Signed by us (or by whoever holds the secret), so the shape is checked like any input.
    if not isinstance(key, list) or len(key) != len(shape):
        raise refused
    for value, kind in zip(key, shape, strict=True):
        if type(value) is not kind:
            raise refused
        if kind is int and not 0 <= value <= MAX_INT:
            raise refused
        if kind is str and (not 0 < len(value) <= MAX_TEXT or "\0" in value):
            raise refused
    return key
