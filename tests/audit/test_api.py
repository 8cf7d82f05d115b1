"""The API side of the auditor: /v1/proofs/... and `verify --api` (checkpoint digest, paged reads)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from ledger.audit.api_mirror import compare_api
from ledger.audit.bundle import read_manifest
from ledger.audit.errors import MirrorError
from ledger.audit.proof import verify_proof
from ledger.deployment import save_deployment
from ledger.settings import get_settings

from .conftest import _deployment


def _client(database: Path) -> TestClient:
    settings = ApiSettings(database_url=f"sqlite:///{database}", rate_limit=0)
    return TestClient(create_app(settings), base_url="http://testserver")


@pytest.fixture
def api_env(anvil_chain, published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "deployment.json"
    save_deployment(_deployment(anvil_chain), path)
    monkeypatch.setenv("GOVLEDGER_RPC_URL", anvil_chain.url)
    monkeypatch.setenv("GOVLEDGER_DEPLOYMENT", str(path))
    get_settings.cache_clear()
    yield published["anvil"]
    get_settings.cache_clear()


def test_disbursement_and_request_proofs(api_env) -> None:
    db = sqlite3.connect(api_env.path)
    seq = db.execute("SELECT seq FROM disbursements ORDER BY seq LIMIT 1 OFFSET 7").fetchone()[0]
    tracking, step = db.execute("SELECT tracking_code, seq FROM request_transitions ORDER BY seq LIMIT 1").fetchone()
    checkpoint = db.execute("SELECT block_number, block_hash FROM checkpoint").fetchone()
    other = db.execute("SELECT seq FROM request_transitions WHERE tracking_code != ? LIMIT 1", (tracking,)).fetchone()
    db.close()
    with _client(api_env.path) as client:
        answer = client.get(f"/v1/proofs/disbursements/{seq}")
        assert answer.status_code == 200, answer.text
        proof = answer.json()
        entry = verify_proof(proof, trusted_head=bytes.fromhex(checkpoint[1][2:]))
        assert (entry["seq"], entry["event"]) == (seq, "DisbursementRecorded")
        assert proof["checkpoint"]["number"] == checkpoint[0]

        answer = client.get(f"/v1/proofs/requests/{tracking}/{step}")
        assert answer.status_code == 200, answer.text
        assert verify_proof(answer.json())["event"] == "RequestAdvanced"

        for url in (
            "/v1/proofs/disbursements/999999",
            f"/v1/proofs/disbursements/{step}",  # a seq that is not a disbursement
            f"/v1/proofs/requests/{tracking}/{other[0]}",  # another request's step
            f"/v1/proofs/requests/{'0' * 32}/{step}",
        ):
            answer = client.get(url)
            assert answer.status_code == 404, url
            assert answer.headers["content-type"].startswith("application/problem+json")
        assert client.get("/v1/proofs/disbursements/0").status_code == 422


def test_verify_against_the_api(anvil_chain, published, tmp_path: Path) -> None:
    target = published["anvil"]
    manifest = read_manifest(anvil_chain.directory)
    with _client(target.path) as client:
        detail, figures = compare_api(target.reference, "http://testserver", manifest, client=client)
    assert figures["disbursements"] == 40 and figures["projects"] == 6
    assert figures["digest"] == target.reference.digest

    doctored = tmp_path / "doctored.db"
    shutil.copy(target.path, doctored)
    with sqlite3.connect(doctored) as db:
        db.execute("UPDATE disbursements SET payee = 'someone-else' WHERE seq = (SELECT MAX(seq) FROM disbursements)")
    with _client(doctored) as client, pytest.raises(MirrorError, match=r"disbursement id=\d+ differs: payee"):
        compare_api(target.reference, "http://testserver", manifest, client=client)
