"""``SQLDenylist``: the denylist port on SQL (when there is no Redis but several processes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import RevocationUnavailableError
from ._sql_schema import denylist as dt

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

    async def purge(self) -> int:
        """Delete expired entries; how many."""
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(dt).where(dt.c.expires_at <= self.clock.now()))
        return int(result.rowcount or 0)
