"""``SQLLease``: a time-limited lease row, so one process of many runs the periodic chores
(key rotation ticks, purging expired rows) while every process keeps serving."""

from __future__ import annotations

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from .failures import translates_driver_errors
from .schema import leases

__all__ = ["SQLLease"]


@translates_driver_errors
class SQLLease:
    """``acquire(now)`` is true for at most one holder at a time, until its lease lapses.

    Example:
        >>> lease = SQLLease(engine, "keys", holder="pid-1234", ttl=60)  # doctest: +SKIP
        >>> if await lease.acquire(now): ...                             # doctest: +SKIP
    """

    def __init__(self, engine: AsyncEngine, name: str, *, holder: str, ttl: float) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.engine = engine
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self._insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert

    async def acquire(self, now: float) -> bool:
        """Take or renew the lease; whether this holder has it now."""
        until = now + self.ttl
        create = (
            self._insert(leases)
            .values(name=self.name, holder=self.holder, expires_at=until)
            .on_conflict_do_nothing(index_elements=[leases.c.name])
        )
        take = (
            update(leases)
            .where(
                leases.c.name == self.name,
                or_(leases.c.holder == self.holder, leases.c.expires_at <= now),
            )
            .values(holder=self.holder, expires_at=until)
        )
        async with self.engine.begin() as conn:
            await conn.execute(create)
            result = await conn.execute(take)
        return bool(result.rowcount)
