"""The answer cache (api/cache.py): a question asked again is answered from memory, byte for byte,
while the mirror stays as it was, and from the mirror again as soon as the indexer has committed."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from api_scenario import settings_for
from fastapi.testclient import TestClient

from api.app import create_app
from api.database import CHECKPOINT_VERSION

pytestmark = pytest.mark.xdist_group("api")


def counted(app: Any) -> list[str]:
    """The SQL the routes send to the mirror (not the cache's own version question)."""
    mirror = app.state.mirror
    sent: list[str] = []
    fetch_all, stream = mirror.fetch_all, mirror.stream

    async def counting_fetch_all(sql: str, params: Any = None) -> Any:
        if sql != CHECKPOINT_VERSION:
            sent.append(sql)
        return await fetch_all(sql, params)

    def counting_stream(sql: str, params: Any = None, batch: int = 2000) -> Any:
        sent.append(sql)
        return stream(sql, params, batch)

    mirror.fetch_all = counting_fetch_all
    mirror.stream = counting_stream
    return sent


@pytest.fixture
def mirror_copy(sqlite_url: str, tmp_path: Path) -> str:
    """A copy of the session's SQLite mirror that a test may write to, as the indexer would."""
    source = Path(sqlite_url.removeprefix("sqlite:///"))
    with sqlite3.connect(source) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(source, tmp_path / "mirror.db")
    return f"sqlite:///{tmp_path / 'mirror.db'}"


@pytest.fixture
def copy_client(mirror_copy: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(mirror_copy))) as client:
        yield client


def test_the_same_question_is_answered_from_memory(copy_client: TestClient) -> None:
    sent = counted(copy_client.app)
    first = copy_client.get("/v1/disbursements?limit=5")
    assert first.status_code == 200 and sent
    sent.clear()
    # Kept from the second time it is asked: a question asked once is not kept.
    second = copy_client.get("/v1/disbursements?limit=5")
    assert sent and second.content == first.content
    sent.clear()
    again = copy_client.get("/v1/disbursements?limit=5")
    assert sent == []
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == first.headers["cache-control"]
    assert again.headers["access-control-allow-origin"] == "*"  # the Guard still wraps it
    not_modified = copy_client.get("/v1/disbursements?limit=5", headers={"If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.headers["etag"] == first.headers["etag"]
    assert sent == []
    # Another query string is another question.
    for _ in range(2):
        sent.clear()
        assert copy_client.get("/v1/disbursements?limit=6").status_code == 200
        assert sent


def test_errors_exports_and_pages_are_never_kept(copy_client: TestClient) -> None:
    sent = counted(copy_client.app)
    for path in ("/v1/disbursements/999999999", "/v1/export/disbursements.csv", "/"):
        for _ in range(2):
            sent.clear()
            copy_client.get(path)
            assert sent, f"{path} was answered without the mirror"


def test_a_commit_to_the_mirror_is_seen_within_the_interval(copy_client: TestClient, mirror_copy: str) -> None:
    listed = copy_client.get("/v1/disbursements?limit=1").json()["items"][0]
    path = f"/v1/disbursements/{listed['id']}"
    before = copy_client.get(path)
    for _ in range(2):
        assert copy_client.get(path).content == before.content  # now kept
    with sqlite3.connect(mirror_copy.removeprefix("sqlite:///")) as writer:
        writer.execute("UPDATE disbursements SET payee = 'CHANGED-BY-INDEXER' WHERE seq = ?", (listed["id"],))
    time.sleep(copy_client.app.state.mirror.version_interval)
    after = copy_client.get(path)
    assert after.json()["payee"] == "CHANGED-BY-INDEXER"
    assert after.headers["etag"] != before.headers["etag"]
    assert copy_client.get("/v1/disbursements?limit=1").json()["items"][0]["payee"] == "CHANGED-BY-INDEXER"


def test_postgresql_answers_follow_the_checkpoint(pg_url: str) -> None:
    app = create_app(settings_for(pg_url))
    with TestClient(app) as client:
        code = client.get("/v1/projects?limit=1").json()["items"][0]["code"]
        path = f"/v1/projects/{code}"
        before = client.get(path).json()
        assert client.get(path).json() == before  # the second ask keeps it
        sent = counted(app)
        assert client.get(path).json() == before and sent == []
        with psycopg.connect(pg_url, autocommit=False) as writer:
            old_hash = writer.execute("SELECT block_hash FROM checkpoint").fetchone()[0]
            try:
                # What an indexer batch does: rows and checkpoint in one transaction.
                writer.execute("UPDATE projects SET name = name || ' (แก้ไข)' WHERE code = %s", (code,))
                writer.execute("UPDATE checkpoint SET block_hash = %s", ("0x" + "ab" * 32,))
                writer.commit()
                time.sleep(app.state.mirror.version_interval)
                assert client.get(path).json()["name"] == before["name"] + " (แก้ไข)"
                assert sent
            finally:
                writer.rollback()
                writer.execute("UPDATE projects SET name = %s WHERE code = %s", (before["name"], code))
                writer.execute("UPDATE checkpoint SET block_hash = %s", (old_hash,))
                writer.commit()


def test_memory_is_bounded(mirror_copy: str) -> None:
    app = create_app(settings_for(mirror_copy, cache_entries=2))
    with TestClient(app) as client:
        sent = counted(app)
        for limit in (1, 2, 3):
            for _ in range(2):
                client.get(f"/v1/disbursements?limit={limit}")
        sent.clear()
        client.get("/v1/disbursements?limit=3")
        assert sent == []  # kept
        client.get("/v1/disbursements?limit=1")
        assert sent  # the oldest went first
    off = create_app(settings_for(mirror_copy, cache_entries=0))
    with TestClient(off) as client:
        sent = counted(off)
        for _ in range(2):
            sent.clear()
            client.get("/v1/summary")
            assert sent
