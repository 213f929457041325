"""Databases for the store, session and server tests: a migrated SQLite file, or a fresh
PostgreSQL schema (random name, dropped afterwards), so tests never see each other's data."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from jwtwarden.server.migrate import upgrade

__all__ = ["DB", "migrated", "pg_schema", "sqlite_db"]


@dataclass(frozen=True)
class DB:
    kind: str  # "sqlite" or "postgresql"
    url: str
    schema: str | None = None


def sqlite_db(tmp_path: Path) -> DB:
    db = DB("sqlite", f"sqlite:///{tmp_path / 'jwtwarden.db'}")
    upgrade(db.url)
    return db


async def _drop(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@contextmanager
def pg_schema(postgres_url: str, *, migrate: bool = True) -> Iterator[DB]:
    schema = "jwt_test_" + secrets.token_hex(6)
    db = DB("postgresql", postgres_url, schema)
    try:
        if migrate:
            upgrade(db.url, schema=schema)
        yield db
    finally:
        # Possibly called from inside a running loop (async fixtures): a thread of its own.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _drop(postgres_url, schema)).result()


@contextmanager
def migrated(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DB]:
    if kind == "sqlite":
        yield sqlite_db(tmp_path)
        return
    postgres_url = request.getfixturevalue("postgres_url")
    with pg_schema(postgres_url) as db:
        yield db
