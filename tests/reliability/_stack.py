"""A production-mode ``jwtwarden serve --workers 2`` on a throwaway PostgreSQL and Redis of its
own (``tests._services``), for the fault scenarios under load.

Nothing here touches the shared servers: each stack initdb's a cluster and starts a Redis in
the test's temporary folder, and removes both at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from jwtwarden.server.migrate import upgrade
from jwtwarden.sessions.passwords import PasswordHasher
from jwtwarden.sessions.ports import UserRecord
from jwtwarden.stores.sql import SQLUserStore, create_engine
from tests._services import ThrowawayPostgres, ThrowawayRedis, start_postgres, start_redis

from ..server.support import ServerProcess, clean_env, free_port, new_kek

__all__ = ["EMAIL", "INTROSPECTION", "PASSWORD", "Stack", "running_stack"]

EMAIL = "load@example.test"
PASSWORD = "a perfectly long password for the load"
INTROSPECTION = ("resource-server", "r" * 40)
WORKERS = 2


@dataclass
class Stack:
    """The server and its own PostgreSQL and Redis."""

    pg: ThrowawayPostgres
    rd: ThrowawayRedis
    server: ServerProcess
    env: dict[str, str]
    started_in: float = 0.0  # seconds from initdb to both workers serving

    @property
    def url(self) -> str:
        return self.server.base_url

    def workers(self) -> list[int]:
        """The PIDs of uvicorn's worker processes (children of the server's process, without
        multiprocessing's resource tracker)."""
        parent = self.server.proc.pid
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == parent and b"resource_tracker" not in cmdline:
                found.append(int(entry.name))
        return sorted(found)

    def kill_worker(self) -> int:
        """SIGKILL one worker (the first); its PID."""
        pid = self.workers()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def workers_started(self) -> int:
        """How many workers have finished their start-up so far (uvicorn's log line)."""
        return self.server.log().count("Application startup complete.")

    async def sql(self, query: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.pg.url, timeout=10)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()


def _wait_workers(stack: Stack, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while len(stack.workers()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} workers not up:\n{stack.server.log()[-3000:]}")
        time.sleep(0.1)


@asynccontextmanager
async def running_stack(
    tmp: Path,
    *,
    postgres_settings: dict[str, str] | None = None,
    before_server: Callable[[ThrowawayPostgres], Awaitable[None]] | None = None,
    **env: str,
) -> AsyncIterator[Stack]:
    """Start PostgreSQL, Redis and the server (migrated, one account), yield, stop all three.

    ``postgres_settings`` are set server-wide with ``ALTER SYSTEM`` before the server starts
    (a deployment's ``postgresql.conf``); ``before_server`` runs on the new cluster before the
    server is started; ``env`` adds ``JWTWARDEN_*`` settings.
    """
    began = time.monotonic()
    pg = await asyncio.to_thread(start_postgres, tmp / "postgres")
    rd: ThrowawayRedis | None = None
    server: ServerProcess | None = None
    try:
        if postgres_settings:
            await _alter_system(pg, postgres_settings)
        if before_server is not None:
            await before_server(pg)
        rd = await asyncio.to_thread(start_redis, tmp / "redis")
        port = free_port()
        base = {
            "JWTWARDEN_ENVIRONMENT": "production",
            "JWTWARDEN_ISSUER": f"http://127.0.0.1:{port}",
            "JWTWARDEN_KEK": new_kek(),
            "JWTWARDEN_DATABASE_URL": pg.url,
            "JWTWARDEN_REDIS_URL": rd.url,
            "JWTWARDEN_REDIS_PREFIX": f"rel-{secrets.token_hex(4)}:",
            "JWTWARDEN_DATA_DIR": str(tmp / "data"),
            "JWTWARDEN_ALLOWED_ORIGINS": "https://app.example.test",
            "JWTWARDEN_INTROSPECTION_CLIENT_ID": INTROSPECTION[0],
            "JWTWARDEN_INTROSPECTION_CLIENT_SECRET": INTROSPECTION[1],
            "JWTWARDEN_RATE_LIMIT_LOGIN_ACCOUNT": "100000",
            "JWTWARDEN_RATE_LIMIT_LOGIN_ADDRESS": "100000",
        }
        full = clean_env({**base, **env})
        # What `jwtwarden db upgrade` and `jwtwarden users create` do, in process (two CLI
        # processes cost 2 s of imports each on these two shared cores).
        await asyncio.to_thread(upgrade, pg.url)
        await _create_user(pg.url)
        server = ServerProcess(full, port, tmp / "server.log", workers=WORKERS)
        stack = Stack(pg, rd, server, full)
        await asyncio.to_thread(server.wait_ready)
        await asyncio.to_thread(_wait_workers, stack, WORKERS)
        stack.started_in = round(time.monotonic() - began, 1)
        yield stack
    finally:
        # Blocking on purpose: a teardown that a timeout cancels would leave servers running.
        if server is not None:
            _stop_server(server)
        if rd is not None:
            with contextlib.suppress(ProcessLookupError):
                rd.resume()
            rd.stop()
        pg.remove()


def _stop_server(server: ServerProcess) -> None:
    """SIGTERM the server (uvicorn stops its workers), SIGKILL it and its workers after 10 s."""
    stack = Stack.__new__(Stack)
    stack.server = server
    workers = stack.workers()
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(5)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.stop()  # closes its log


async def _create_user(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        user = UserRecord(
            id=str(uuid.uuid4()),
            email=EMAIL,
            password_hash=await PasswordHasher().ahash(PASSWORD),
            is_admin=False,
            created_at=time.time(),
        )
        await SQLUserStore(engine).create_user(user)
    finally:
        await engine.dispose()


async def _alter_system(pg: ThrowawayPostgres, settings: dict[str, str]) -> None:
    conn = await asyncpg.connect(pg.url, timeout=10)
    try:
        for name, value in settings.items():
            await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
