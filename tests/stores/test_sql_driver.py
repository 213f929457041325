"""The PostgreSQL hot-path helpers: statements compiled for asyncpg, and pooled driver
connections that never go back to the pool in a bad state."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jwtwarden.stores._sql_driver import DriverStatement, driver_connection
from jwtwarden.stores._sql_schema import users
from jwtwarden.stores.sql import create_engine

from .dbs import pg_schema


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    with pg_schema(postgres_url) as db:
        engine = create_engine(db.url, schema=db.schema, pool_size=1)
        try:
            yield engine
        finally:
            await engine.dispose()


def test_should_compile_named_parameters_into_numbered_placeholders_in_order() -> None:
    statement = DriverStatement(
        select(users.c.id).where(
            users.c.email == bindparam("email"), users.c.auth_version > bindparam("version")
        )
    )
    assert "$1" in statement.sql and "$2" in statement.sql
    assert statement.args({"version": 3, "email": "a@example.test"}) == ["a@example.test", 3]
    with pytest.raises(KeyError):
        statement.args({"email": "a@example.test"})


async def test_should_reuse_a_cleanly_returned_connection(pg_engine: AsyncEngine) -> None:
    async with driver_connection(pg_engine) as first:
        assert await first.fetchval("SELECT 1") == 1
    async with driver_connection(pg_engine) as second:
        assert second is first  # pool_size=1: the same connection came back


async def test_should_drop_a_connection_left_inside_a_transaction(pg_engine: AsyncEngine) -> None:
    async with driver_connection(pg_engine) as first:
        await first.execute("BEGIN")  # never committed: must not reach the next caller
    async with driver_connection(pg_engine) as second:
        assert second is not first
        assert not second.is_in_transaction()
        assert await second.fetchval("SELECT 1") == 1


async def test_should_drop_a_connection_that_was_lost(pg_engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with driver_connection(pg_engine) as first:
            first.terminate()  # as when the server goes away mid-request
            raise RuntimeError("the request failed")
    async with driver_connection(pg_engine) as second:
        assert second is not first
        assert await second.fetchval("SELECT 1") == 1
