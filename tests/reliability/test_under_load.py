"""Faults under refresh load: a production-mode ``jwtwarden serve --workers 2`` on a throwaway
PostgreSQL and Redis of each test's own, 32 clients refreshing over real HTTP (``_load``), one
fault in the middle, then the checks of ``_checks`` from the database and the server.

Each test is bounded by ``asyncio.timeout(BOUND)``; none asserts on wall time. Run this folder
alone with ``pytest tests/reliability`` or ``pytest -m reliability``; ``-s`` prints each
scenario's figures (docs/reliability.md quotes them).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from tests._services import ThrowawayPostgres

from ._checks import examine
from ._load import Load
from ._stack import running_stack

BOUND = 90.0  # seconds: a guard against a hang (a scenario takes 25-60 s on 2 busy cores)
WARM = 2.0  # seconds of load before the fault
AFTER = 4.0  # seconds of load after it


@pytest.mark.parametrize("mode", ["immediate", "fast"])
async def test_should_lose_and_kill_no_session_when_postgresql_restarts_under_load(
    tmp_path: Path, mode: str
) -> None:
    async with asyncio.timeout(BOUND), running_stack(tmp_path) as stack:
        load = Load(stack.url)
        async with load.running():
            await asyncio.sleep(WARM)
            async with load.fault(f"postgresql {mode} restart"):
                await asyncio.to_thread(stack.pg.restart, mode)
            await asyncio.sleep(AFTER)
        found = await examine(stack, load)
        found.report(f"postgresql {mode} restart")
    assert found.problems() == {}
    assert found.refreshes_ok > 0


async def test_should_answer_from_the_database_while_redis_is_killed_and_restarted(
    tmp_path: Path,
) -> None:
    async with asyncio.timeout(BOUND), running_stack(tmp_path) as stack:
        load = Load(stack.url, logout_every=20)
        async with load.running():
            await asyncio.sleep(WARM)
            async with load.fault("redis SIGKILL, restarted without persistence"):
                await asyncio.to_thread(stack.rd.kill)
                await asyncio.sleep(1.0)
                await asyncio.to_thread(stack.rd.start)
            await asyncio.sleep(AFTER)
        found = await examine(stack, load)
        found.report("redis kill")
    assert found.problems() == {}
    assert found.refreshes_ok > 0


async def test_should_fail_fast_and_recover_when_redis_is_paused(tmp_path: Path) -> None:
    async with asyncio.timeout(BOUND), running_stack(tmp_path) as stack:
        load = Load(stack.url, logout_every=20)
        async with load.running():
            await asyncio.sleep(WARM)
            async with load.fault("redis SIGSTOP for 3 s, then SIGCONT"):
                stack.rd.pause()
                try:
                    await asyncio.sleep(3.0)
                finally:
                    stack.rd.resume()
            await asyncio.sleep(AFTER)
        found = await examine(stack, load)
        found.report("redis pause")
    assert found.problems() == {}
    assert found.refreshes_ok > 0


async def test_should_kill_no_session_when_a_table_lock_outlasts_the_client_timeout(
    tmp_path: Path,
) -> None:
    # The documented defaults, spelled out: statement 5 s, lock 2 s, pool 3 s; the clients give
    # up after 5 s (_load.CLIENT_TIMEOUT) and the lock is held for 8 s.
    timeouts = {
        "JWTWARDEN_DATABASE_STATEMENT_TIMEOUT": "5",
        "JWTWARDEN_DATABASE_LOCK_TIMEOUT": "2",
        "JWTWARDEN_DATABASE_POOL_TIMEOUT": "3",
    }
    async with asyncio.timeout(BOUND), running_stack(tmp_path, **timeouts) as stack:
        load = Load(stack.url)
        async with load.running():
            await asyncio.sleep(WARM)
            locker = await asyncpg.connect(stack.pg.url)
            try:
                async with (
                    load.fault("ACCESS EXCLUSIVE lock on jw_sessions for 8 s"),
                    locker.transaction(),
                ):
                    await locker.execute("LOCK TABLE jw_sessions IN ACCESS EXCLUSIVE MODE")
                    await asyncio.sleep(8.0)
            finally:
                await locker.close()
            await asyncio.sleep(AFTER)
        found = await examine(stack, load)
        found.report("table lock 8 s")
    assert found.problems() == {}
    assert found.statuses.get("503", 0) > 0  # the lock was felt: the clients were told to wait


async def test_should_kill_no_session_when_a_worker_is_killed_mid_load(tmp_path: Path) -> None:
    async with asyncio.timeout(BOUND), running_stack(tmp_path) as stack:
        load = Load(stack.url)
        async with load.running():
            await asyncio.sleep(WARM)
            for kill in range(2):
                # One worker at a time: the next kill waits until the replacement serves.
                async with load.fault("worker SIGKILL"):
                    killed = stack.kill_worker()
                    # uvicorn's supervisor notices within 0.5 s and starts a new worker.
                    while stack.workers_started() < 3 + kill:
                        await asyncio.sleep(0.1)
                assert killed not in stack.workers()
                await asyncio.sleep(1.0)
            await asyncio.sleep(AFTER)
            serving = len(stack.workers())
        found = await examine(stack, load)
        found.report("worker SIGKILL x2")
    assert serving == 2
    assert found.lost_answers > 0  # the kills cut requests off
    assert found.problems() == {}


async def test_should_lose_no_acknowledged_rotation_when_postgresql_crashes(
    tmp_path: Path,
) -> None:
    # Server-wide synchronous_commit=off (the failing configuration): the server's own
    # connections pin it on. The control writer uses the server-wide default and shows that this
    # crash does lose commits that were acknowledged but not flushed.
    control_lost: list[int] = []

    async def control(pg: ThrowawayPostgres) -> None:
        control_lost.append(await _control_commits_lost(pg))

    async with (
        asyncio.timeout(BOUND),
        running_stack(
            tmp_path, postgres_settings={"synchronous_commit": "off"}, before_server=control
        ) as stack,
    ):
        load = Load(stack.url, logout_every=20)  # logouts: denials must outlive the crash too
        async with load.running():
            await asyncio.sleep(WARM)
            async with load.fault("postgresql crash (immediate stop), then start"):
                await asyncio.to_thread(stack.pg.stop, "immediate")
                await asyncio.sleep(1.0)
                await asyncio.to_thread(stack.pg.start)
            await asyncio.sleep(AFTER)
        found = await examine(stack, load)
        found.report(f"postgresql crash (control writer lost {control_lost[0]} commits)")
    assert control_lost[0] > 0
    assert found.problems() == {}
    assert found.refreshes_ok > 0


async def test_should_give_concurrent_refreshes_of_one_token_one_answer(tmp_path: Path) -> None:
    async with asyncio.timeout(BOUND), running_stack(tmp_path) as stack:
        load = Load(stack.url, tabs=16)
        async with load.running():
            await asyncio.sleep(WARM + AFTER)
        found = await examine(stack, load)
        found.report("16 of 32 clients refresh twice at once")
    assert found.problems() == {}
    assert found.refreshes_ok > 0


async def _control_commits_lost(pg: ThrowawayPostgres) -> int:
    """Commit numbered rows with the server-wide default (``off``) as fast as one connection
    can for 1 s, crash PostgreSQL (``pg_ctl -m immediate stop``) while doing so, start it, and
    count the acknowledged rows that are gone."""
    conn = await asyncpg.connect(pg.url)
    await conn.execute("CREATE TABLE control_commits (n integer PRIMARY KEY)")
    acknowledged = 0
    crash = asyncio.create_task(_crash_after(pg, 1.0))
    try:
        while True:
            await conn.execute("INSERT INTO control_commits VALUES ($1)", acknowledged + 1)
            acknowledged += 1
    except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
        pass  # the crash ended the connection
    finally:
        await crash
        conn.terminate()
    await asyncio.to_thread(pg.start)
    check = await asyncpg.connect(pg.url)
    try:
        kept = int(await check.fetchval("SELECT count(*) FROM control_commits"))
    finally:
        await check.close()
    return acknowledged - kept


async def _crash_after(pg: ThrowawayPostgres, seconds: float) -> None:
    await asyncio.sleep(seconds)
    await asyncio.to_thread(pg.stop, "immediate")
