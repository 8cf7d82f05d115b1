"""The API's database session cannot write, on SQLite and on PostgreSQL; and the PostgreSQL
mirror answers every route exactly as the SQLite one does."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import psycopg
import pytest
from api_scenario import Scenario, settings_for

from api.app import create_app

pytestmark = pytest.mark.xdist_group("api")

WRITES = [
    "INSERT INTO agencies (code, name, name_en, seq, block_number, block_time) VALUES ('EVIL', 'x', 'x', 0, 0, 0)",
    "UPDATE projects SET allocation = 0",
    "DELETE FROM events",
    "CREATE TABLE evil (a INTEGER)",
    "DROP TABLE disbursements",
]


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@pytest.mark.parametrize("statement", WRITES)
def test_sqlite_session_refuses_writes(sqlite_url: str, statement: str) -> None:
    app = create_app(settings_for(sqlite_url))
    mirror = app.state.mirror
    before = run(mirror.fetch_all("SELECT COUNT(*) FROM events"))
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|query_only|read only"):
        run(mirror.fetch_all(statement))
    # Even with the query_only pragma switched off, the mode=ro handle still cannot write.
    run(mirror.fetch_all("PRAGMA query_only = OFF"))
    with pytest.raises(sqlite3.OperationalError, match="readonly|read-only|read only"):
        run(mirror.fetch_all(statement))
    assert run(mirror.fetch_all("SELECT COUNT(*) FROM events")) == before
    run(mirror.close())


@pytest.mark.parametrize("statement", WRITES)
def test_postgres_session_refuses_writes(pg_url: str, statement: str) -> None:
    app = create_app(settings_for(pg_url))
    mirror = app.state.mirror

    async def attempt() -> tuple[Any, Any]:
        before = await mirror.fetch_all("SELECT COUNT(*) FROM events")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            await mirror.fetch_all(statement)
        after = await mirror.fetch_all("SELECT COUNT(*) FROM events")
        await mirror.close()
        return before, after

    before, after = run(attempt())
    assert before == after and before[0][0] > 0


PATHS = [
    "/v1/agencies?limit=3",
    "/v1/agencies/MOE",
    "/v1/projects?limit=4",
    "/v1/projects?q=public%20health",
    "/v1/projects?fiscal_year=2565&limit=5",
    "/v1/projects/MOE-2570-001",
    "/v1/projects/MOE-2570-002",
    "/v1/disbursements?limit=5",
    "/v1/disbursements?min_amount=20&max_amount=25.25",
    "/v1/disbursements?since=2027-01-06&until=2027-01-07",
    "/v1/disbursements?payee=SUP-001",
    "/v1/disbursements?limit=500",
    "/v1/services/complaint/stats",
    "/v1/services/student-loan/stats",
    "/v1/summary",
    "/v1/summary?fiscal_year=2570",
    "/v1/checkpoint",
    "/v1/export/disbursements.csv",
    "/v1/export/ocds?agency=MOE",
]


def test_postgres_mirror_answers_like_sqlite(client: Any, pg_client: Any, scenario_chain: Scenario) -> None:
    paths = PATHS + [
        f"/v1/disbursements/{scenario_chain.payment('V-0002', 'MOE').seq}",
        f"/v1/requests/{scenario_chain.requests['complaint-open']}",
        f"/v1/requests/{scenario_chain.requests['loan']}",
    ]
    for path in paths:
        lite, pg = client.get(path), pg_client.get(path)
        assert (path, lite.status_code) == (path, 200), lite.text
        assert (path, pg.status_code) == (path, 200), pg.text
        assert pg.content == lite.content, path
    # Cursor pages walk the same way too.
    first = pg_client.get("/v1/disbursements", params={"limit": 4}).json()
    second = pg_client.get("/v1/disbursements", params={"limit": 4, "cursor": first["next_cursor"]}).json()
    assert [i["id"] for i in first["items"] + second["items"]] == sorted(
        (p.seq for p in scenario_chain.payments), reverse=True
    )[:8]
