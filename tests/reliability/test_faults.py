"""Faults of the server's own PostgreSQL and Redis: restarts, stalls, lost writes.

Every test here runs against throwaway servers of its own (``tests._services``), never the
shared ones, since it stops, pauses and reconfigures them. Each test is bounded in time by
``asyncio.timeout``; none asserts on wall time.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis

from jwtwarden.server.app import create_app
from jwtwarden.server.settings import Settings
from jwtwarden.stores.sql.driver import driver_connection
from tests._services import ThrowawayPostgres, ThrowawayRedis, start_postgres, start_redis

from ..server.support import App, new_kek
from ..stores.dbs import pg_schema

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

PASSWORD = "a perfectly long password"
EMAIL = "ada@example.test"
RS = ("rs", "s" * 40)
BOUND = 90.0  # seconds: every test ends within this, whatever the servers do


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    base = tmp_path_factory.mktemp("faults")
    pg: ThrowawayPostgres = start_postgres(base / "postgres")
    rd: ThrowawayRedis | None = None
    try:
        rd = start_redis(base / "redis")
        yield pg, rd
    finally:
        if rd is not None:
            rd.resume()
            rd.stop()
        pg.remove()


# A context manager, not a generator driven by `async for`: a failing test body then still
# closes the app and drops its schema at once (a generator was left to the garbage collector).
@asynccontextmanager
async def _app(pg: Any, rd: Any, tmp_path: Path, **settings: Any) -> AsyncIterator[App]:
    with pg_schema(pg.url) as db:
        app = create_app(
            Settings(
                data_dir=tmp_path / "data",
                kek=new_kek(),
                database_url=db.url,
                database_schema=db.schema,
                redis_url=rd.url,
                redis_prefix=f"faults-{secrets.token_hex(4)}:",
                allowed_origins="https://app.example.test",
                introspection_client_id=RS[0],
                introspection_client_secret=RS[1],
                rate_limit_login_account=10_000,
                rate_limit_login_address=10_000,
                **settings,
            )
        )
        async with app.router.lifespan_context(app):
            wrapped = App(app)
            await wrapped.runtime.service.create_user(EMAIL, PASSWORD)
            yield wrapped


async def _login(c: httpx.AsyncClient) -> httpx.Response:
    return await c.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})


async def _pair(c: httpx.AsyncClient) -> dict[str, Any]:
    """A login that must succeed: its access and refresh tokens."""
    r = await _login(c)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _active(c: httpx.AsyncClient, token: str) -> bool:
    r = await c.post("/oauth/introspect", data={"token": token}, auth=RS)
    assert r.status_code == 200, r.text
    return bool(r.json()["active"])


async def _redis_has(rd: Any, key: str) -> bool:
    client = aioredis.Redis.from_url(rd.url)
    try:
        return bool(await client.exists(key))
    finally:
        await client.aclose()


async def test_should_keep_logged_out_tokens_refused_and_logins_working_after_a_redis_restart(
    services: tuple[Any, Any], tmp_path: Path
) -> None:
    pg, rd = services
    async with asyncio.timeout(BOUND):
        async with _app(pg, rd, tmp_path) as app, app.client() as c:
            pairs = [await _pair(c) for _ in range(20)]
            for pair in pairs:
                out = await c.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})
                assert out.status_code == 200
            # Redis without persistence forgets every denial when it restarts.
            rd.stop()
            rd.start()
            still_active = [await _active(c, p["access_token"]) for p in pairs]
            assert still_active.count(True) == 0
            statuses = [(await _login(c)).status_code for _ in range(32)]
            assert (statuses.count(503), set(statuses)) == (0, {200})
            # A second restart, then logouts: none fails, and each token is refused.
            rd.stop()
            rd.start()
            fresh = [await _pair(c) for _ in range(8)]
            rd.stop()
            rd.start()
            outs = [
                (
                    await c.post("/auth/logout", json={"refresh_token": p["refresh_token"]})
                ).status_code
                for p in fresh
            ]
            assert outs == [200] * 8
            assert [await _active(c, p["access_token"]) for p in fresh] == [False] * 8


async def test_should_bring_a_denial_made_while_redis_was_down_to_redis_when_it_is_back(
    services: tuple[Any, Any], tmp_path: Path
) -> None:
    pg, rd = services
    async with asyncio.timeout(BOUND):
        async with _app(pg, rd, tmp_path) as app, app.client() as c:
            pair = await _pair(c)
            sid = (await app.runtime.verify_access_token(pair["access_token"])).claims["sid"]
            rd.pause()  # stalled: every write times out, nothing is forgotten
            try:
                out = await c.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})
            finally:
                rd.resume()
            assert out.status_code == 200
            key = app.runtime.settings.redis_prefix + "deny:s:" + sid
            while not await _redis_has(rd, key):  # retried until it lands (bounded above)
                await asyncio.sleep(0.1)
            assert await _active(c, pair["access_token"]) is False


async def test_should_deny_the_access_tokens_of_a_session_ended_for_reuse_while_redis_was_down(
    services: tuple[Any, Any], tmp_path: Path
) -> None:
    pg, rd = services
    async with asyncio.timeout(BOUND):
        async with _app(pg, rd, tmp_path) as app, app.client() as c:
            first = await _pair(c)
            form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
            second = (await c.post("/oauth/token", data=form)).json()
            # The successor is used, so the first token is reuse, not a retry.
            used = {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
            third = (await c.post("/oauth/token", data=used)).json()
            rd.stop()
            reused = await c.post("/oauth/token", data=form)
            rd.start()
            assert reused.status_code == 400
            assert await _active(c, third["access_token"]) is False
            assert await _active(c, second["access_token"]) is False
            assert await _active(c, first["access_token"]) is False


async def test_should_answer_503_with_retry_after_on_a_table_lock_and_not_kill_the_session(
    services: tuple[Any, Any], tmp_path: Path
) -> None:
    pg, rd = services
    async with asyncio.timeout(BOUND):
        async with (
            _app(
                pg, rd, tmp_path, database_lock_timeout=0.5, database_statement_timeout=1.0
            ) as app,
            app.client() as c,
        ):
            pair = await _pair(c)
            form = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
            locker = await asyncpg.connect(pg.url)
            try:
                schema = app.runtime.settings.database_schema
                tx = locker.transaction()
                await tx.start()
                await locker.execute(
                    f'LOCK TABLE "{schema}".jw_refresh_tokens IN ACCESS EXCLUSIVE MODE'
                )
                stalled = await c.post("/oauth/token", data=form)
                await tx.rollback()
            finally:
                await locker.close()
            assert stalled.status_code == 503
            assert stalled.json()["error"] == "temporarily_unavailable"
            assert int(stalled.headers["retry-after"]) >= 1
            # The client retries the same refresh token: a rotation, not reuse.
            retried = await c.post("/oauth/token", data=form)
            assert retried.status_code == 200, retried.text
            assert app.runtime.metrics.reuse._value.get() == 0
            assert await _active(c, retried.json()["access_token"]) is True


async def test_should_pin_synchronous_commit_on_for_session_store_connections(
    services: tuple[Any, Any], tmp_path: Path
) -> None:
    pg, rd = services
    admin = await asyncpg.connect(pg.url)
    try:
        await admin.execute("ALTER SYSTEM SET synchronous_commit = off")
        await admin.execute("SELECT pg_reload_conf()")
    finally:
        await admin.close()
    try:
        async with asyncio.timeout(BOUND):
            async with _app(pg, rd, tmp_path) as app:
                async with driver_connection(app.runtime.engine) as conn:
                    hot = await conn.fetchval("SHOW synchronous_commit")
                    timeout = await conn.fetchval("SHOW statement_timeout")
                async with app.runtime.engine.connect() as conn:
                    core = (await conn.exec_driver_sql("SHOW synchronous_commit")).scalar()
                assert (hot, core) == ("on", "on")
                assert timeout != "0"
    finally:
        admin = await asyncpg.connect(pg.url)
        try:
            await admin.execute("ALTER SYSTEM RESET synchronous_commit")
            await admin.execute("SELECT pg_reload_conf()")
        finally:
            await admin.close()
