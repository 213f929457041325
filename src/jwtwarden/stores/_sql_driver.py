"""The hot paths on PostgreSQL: statements written with SQLAlchemy Core, compiled once, run on
the asyncpg connection underneath a pooled SQLAlchemy connection.

SQLAlchemy's async layer costs several hundred microseconds of CPU per transaction on top of
asyncpg (greenlet hand-offs, execution contexts, result wrapping), which for the refresh grant
was more than the ES256 signature and the SQL together (docs/benchmarks-server.md). The few
statements on a request's hot path therefore skip it: the statement is still built from the
schema objects (one source of truth) and compiled once with the asyncpg dialect; the connection
still comes from the engine's pool (same limits, same ``search_path``). Everything else stays
on SQLAlchemy.

A pooled connection used this way is handed back with no transaction open: asyncpg's own
``transaction()`` commits or rolls back before it is returned (one that could not is dropped).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import dialect as _AsyncpgDialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import Pool, QueuePool
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util.concurrency import greenlet_spawn

__all__ = ["DriverStatement", "driver_connection"]

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


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """The asyncpg connection of a connection checked out of ``engine``'s pool.

    The pool is used directly, not through ``AsyncEngine.connect()``: the ``Connection``
    wrapper and its greenlet hand-offs cost more than the query (about 60 us of CPU per
    checkout). What that wrapper would do on failure is done here: a connection that was lost,
    or left inside a transaction, is invalidated instead of going back to the pool.
    """
    pool = engine.sync_engine.pool
    async with _gate(pool):
        fairy = await greenlet_spawn(pool.connect)
        driver = fairy.driver_connection
        try:
            yield driver
        finally:
            if driver is None or driver.is_closed() or driver.is_in_transaction():
                await greenlet_spawn(fairy.invalidate)
            await greenlet_spawn(fairy.close)


_GATES: weakref.WeakKeyDictionary[Pool, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _gate(pool: Pool) -> asyncio.Semaphore:
    """At most ``pool.size()`` driver users at a time: the others queue on a semaphore, which
    costs a future, instead of in the pool, where SQLAlchemy waits with ``asyncio.wait_for``
    (a task and a timer per waiter; measured as the refresh grant's CPU per request growing
    by a sixth from 16 to 64 connections)."""
    gate = _GATES.get(pool)
    if gate is None:
        size = pool.size() if isinstance(pool, QueuePool) else 1
        gate = _GATES[pool] = asyncio.Semaphore(max(1, size))
    return gate
