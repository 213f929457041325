"""The PostgreSQL hot-path helpers: statements compiled for asyncpg, and pooled driver
connections that never go back to the pool in a bad state."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from jwtwarden.stores.sql import create_engine
from jwtwarden.stores.sql.driver import DriverStatement, driver_connection
from jwtwarden.stores.sql.schema import users

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


async def _backend(conn: object) -> int:
    pid = await conn.fetchval("SELECT pg_backend_pid()")  # type: ignore[attr-defined]
    assert isinstance(pid, int)
    return pid


async def test_should_reuse_a_cleanly_returned_connection(pg_engine: AsyncEngine) -> None:
    async with driver_connection(pg_engine) as first:
        backend = await _backend(first)
    async with driver_connection(pg_engine) as second:
        assert await _backend(second) == backend  # pool_size=1: the same connection came back


async def test_should_roll_back_what_a_caller_left_open(pg_engine: AsyncEngine) -> None:
    async with driver_connection(pg_engine) as first:
        async with first.transaction():
            await first.execute("CREATE TEMP TABLE t (x int)")  # this connection's own
            await first.execute("INSERT INTO t VALUES (1)")
        await first.execute("BEGIN")  # never committed: must not reach the next caller
        await first.execute("DROP TABLE t")
    async with driver_connection(pg_engine) as second:
        assert not second.is_in_transaction()
        assert await second.fetchval("SELECT count(*) FROM t") == 1  # the drop was undone


async def test_should_drop_a_connection_that_was_lost(pg_engine: AsyncEngine) -> None:
    async with driver_connection(pg_engine) as first:
        backend = await _backend(first)
    with pytest.raises(RuntimeError):
        async with driver_connection(pg_engine) as conn:
            conn.terminate()  # as when the server goes away mid-request
            raise RuntimeError("the request failed")
    async with driver_connection(pg_engine) as second:
        assert await _backend(second) != backend
        assert await second.fetchval("SELECT 1") == 1


async def test_should_wait_for_a_connection_then_time_out(
    pg_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jwtwarden.stores.sql.driver as driver

    monkeypatch.setattr(driver, "ACQUIRE_TIMEOUT", 0.2)
    async with driver_connection(pg_engine):
        with pytest.raises(TimeoutError):  # pool_size=1, and it is taken
            async with driver_connection(pg_engine):
                pass


async def test_should_close_the_driver_pool_with_the_engine(
    postgres_url: str,
) -> None:
    with pg_schema(postgres_url) as db:
        engine = create_engine(db.url, schema=db.schema, pool_size=2)
        async with driver_connection(engine) as conn:
            backend = await _backend(conn)
            assert await conn.fetchval("SHOW search_path") == db.schema
        await engine.dispose()
        admin = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
        try:
            for _ in range(50):  # the server notices the closed socket at once, or nearly
                alive = await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", backend
                )
                if alive == 0:
                    break
                await asyncio.sleep(0.02)
            assert alive == 0
        finally:
            await admin.close()
        async with driver_connection(engine) as conn:  # a disposed engine can be used again
            assert await conn.fetchval("SELECT 1") == 1
        await engine.dispose()


def test_should_keep_the_database_password_out_of_the_driver_pools_repr() -> None:
    from jwtwarden.stores.sql.driver import _POOLS

    engine = create_engine("postgresql://app:hunter2-db-secret@127.0.0.1:5432/test")
    described = repr(_POOLS[engine.sync_engine])
    assert "hunter2-db-secret" not in described and "size=10" in described


def test_should_give_each_event_loop_a_pool_of_its_own(postgres_url: str) -> None:
    # A CLI or a test runs one event loop after another on the same engine: each loop gets a
    # pool of its own and closes it before it ends (as it must close the engine's own pool).
    from jwtwarden.stores.sql.driver import close_driver_pool

    with pg_schema(postgres_url) as db:
        engine = create_engine(db.url, schema=db.schema, pool_size=1)

        async def query() -> int:
            async with driver_connection(engine) as conn:
                value = int(await conn.fetchval("SELECT 1"))
            await close_driver_pool(engine)
            return value

        assert [asyncio.run(query()) for _ in range(3)] == [1, 1, 1]
        asyncio.run(engine.dispose())


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_should_not_trip_over_the_pool_of_an_event_loop_that_ended(postgres_url: str) -> None:
    # Misuse: a loop ended with the pool open. Its sockets went with the loop (hence the
    # warnings ignored here); the next loop and dispose() must still work.
    with pg_schema(postgres_url) as db:
        engine = create_engine(db.url, schema=db.schema, pool_size=1)

        async def query() -> int:
            async with driver_connection(engine) as conn:
                return int(await conn.fetchval("SELECT 1"))

        assert [asyncio.run(query()) for _ in range(2)] == [1, 1]
        asyncio.run(engine.dispose())
        gc.collect()  # the orphaned connections are finalized (and warn) within this test


async def test_should_let_running_queries_finish_when_closing_gracefully(
    pg_engine: AsyncEngine,
) -> None:
    from jwtwarden.stores.sql.driver import close_driver_pool

    checked_out = asyncio.Event()

    async def slow() -> int:
        async with driver_connection(pg_engine) as conn:
            checked_out.set()  # the query below is in flight when the close starts
            return int(await conn.fetchval("SELECT 7 FROM pg_sleep(0.2)"))

    running = asyncio.create_task(slow())
    await checked_out.wait()
    await close_driver_pool(pg_engine)  # terminate() here would fail the query
    assert await running == 7
    async with driver_connection(pg_engine) as conn:  # a new pool on next use
        assert await conn.fetchval("SELECT 1") == 1
