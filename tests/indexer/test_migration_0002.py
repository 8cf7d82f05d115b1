"""Migration 0002 on a mirror written by the previous schema: agencies.ministry_code is backfilled."""

from __future__ import annotations

import secrets
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from indexer.db import MIGRATIONS, sqlalchemy_url, upgrade

ROWS = [("MOE", "กระทรวงศึกษาธิการ"), ("MOE/OBEC", "สพฐ."), ("MOE/OBEC/R1", "เขต 1"), ("0xab", "")]
WANTED = {"MOE": "MOE", "MOE/OBEC": "MOE", "MOE/OBEC/R1": "MOE", "0xab": "0xab"}


def _migrate_to(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def _backfilled(url: str) -> dict[str, str]:
    _migrate_to(url, "0001")
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as connection:
        for seq, (code, name) in enumerate(ROWS, start=1):
            connection.execute(
                text("INSERT INTO agencies VALUES (:code, :name, '', :seq, 1, 0)"),
                {"code": code, "name": name, "seq": seq},
            )
    upgrade(url)
    with engine.connect() as connection:
        found = dict(connection.execute(text("SELECT code, ministry_code FROM agencies")).all())
    engine.dispose()
    return found


def test_backfill_on_sqlite(tmp_path: Path) -> None:
    assert _backfilled(f"sqlite:///{tmp_path / 'old.db'}") == WANTED


@pytest.mark.postgres
def test_backfill_on_postgresql(postgres_url: str) -> None:
    name = f"govledger_mig_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        assert _backfilled(postgres_url.rsplit("/", 1)[0] + "/" + name) == WANTED
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
