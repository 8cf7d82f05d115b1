"""Applicant privacy: national-ID validation and the commitment that binds a request to a person.

    commitment = keccak256(salt || HMAC-SHA256(agency_secret, national_id_digits))

* ``national_id_digits`` is the 13-digit Thai ID without dashes or spaces, as ASCII.
* ``agency_secret`` is ``GOVLEDGER_AGENCY_SECRET`` as UTF-8 bytes; it never leaves the agency.
  Without it nobody can test IDs against a commitment (a 13-digit ID space is brute-forced in
  minutes, so a plain or publicly salted hash would not protect anyone).
* ``salt`` is 32 fresh random bytes per request, handed to the applicant in the receipt; with
  it and their ID the applicant (and the agency, which knows the secret) can prove the binding.

The ID itself is only ever held in memory: it is not stored, logged, printed or sent anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from eth_utils import keccak
from stdnum.exceptions import ValidationError
from stdnum.th import pin

from ledger.errors import ApplicantIdError, SettingsError

DEV_CHAIN_ID = 31337
# Only for a local development chain; published here on purpose, so it protects nothing.
DEV_AGENCY_SECRET = "govledger-development-agency-secret"
SALT_BYTES = 32


def validate_national_id(text: str) -> str:
    """The 13 digits of a valid Thai national ID (check digit verified by python-stdnum).

    The error message never repeats the input: it may be a real person's ID.
    """
    try:
        return str(pin.validate(text))
    except ValidationError as exc:
        raise ApplicantIdError(
            f"the applicant ID is not a valid Thai national ID ({exc.message.rstrip('.')})"
        ) from None


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def applicant_commitment(national_id: str, agency_secret: bytes, salt: bytes) -> bytes:
    """The 32-byte commitment written on chain for a validated national ID."""
    if len(salt) != SALT_BYTES:
        raise ValueError("salt must be 32 bytes")
    if not agency_secret:
        raise SettingsError("the agency secret must not be empty")
    digits = validate_national_id(national_id)
    mac = hmac.new(agency_secret, digits.encode("ascii"), hashlib.sha256).digest()
    return bytes(keccak(salt + mac))


def agency_secret(configured: str | None, chain_id: int, warn: Callable[[str], None]) -> bytes:
    """The agency secret: required, except on a local development chain (with a warning)."""
    if configured:
        return configured.encode("utf-8")
    if chain_id == DEV_CHAIN_ID:
        warn("GOVLEDGER_AGENCY_SECRET is not set; using the public development secret (local chain only)")
        return DEV_AGENCY_SECRET.encode("utf-8")
    raise SettingsError("GOVLEDGER_AGENCY_SECRET is required to open a request (the agency's HMAC key)")
