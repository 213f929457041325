"""``SQLSessionStore``: sessions and refresh-token families on SQL, rotation in one transaction.

The hot path of a refresh is a conditional ``UPDATE ... WHERE spent_at IS NULL`` (spend, with
every liveness condition in the same ``WHERE``) and an ``INSERT`` of the successor, in one
transaction; the access token is minted by the caller's callback before ``COMMIT``. On
PostgreSQL both are one statement (a data-modifying ``WITH``), run on the asyncpg connection
directly (see ``stores.sql.driver``): ``BEGIN``, that statement, ``COMMIT``. Only a refused token
costs more queries, in a transaction of their own, to say why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import (
    Double,
    LargeBinary,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ...sessions.ports import (
    ActiveSession,
    NewRefreshToken,
    RotateResult,
    RotateStatus,
    SessionRecord,
)
from .driver import DriverStatement, driver_connection
from .failures import translates_driver_errors
from .schema import refresh_tokens as rt
from .schema import sessions as st
from .schema import users as ut

__all__ = ["SQLSessionStore"]

T = TypeVar("T")

_SESSION_COLUMNS = (
    st.c.id,
    st.c.user_id,
    st.c.client_id,
    st.c.scope,
    st.c.auth_version,
    st.c.created_at,
    st.c.expires_at,
    st.c.revoked_at,
    st.c.revoke_reason,
)


def _alive(now: Any) -> Any:
    """The session may still refresh: not revoked, not expired, user enabled, same version."""
    return and_(
        st.c.revoked_at.is_(None),
        st.c.expires_at > now,
        ut.c.id == st.c.user_id,
        ut.c.disabled.is_(false()),
        ut.c.auth_version == st.c.auth_version,
    )


def _spend(*, returning_session: bool) -> Any:
    now: Any = bindparam("now")
    stmt = (
        update(rt)
        .where(
            rt.c.token_hash == bindparam("h"),
            rt.c.spent_at.is_(None),
            rt.c.expires_at > now,
        )
        .values(spent_at=now, replaced_by=bindparam("new_hash"))
    )
    if returning_session:
        # PostgreSQL: UPDATE ... FROM, returning the session row in the same round trip.
        return stmt.where(st.c.id == rt.c.session_id, _alive(now)).returning(*_SESSION_COLUMNS)
    # SQLite cannot RETURN columns of the FROM tables (and its reads are local): a subquery,
    # correlated to the token's row so that it is two primary-key lookups (its session, that
    # session's user). An uncorrelated ``session_id IN (SELECT ... every live session)`` made
    # SQLite build the list of all live sessions first, inside ``BEGIN IMMEDIATE``: the cost
    # of every refresh, and the time the whole database stays write-locked, grew with the
    # table (82 ms at 100k live sessions, 292 ms at 300k; bench/_sql_spend_bench.py).
    live_session = exists().where(st.c.id == rt.c.session_id, _alive(now)).correlate(rt)
    return stmt.where(live_session).returning(rt.c.session_id)


def _rotate_in_one_statement() -> Any:
    """PostgreSQL: spend and insert the successor in one statement, returning the session.

    Both parts see the same snapshot; the ``INSERT`` takes its row from the ``UPDATE``'s
    ``RETURNING``, so when the spend matches nothing (spent, expired, ended, unknown: the row
    lock makes concurrent spends of one token wait, re-check and match nothing) nothing is
    inserted either.
    """
    now: Any = bindparam("now", type_=Double)
    spent = (
        update(rt)
        .where(
            rt.c.token_hash == bindparam("h", type_=LargeBinary),
            rt.c.spent_at.is_(None),
            rt.c.expires_at > now,
            st.c.id == rt.c.session_id,
            _alive(now),
        )
        .values(spent_at=now, replaced_by=bindparam("new_hash", type_=LargeBinary))
        .returning(*_SESSION_COLUMNS)
        .cte("spent")
    )
    return select(*spent.c).add_cte(_token_of(spent).cte("successor"))


def _token_of(session: Any) -> Any:
    """``INSERT`` the refresh token ``new_hash`` for the session row of the CTE ``session``
    (its ``id`` and ``expires_at``); the token never outlives its session (absolute lifetime)."""
    return insert(rt).from_select(
        ["token_hash", "session_id", "issued_at", "expires_at"],
        select(
            bindparam("new_hash", type_=LargeBinary),
            session.c.id,
            bindparam("issued_at", type_=Double),
            func.least(bindparam("new_expires", type_=Double), session.c.expires_at),
        ),
    )


def _create_in_one_statement() -> Any:
    """PostgreSQL: insert a session and its first refresh token in one statement (atomic on
    its own: one round trip, no ``BEGIN``/``COMMIT``)."""
    created = (
        insert(st)
        .values({c.name: bindparam(c.name, type_=c.type) for c in _SESSION_COLUMNS})
        .returning(st.c.id, st.c.expires_at)
        .cte("created")
    )
    return _token_of(created).add_cte(created)


_SPEND_RETURNING = _spend(returning_session=True)
_SPEND_SUBQUERY = _spend(returning_session=False)
_ROTATE_PG = DriverStatement(_rotate_in_one_statement())
_CREATE_PG = DriverStatement(_create_in_one_statement())
_INSERT = insert(rt).values(
    token_hash=bindparam("new_hash"),
    session_id=bindparam("sid"),
    issued_at=bindparam("issued_at"),
    expires_at=bindparam("expires_at"),
)
_SESSION_BY_ID = select(*_SESSION_COLUMNS).where(st.c.id == bindparam("sid"))
_DIAGNOSE = (
    select(
        rt.c.spent_at,
        rt.c.expires_at.label("token_expires_at"),
        rt.c.replaced_by,
        ut.c.disabled,
        ut.c.auth_version.label("user_version"),
        *_SESSION_COLUMNS,
    )
    .select_from(rt.join(st, st.c.id == rt.c.session_id).outerjoin(ut, ut.c.id == st.c.user_id))
    .where(rt.c.token_hash == bindparam("h"))
)
# After a grace retry neither the retried token nor the successor it spent can be retried
# again: one retry per lost response. Otherwise a thief and the legitimate client could keep
# trading a family back and forth inside the window without ever tripping reuse detection.
_END_GRACE = (
    update(rt)
    .where(rt.c.token_hash.in_([bindparam("h"), bindparam("successor")]))
    .values(replaced_by=None)
)


_SESSION_FIELDS = tuple(c.name for c in _SESSION_COLUMNS)


def _session(row: Any) -> SessionRecord:
    return SessionRecord(**{name: getattr(row, name) for name in _SESSION_FIELDS})


def _successor(session: SessionRecord, new: NewRefreshToken) -> dict[str, Any]:
    """``_INSERT`` parameters: the new refresh token never outlives its session."""
    return {
        "new_hash": new.token_hash,
        "sid": session.id,
        "issued_at": new.issued_at,
        "expires_at": min(new.expires_at, session.expires_at),
    }


def _session_by_token(token_hash: bytes) -> Any:
    """The session of a refresh token: one lookup by the token hash's unique index."""
    return (
        select(*_SESSION_COLUMNS)
        .select_from(rt.join(st, st.c.id == rt.c.session_id))
        .where(rt.c.token_hash == token_hash)
    )


@translates_driver_errors
class SQLSessionStore:
    """Sessions in ``jw_sessions``, refresh tokens (by hash) in ``jw_refresh_tokens``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    async def create_session(self, session: SessionRecord, first: NewRefreshToken) -> None:
        if self._postgres:
            params = {name: getattr(session, name) for name in _SESSION_FIELDS}
            params.update(
                new_hash=first.token_hash, issued_at=first.issued_at, new_expires=first.expires_at
            )
            async with driver_connection(self.engine) as conn:
                await conn.execute(_CREATE_PG.sql, *_CREATE_PG.args(params))
            return
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(st).values({name: getattr(session, name) for name in _SESSION_FIELDS})
            )
            await conn.execute(_INSERT, _successor(session, first))

    async def _spend(
        self, conn: AsyncConnection, token_hash: bytes, new_hash: bytes, now: float
    ) -> SessionRecord | None:
        params = {"h": token_hash, "new_hash": new_hash, "now": now}
        if self._postgres:
            row = (await conn.execute(_SPEND_RETURNING, params)).first()
            return None if row is None else _session(row)
        sid = (await conn.execute(_SPEND_SUBQUERY, params)).scalar()
        if sid is None:
            return None
        return _session((await conn.execute(_SESSION_BY_ID, {"sid": sid})).one())

    async def _rotate_postgres(
        self,
        token_hash: bytes,
        new: NewRefreshToken,
        now: float,
        issue: Callable[[ActiveSession], Awaitable[T]],
    ) -> RotateResult[T] | None:
        """The hot path: ``None`` when the token cannot be spent (nothing was changed)."""
        params = {
            "h": token_hash,
            "new_hash": new.token_hash,
            "now": now,
            "issued_at": new.issued_at,
            "new_expires": new.expires_at,
        }
        async with driver_connection(self.engine) as conn, conn.transaction():
            row = await conn.fetchrow(_ROTATE_PG.sql, *_ROTATE_PG.args(params))
            if row is None:
                return None
            session = SessionRecord(**dict(row.items()))
            # Minted before COMMIT: if this raises, the transaction rolls back and the
            # presented token is still live.
            value = await issue(ActiveSession(session=session, auth_version=session.auth_version))
        return RotateResult(status=RotateStatus.ROTATED, session=session, value=value)

    async def rotate(
        self,
        token_hash: bytes,
        new: NewRefreshToken,
        *,
        now: float,
        grace: float,
        issue: Callable[[ActiveSession], Awaitable[T]],
    ) -> RotateResult[T]:
        if self._postgres:
            done = await self._rotate_postgres(token_hash, new, now, issue)
            if done is not None:
                return done
        async with self.engine.begin() as conn:
            # On PostgreSQL the spend has just matched nothing, and nothing can make it match
            # now (a spent, expired or ended token stays so): straight to saying why.
            session = (
                None if self._postgres else await self._spend(conn, token_hash, new.token_hash, now)
            )
            via_grace = False
            if session is None:
                outcome = await self._refused(
                    conn, token_hash, new.token_hash, now=now, grace=grace
                )
                if isinstance(outcome, RotateResult):
                    return outcome  # committed: a reuse revocation must stick
                session, via_grace = outcome, True
            await conn.execute(_INSERT, _successor(session, new))
            # Minted before COMMIT: if this raises, the context manager rolls everything back
            # and the presented token is still live.
            value = await issue(
                ActiveSession(
                    session=session, auth_version=session.auth_version, via_grace=via_grace
                )
            )
        return RotateResult(
            status=RotateStatus.ROTATED, session=session, value=value, via_grace=via_grace
        )

    async def _refused(
        self, conn: AsyncConnection, token_hash: bytes, new_hash: bytes, *, now: float, grace: float
    ) -> RotateResult[Any] | SessionRecord:
        """Why the spend matched nothing; revokes on reuse; the grace path returns the session."""
        row = (await conn.execute(_DIAGNOSE, {"h": token_hash})).first()
        if row is None:
            return RotateResult(status=RotateStatus.UNKNOWN)
        session = _session(row)
        if row.spent_at is not None and session.revoked_at is not None:
            # Already ended (logout, revocation, an earlier reuse): nothing to detect.
            return RotateResult(status=RotateStatus.ENDED, session=session)
        if row.spent_at is not None:
            if grace > 0 and row.replaced_by is not None and now - row.spent_at <= grace:
                # The immediately previous token, retried within the grace window: spend its
                # successor instead (only if that one is still the live one).
                spent = await self._spend(conn, row.replaced_by, new_hash, now)
                if spent is not None:
                    await conn.execute(_END_GRACE, {"h": token_hash, "successor": row.replaced_by})
                    return spent
            await self._revoke(conn, session.id, now=now, reason="reuse")
            return RotateResult(status=RotateStatus.REUSED, session=session)
        if (
            session.revoked_at is not None
            or row.disabled is None
            or row.disabled
            or row.user_version != session.auth_version
        ):
            return RotateResult(status=RotateStatus.ENDED, session=session)
        return RotateResult(status=RotateStatus.EXPIRED, session=session)

    async def _revoke(self, conn: AsyncConnection, sid: str, *, now: float, reason: str) -> None:
        await conn.execute(
            update(st)
            .where(st.c.id == sid, st.c.revoked_at.is_(None))
            .values(revoked_at=now, revoke_reason=reason)
        )
        await conn.execute(
            update(rt).where(rt.c.session_id == sid, rt.c.spent_at.is_(None)).values(spent_at=now)
        )

    async def get_session(self, session_id: str) -> SessionRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(_SESSION_BY_ID, {"sid": session_id})).first()
        return None if row is None else _session(row)

    async def revoke_session(
        self, session_id: str, *, now: float, reason: str
    ) -> SessionRecord | None:
        async with self.engine.begin() as conn:
            row = (await conn.execute(_SESSION_BY_ID, {"sid": session_id})).first()
            if row is None:
                return None
            await self._revoke(conn, session_id, now=now, reason=reason)
        return _session(row)

    async def session_by_token(self, token_hash: bytes) -> SessionRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(_session_by_token(token_hash))).first()
        return None if row is None else _session(row)

    async def revoke_by_token(
        self, token_hash: bytes, *, now: float, reason: str
    ) -> SessionRecord | None:
        async with self.engine.begin() as conn:
            row = (await conn.execute(_session_by_token(token_hash))).first()
            if row is None:
                return None
            await self._revoke(conn, row.id, now=now, reason=reason)
        return _session(row)

    async def revoke_user_sessions(
        self, user_id: str, *, now: float, reason: str
    ) -> list[SessionRecord]:
        async with self.engine.begin() as conn:
            rows = (
                await conn.execute(
                    update(st)
                    .where(st.c.user_id == user_id, st.c.revoked_at.is_(None))
                    .values(revoked_at=now, revoke_reason=reason)
                    .returning(*_SESSION_COLUMNS)
                )
            ).all()
            ended = [_session(row) for row in rows]
            if ended:
                await conn.execute(
                    update(rt)
                    .where(rt.c.session_id.in_([s.id for s in ended]), rt.c.spent_at.is_(None))
                    .values(spent_at=now)
                )
        return ended

    async def purge(self, *, now: float) -> int:
        async with self.engine.begin() as conn:
            gone = select(st.c.id).where(st.c.expires_at <= now).scalar_subquery()
            await conn.execute(delete(rt).where(rt.c.session_id.in_(gone)))
            result = await conn.execute(delete(st).where(st.c.expires_at <= now))
        return int(result.rowcount or 0)
