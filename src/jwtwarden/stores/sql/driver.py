"""The hot paths on PostgreSQL: statements written with SQLAlchemy Core, compiled once, run on
asyncpg connections of a pool of their own.

SQLAlchemy's async layer costs several hundred microseconds of CPU per transaction on top of
asyncpg (greenlet hand-offs, execution contexts, result wrapping), which for the refresh grant
was more than the ES256 signature and the SQL together (docs/benchmarks-server.md). The few
statements on a request's hot path therefore skip it: the statement is still built from the
schema objects (one source of truth) and compiled once with the asyncpg dialect, and runs on a
connection of an asyncpg pool that ``create_engine`` sets up beside the engine's own pool (same
database and credentials, same ``search_path``, at most as many connections, opened on demand;
closed when the engine is disposed). Even a checkout from the engine's pool cost two greenlet
hand-offs (about 60 us of CPU per request under load); asyncpg's pool costs a queue operation.

A connection goes back to the pool with no transaction open (asyncpg rolls back one left open,
and drops a connection that was lost) and with nothing else reset: these statements leave no
session state behind (no ``SET``, ``LISTEN``, advisory locks or cursors), so asyncpg's default
reset query, one more round trip per checkout, is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.postgresql.asyncpg import dialect as _AsyncpgDialect
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

__all__ = [
    "ACQUIRE_TIMEOUT",
    "DriverStatement",
    "attach_driver_pool",
    "close_driver_pool",
    "driver_connection",
]

_DIALECT = _AsyncpgDialect()  # type: ignore[no-untyped-call]


class DriverStatement:
    """A Core statement compiled for asyncpg: ``sql`` with ``$n`` placeholders, and the order
    of its named parameters."""

    __slots__ = ("names", "sql")

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        if not isinstance(compiled, SQLCompiler):  # pragma: no cover - DDL is not for here
            raise TypeError("only SQL statements can be compiled for the driver")
        self.sql: str = str(compiled)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for ``params`` (a missing one is a bug: ``KeyError``)."""
        return [params[name] for name in self.names]


class AttributeRow:
    """An asyncpg record read by attribute, as SQLAlchemy's rows are: the stores' row
    converters then serve both drivers."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        self._record = record

    def __getattr__(self, name: str) -> Any:
        return self._record[name]


# SQLAlchemy's own options that its asyncpg adapter takes from the URL (not asyncpg's).
_SQLALCHEMY_ONLY = ("prepared_statement_cache_size", "prepared_statement_name_func")
# How long a request waits for a connection before failing (503) unless told otherwise
# (``create_engine(pool_timeout=...)``; the server passes JWTWARDEN_DATABASE_POOL_TIMEOUT).
ACQUIRE_TIMEOUT = 30.0


@dataclass
class _DriverPool:
    # asyncpg.create_pool keyword arguments: the password is among them, so never in a repr.
    connect: dict[str, Any] = field(repr=False)
    size: int = 1
    acquire_timeout: float = ACQUIRE_TIMEOUT
    pool: Any = field(default=None, repr=False)  # asyncpg.Pool, made on first use in a loop
    loop: asyncio.AbstractEventLoop | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lock_loop: asyncio.AbstractEventLoop | None = None


_POOLS: weakref.WeakKeyDictionary[Engine, _DriverPool] = weakref.WeakKeyDictionary()


async def _no_reset(connection: Any) -> None:
    """Nothing to reset beyond what asyncpg always does (roll back an open transaction)."""


def attach_driver_pool(
    engine: AsyncEngine,
    *,
    size: int,
    server_settings: Mapping[str, str] | None = None,
    acquire_timeout: float = ACQUIRE_TIMEOUT,
) -> None:
    """Give a PostgreSQL ``engine`` the asyncpg pool its hot paths use (``create_engine``
    calls this): at most ``size`` connections with the engine's database, credentials and
    ``server_settings``, waited for at most ``acquire_timeout`` seconds; terminated by
    ``engine.dispose()``."""
    _, params = engine.dialect.create_connect_args(engine.url)
    connect = {k: v for k, v in params.items() if k not in _SQLALCHEMY_ONLY}
    if server_settings:
        connect["server_settings"] = dict(server_settings)
    _POOLS[engine.sync_engine] = _DriverPool(
        connect=connect, size=max(1, size), acquire_timeout=acquire_timeout
    )
    event.listen(engine.sync_engine, "engine_disposed", _close_driver_pool)


def _close_driver_pool(engine: Engine) -> None:
    """``engine.dispose()``: drop the driver pool's connections at once (``close_driver_pool``
    first lets the requests still running finish)."""
    state = _POOLS.get(engine)
    if state is not None and state.pool is not None:
        pool, loop, state.pool, state.loop = state.pool, state.loop, None, None
        _terminate(pool, loop)


def _terminate(pool: Any, loop: asyncio.AbstractEventLoop | None) -> None:
    """Close a pool's connections from any thread; a pool whose event loop is gone has
    nothing left to close through (its transports went with the loop)."""
    if loop is None or loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        pool.terminate()
    else:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(pool.terminate)


async def close_driver_pool(engine: AsyncEngine, timeout: float = 10.0) -> None:
    """Close ``engine``'s driver pool gracefully: wait up to ``timeout`` seconds for the
    connections in use to come back, then drop whatever is left."""
    state = _POOLS.get(engine.sync_engine)
    if state is None or state.pool is None:
        return
    pool, loop, state.pool, state.loop = state.pool, state.loop, None, None
    if loop is not asyncio.get_running_loop():
        _terminate(pool, loop)
        return
    try:
        await asyncio.wait_for(pool.close(), timeout)
    except (TimeoutError, OSError, RuntimeError):
        pool.terminate()


async def _pool(engine: AsyncEngine) -> Any:
    state = _POOLS.get(engine.sync_engine)
    if state is None:
        raise RuntimeError("this engine has no driver pool: build it with stores.sql.create_engine")
    loop = asyncio.get_running_loop()
    if state.pool is not None and state.loop is loop:
        return state.pool
    if state.lock_loop is not loop:  # an asyncio lock belongs to one event loop
        state.lock, state.lock_loop = asyncio.Lock(), loop
    async with state.lock:
        if state.pool is None or state.loop is not loop:
            import asyncpg

            if state.pool is not None:  # made in another event loop
                old, old_loop, state.pool, state.loop = state.pool, state.loop, None, None
                _terminate(old, old_loop)
            pool = await asyncpg.create_pool(
                min_size=0, max_size=state.size, reset=_no_reset, **state.connect
            )
            state.pool, state.loop = pool, loop
    return state.pool


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """A connection of ``engine``'s driver pool, returned when the block ends.

    Waiters queue inside asyncpg's pool, on an ``asyncio.Queue``, which lets a newcomer take
    a connection just handed to a waiter: not first come, first served. A fair semaphore in
    front of the pool was measured (docs/benchmarks-server.md): refresh p99 at 64 connections
    a third lower, but 15-30% less throughput; not kept.

    Raises:
        TimeoutError: no connection came free within the pool's ``acquire_timeout``.
    """
    pool = await _pool(engine)
    timeout = _POOLS[engine.sync_engine].acquire_timeout
    async with pool.acquire(timeout=timeout) as connection:
        yield connection
