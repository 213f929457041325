"""``SQLSessionStore``: sessions and refresh-token families on SQL; the plain operations of a
refresh inside one transaction that the session service drives (``sessions.rotation``).

The hot path of a refresh is a conditional ``UPDATE ... WHERE spent_at IS NULL`` (spend, with
every liveness condition of ``TokenState.spendable`` in the same ``WHERE``) and an ``INSERT``
of the successor; the service mints the access token before ``COMMIT``. On PostgreSQL both are
one statement (a data-modifying ``WITH``), and the whole transaction runs on an asyncpg
connection directly (see ``stores.sql.driver``): ``BEGIN``, that statement, ``COMMIT``. Only a
refused token costs more queries (its state, a reuse revocation), in the same transaction.

Size: one adapter of one port, with each hot statement written twice on purpose, once for
SQLAlchemy (SQLite) and once compiled for the asyncpg pool (PostgreSQL), next to the method
that runs both; split by operation, a statement would live apart from its only caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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

from ...sessions.ports import NewRefreshToken, SessionRecord, TokenState
from .driver import AttributeRow, DriverStatement, driver_connection
from .failures import translates_driver_errors, unavailable
from .schema import refresh_tokens as rt
from .schema import sessions as st
from .schema import users as ut

__all__ = ["SQLSessionStore"]

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


def _spend_sqlite() -> Any:
    """SQLite's conditional spend, returning the token's session id.

    SQLite cannot RETURN columns of an ``UPDATE ... FROM``'s other tables (and its reads are
    local): a subquery, correlated to the token's row so that it is two primary-key lookups
    (its session, that session's user). An uncorrelated ``session_id IN (SELECT ... every live
    session)`` made SQLite build the list of all live sessions first, inside ``BEGIN
    IMMEDIATE``: the cost of every refresh, and the time the whole database stays write-locked,
    grew with the table (82 ms at 100k live sessions, 292 ms at 300k;
    bench/_sql_spend_bench.py).
    """
    now: Any = bindparam("now")
    live_session = exists().where(st.c.id == rt.c.session_id, _alive(now)).correlate(rt)
    return (
        update(rt)
        .where(
            rt.c.token_hash == bindparam("h"),
            rt.c.spent_at.is_(None),
            rt.c.expires_at > now,
            live_session,
        )
        .values(spent_at=now, replaced_by=bindparam("new_hash"))
        .returning(rt.c.session_id)
    )


def _token_state() -> Any:
    """A token with its session, its user (outer: the user may be gone) and its successor."""
    successor = rt.alias("successor")
    return (
        select(
            rt.c.spent_at.label("token_spent_at"),
            rt.c.expires_at.label("token_expires_at"),
            rt.c.replaced_by,
            successor.c.spent_at.label("successor_spent_at"),
            ut.c.disabled.label("user_disabled"),
            ut.c.auth_version.label("user_version"),
            *_SESSION_COLUMNS,
        )
        .select_from(
            rt.join(st, st.c.id == rt.c.session_id)
            .outerjoin(ut, ut.c.id == st.c.user_id)
            .outerjoin(successor, successor.c.token_hash == rt.c.replaced_by)
        )
        .where(rt.c.token_hash == bindparam("h", type_=LargeBinary))
    )


def _revoke_session() -> Any:
    now: Any = bindparam("now", type_=Double)
    return (
        update(st)
        .where(st.c.id == bindparam("sid", type_=st.c.id.type), st.c.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=bindparam("reason", type_=st.c.revoke_reason.type))
    )


def _spend_family() -> Any:
    return (
        update(rt)
        .where(rt.c.session_id == bindparam("sid", type_=rt.c.session_id.type))
        .where(rt.c.spent_at.is_(None))
        .values(spent_at=bindparam("now", type_=Double))
    )


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


_SPEND_SQLITE = _spend_sqlite()
_TOKEN_STATE = _token_state()
_REVOKE_SESSION = _revoke_session()
_SPEND_FAMILY = _spend_family()
_ROTATE_PG = DriverStatement(_rotate_in_one_statement())
_CREATE_PG = DriverStatement(_create_in_one_statement())
_TOKEN_STATE_PG = DriverStatement(_TOKEN_STATE)
_REVOKE_SESSION_PG = DriverStatement(_REVOKE_SESSION)
_SPEND_FAMILY_PG = DriverStatement(_SPEND_FAMILY)
_INSERT = insert(rt).values(
    token_hash=bindparam("new_hash"),
    session_id=bindparam("sid"),
    issued_at=bindparam("issued_at"),
    expires_at=bindparam("expires_at"),
)
_SESSION_BY_ID = select(*_SESSION_COLUMNS).where(st.c.id == bindparam("sid"))
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


# The session of a refresh token: one lookup by the token hash's unique index. Read before
# every refresh (the session's user, client and roles decide the new token's scope): on
# PostgreSQL through the asyncpg pool directly.
_SESSION_BY_TOKEN = (
    select(*_SESSION_COLUMNS)
    .select_from(rt.join(st, st.c.id == rt.c.session_id))
    .where(rt.c.token_hash == bindparam("h", type_=LargeBinary))
)
_SESSION_BY_TOKEN_PG = DriverStatement(_SESSION_BY_TOKEN)


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

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTransaction | _SQLiteTransaction]:
        # Not a coroutine, so ``@translates_driver_errors`` does not wrap it: a database that
        # cannot answer (in the operations, the BEGIN or the COMMIT) is translated here. The
        # caller's own errors (a refused scope, a signing failure) pass unchanged.
        try:
            if self._postgres:
                # The asyncpg connection directly: BEGIN, the spend, COMMIT (the hot path).
                async with driver_connection(self.engine) as conn, conn.transaction():
                    yield _PostgresTransaction(conn)
                return
            async with self.engine.begin() as sa_conn:  # BEGIN IMMEDIATE (sql/engine.py)
                yield _SQLiteTransaction(sa_conn)
        except Exception as exc:
            mapped = unavailable(exc)
            if mapped is None:
                raise
            # from None: a driver's message may quote the statement's parameters (hashes).
            raise mapped from None

    async def _revoke(self, conn: AsyncConnection, sid: str, *, now: float, reason: str) -> None:
        params = {"sid": sid, "now": now, "reason": reason}
        await conn.execute(_REVOKE_SESSION, params)
        await conn.execute(_SPEND_FAMILY, params)

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
        if self._postgres:
            async with driver_connection(self.engine) as driver:
                found = await driver.fetchrow(
                    _SESSION_BY_TOKEN_PG.sql, *_SESSION_BY_TOKEN_PG.args({"h": token_hash})
                )
            return None if found is None else _session(AttributeRow(found))
        async with self.engine.connect() as conn:
            row = (await conn.execute(_SESSION_BY_TOKEN, {"h": token_hash})).first()
        return None if row is None else _session(row)

    async def revoke_by_token(
        self, token_hash: bytes, *, now: float, reason: str
    ) -> SessionRecord | None:
        async with self.engine.begin() as conn:
            row = (await conn.execute(_SESSION_BY_TOKEN, {"h": token_hash})).first()
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


def _state(row: Any) -> TokenState:
    disabled = row["user_disabled"]
    return TokenState(
        session=SessionRecord(**{name: row[name] for name in _SESSION_FIELDS}),
        spent_at=row["token_spent_at"],
        expires_at=row["token_expires_at"],
        replaced_by=None if row["replaced_by"] is None else bytes(row["replaced_by"]),
        successor_spent_at=row["successor_spent_at"],
        user_version=None if disabled is None or disabled else row["user_version"],
    )


class _PostgresTransaction:
    """``SessionTransaction`` on an asyncpg connection inside its transaction."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def spend(
        self, token_hash: bytes, successor: NewRefreshToken, *, now: float
    ) -> SessionRecord | None:
        params = {
            "h": token_hash,
            "new_hash": successor.token_hash,
            "now": now,
            "issued_at": successor.issued_at,
            "new_expires": successor.expires_at,
        }
        row = await self._conn.fetchrow(_ROTATE_PG.sql, *_ROTATE_PG.args(params))
        return None if row is None else SessionRecord(**dict(row.items()))

    async def token_state(self, token_hash: bytes) -> TokenState | None:
        row = await self._conn.fetchrow(
            _TOKEN_STATE_PG.sql, *_TOKEN_STATE_PG.args({"h": token_hash})
        )
        return None if row is None else _state(row)

    async def revoke_family(self, session_id: str, *, now: float, reason: str) -> None:
        params = {"sid": session_id, "now": now, "reason": reason}
        await self._conn.execute(_REVOKE_SESSION_PG.sql, *_REVOKE_SESSION_PG.args(params))
        await self._conn.execute(_SPEND_FAMILY_PG.sql, *_SPEND_FAMILY_PG.args(params))


class _SQLiteTransaction:
    """``SessionTransaction`` on a SQLAlchemy connection inside ``BEGIN IMMEDIATE``."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def spend(
        self, token_hash: bytes, successor: NewRefreshToken, *, now: float
    ) -> SessionRecord | None:
        params = {"h": token_hash, "new_hash": successor.token_hash, "now": now}
        sid = (await self._conn.execute(_SPEND_SQLITE, params)).scalar()
        if sid is None:
            return None
        session = _session((await self._conn.execute(_SESSION_BY_ID, {"sid": sid})).one())
        await self._conn.execute(_INSERT, _successor(session, successor))
        return session

    async def token_state(self, token_hash: bytes) -> TokenState | None:
        row = (await self._conn.execute(_TOKEN_STATE, {"h": token_hash})).first()
        return None if row is None else _state(row._mapping)

    async def revoke_family(self, session_id: str, *, now: float, reason: str) -> None:
        params = {"sid": session_id, "now": now, "reason": reason}
        await self._conn.execute(_REVOKE_SESSION, params)
        await self._conn.execute(_SPEND_FAMILY, params)
