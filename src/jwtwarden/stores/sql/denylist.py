"""``SQLDenylist``: the denylist port on SQL (when there is no Redis but several processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from ...clock import SYSTEM_CLOCK, Clock
from ...errors import RevocationUnavailableError
from .failures import translates_driver_errors
from .schema import denylist as dt

__all__ = ["SQLDenylist"]

_CHECK = (
    select(dt.c.kind)
    .where(
        or_(
            and_(dt.c.kind == "j", dt.c.value == bindparam("jti")),
            and_(dt.c.kind == "s", dt.c.value == bindparam("sid")),
        ),
        dt.c.expires_at > bindparam("now"),
    )
    .limit(1)
)


# The live entries from ``after`` on (``>=``: the page boundary is read again and de-duplicated).
_LIVE = (
    select(dt.c.kind, dt.c.value, dt.c.expires_at)
    .where(dt.c.expires_at >= bindparam("after"))
    .order_by(dt.c.expires_at)
    .limit(bindparam("limit"))
)


@translates_driver_errors
class SQLDenylist:
    """Denied ``jti`` and ``sid`` values in ``jw_denylist``, each with its expiry.

    Database errors on a check raise ``RevocationUnavailableError`` (fail closed).
    """

    def __init__(self, engine: AsyncEngine, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock
        insert_fn: Any = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        stmt = insert_fn(dt).values(
            kind=bindparam("kind"), value=bindparam("value"), expires_at=bindparam("until")
        )
        # Denying twice keeps the later expiry.
        self._upsert = stmt.on_conflict_do_update(
            index_elements=[dt.c.kind, dt.c.value],
            set_={"expires_at": stmt.excluded.expires_at},
            where=dt.c.expires_at < stmt.excluded.expires_at,
        )

    async def _add(self, kind: str, value: str, until: float) -> None:
        if until <= self.clock.now():
            return
        async with self.engine.begin() as conn:
            await conn.execute(self._upsert, {"kind": kind, "value": value, "until": until})

    async def deny_token(self, jti: str, *, until: float) -> None:
        await self._add("j", jti, until)

    async def deny_session(self, sid: str, *, until: float) -> None:
        await self._add("s", sid, until)

    async def is_denied(self, *, jti: str | None, sid: str | None) -> bool:
        if jti is None and sid is None:
            return False
        try:
            async with self.engine.connect() as conn:
                row = (
                    await conn.execute(
                        _CHECK, {"jti": jti or "", "sid": sid or "", "now": self.clock.now()}
                    )
                ).first()
        except Exception as exc:
            raise RevocationUnavailableError(
                f"the denylist database could not answer ({type(exc).__name__})"
            ) from None
        return row is not None

    async def live_entries(self, *, batch: int = 1000) -> AsyncIterator[tuple[str, str, float]]:
        """Every entry that has not expired, as ``(kind, value, until)``, soonest expiry
        first: what a cache of this denylist (Redis) must hold after it lost its data.

        Read in pages of ``batch`` rows along the ``expires_at`` index (an ordered walk
        stopped by ``LIMIT``, never the whole table at once). Entries sharing an expiry (every
        token of one second) are told apart by key, so none is skipped at a page boundary.
        """
        after, seen = self.clock.now(), set[tuple[str, str]]()
        size = batch
        while True:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(_LIVE, {"after": after, "limit": size})).all()
            fresh = [(str(k), str(v), float(u)) for k, v, u in rows if (k, v) not in seen]
            for entry in fresh:
                yield entry
            if len(rows) < size:
                return
            last = float(rows[-1][2])
            if last == after and not fresh:
                size *= 2  # a page of one expiry only: widen it rather than loop
                continue
            if last != after:
                seen.clear()
            seen.update((k, v) for k, v, u in fresh if u == last)
            after = last

    async def purge(self) -> int:
        """Delete expired entries; how many."""
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(dt).where(dt.c.expires_at <= self.clock.now()))
        return int(result.rowcount or 0)
