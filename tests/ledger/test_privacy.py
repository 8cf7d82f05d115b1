"""Applicant commitments: check digit via python-stdnum, HMAC with the agency secret, fresh salt."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from eth_utils import keccak

from ledger.errors import ApplicantIdError, SettingsError
from ledger.privacy import DEV_AGENCY_SECRET, agency_secret, applicant_commitment, new_salt, validate_national_id

# A syntactically valid ID (check digit computed by hand below), not a real person's.
VALID = "1101700230708"


def _check_digit(first12: str) -> int:
    return (11 - sum(int(d) * (13 - i) for i, d in enumerate(first12)) % 11) % 10


def test_check_digit_reference() -> None:
    assert _check_digit(VALID[:12]) == int(VALID[12])


def test_validation_accepts_dashes_and_refuses_bad_digits_without_echo() -> None:
    assert validate_national_id("1-1017-00230-70-8") == VALID
    wrong = VALID[:12] + str((int(VALID[12]) + 1) % 10)
    for bad in (wrong, VALID[:12], "abc", ""):
        with pytest.raises(ApplicantIdError) as info:
            validate_national_id(bad)
        if bad:
            assert bad not in str(info.value)


def test_commitment_formula() -> None:
    salt = bytes(range(32))
    secret = b"agency-secret"
    mac = hmac.new(secret, VALID.encode(), hashlib.sha256).digest()
    assert applicant_commitment(VALID, secret, salt) == keccak(salt + mac)
    assert applicant_commitment("1-1017-00230-70-8", secret, salt) == keccak(salt + mac)
    assert applicant_commitment(VALID, b"other", salt) != keccak(salt + mac)
    assert new_salt() != new_salt() and len(new_salt()) == 32


def test_agency_secret_required_off_dev_chain() -> None:
    warnings: list[str] = []
    assert agency_secret("s3cret", 1, warnings.append) == b"s3cret" and not warnings
    assert agency_secret(None, 31337, warnings.append) == DEV_AGENCY_SECRET.encode() and len(warnings) == 1
    with pytest.raises(SettingsError, match="GOVLEDGER_AGENCY_SECRET is required"):
        agency_secret(None, 1, warnings.append)
