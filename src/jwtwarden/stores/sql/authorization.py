"""``SQLAuthorizationStore``: authorization codes (``oauth.codes.AuthorizationCodeStore``) and
sign-in sessions (``oauth.signin.SignInSessionStore``) on SQL, with their tables (migration
0004).

A redemption is one conditional ``UPDATE ... WHERE redeemed_at IS NULL AND expires_at > now
RETURNING``: on PostgreSQL concurrent updates of the row wait for the first one's commit and
then re-check the condition (READ COMMITTED), on SQLite ``BEGIN IMMEDIATE`` serialises them;
either way exactly one exchange of a code wins.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from ...oauth.codes import AuthorizationCode
from ...oauth.signin import SignInSession
from .driver import AttributeRow, DriverStatement, driver_connection
from .failures import translates_driver_errors
from .schema import metadata

__all__ = ["SQLAuthorizationStore", "authorization_codes", "signin_sessions"]

authorization_codes = Table(
    "jw_oauth_codes",
    metadata,
    Column("code_hash", LargeBinary(32), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("redirect_uri", String(2000), nullable=False),
    Column("redirect_uri_in_request", Boolean, nullable=False),
    Column("code_challenge", String(64), nullable=False),
    Column("scope", String(1024), nullable=False),
    Column("user_id", String(64), ForeignKey("jw_users.id", ondelete="CASCADE"), nullable=False),
    Column("auth_time", Double, nullable=False),
    Column("nonce", String(512), nullable=True),
    Column("signin_session_id", String(64), nullable=True),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False),
    Column("session_id", String(64), nullable=True),
    Column("redeemed_at", Double, nullable=True),
    Column("replayed_at", Double, nullable=True),
    Index("ix_jw_oauth_codes_expires_at", "expires_at"),
)

signin_sessions = Table(
    "jw_signin_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("token_hash", LargeBinary(32), nullable=False, unique=True),
    Column(
        "user_id",
        String(64),
        ForeignKey("jw_users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("auth_version", Integer, nullable=False),
    Column("auth_time", Double, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=False, index=True),
    Column("revoked_at", Double, nullable=True),
)

_CODE_FIELDS = tuple(c.name for c in authorization_codes.columns)
_SIGNIN_FIELDS = tuple(c.name for c in signin_sessions.columns)
_MAX_LISTED = 50  # the account page shows at most this many sign-ins


def _code(row: Any) -> AuthorizationCode:
    values = {name: getattr(row, name) for name in _CODE_FIELDS}
    values["code_hash"] = bytes(values["code_hash"])
    values["redirect_uri_in_request"] = bool(values["redirect_uri_in_request"])
    return AuthorizationCode(**values)


def _signin(row: Any) -> SignInSession:
    values = {name: getattr(row, name) for name in _SIGNIN_FIELDS}
    values["token_hash"] = bytes(values["token_hash"])
    return SignInSession(**values)


_c = authorization_codes.c
# Every code exchange redeems its code and then checks that it was not replayed meanwhile:
# on PostgreSQL both through the asyncpg pool (stores/sql/driver.py).
_REDEEM = (
    update(authorization_codes)
    .where(
        _c.code_hash == bindparam("h", type_=LargeBinary),
        _c.redeemed_at.is_(None),
        _c.expires_at > bindparam("now", type_=Double),
    )
    .values(redeemed_at=bindparam("now", type_=Double), session_id=bindparam("sid"))
    .returning(*authorization_codes.columns)
)
_REDEEM_PG = DriverStatement(_REDEEM)
_REPLAYED = select(_c.replayed_at).where(_c.code_hash == bindparam("h", type_=LargeBinary))
_REPLAYED_PG = DriverStatement(_REPLAYED)


@translates_driver_errors
class SQLAuthorizationStore:
    """Codes in ``jw_oauth_codes``, sign-in sessions in ``jw_signin_sessions``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    # --- codes ----------------------------------------------------------------------------

    async def create_code(self, code: AuthorizationCode) -> None:
        values = {name: getattr(code, name) for name in _CODE_FIELDS}
        async with self.engine.begin() as conn:
            await conn.execute(insert(authorization_codes).values(**values))

    async def redeem_code(
        self, code_hash: bytes, *, now: float, session_id: str
    ) -> AuthorizationCode | None:
        params = {"h": code_hash, "now": now, "sid": session_id}
        if self._postgres:
            # One conditional UPDATE: atomic on its own (no BEGIN/COMMIT round trips); of two
            # concurrent redemptions, the row lock lets one update the row, the other none.
            async with driver_connection(self.engine) as driver:
                found = await driver.fetchrow(_REDEEM_PG.sql, *_REDEEM_PG.args(params))
            return None if found is None else _code(AttributeRow(found))
        async with self.engine.begin() as conn:
            row = (await conn.execute(_REDEEM, params)).first()
        return None if row is None else _code(row)

    async def mark_replayed(self, code_hash: bytes, *, now: float) -> AuthorizationCode | None:
        c = authorization_codes.c
        stmt = (
            update(authorization_codes)
            .where(c.code_hash == code_hash, c.redeemed_at.is_not(None))
            .values(replayed_at=func.coalesce(c.replayed_at, now))
            .returning(*authorization_codes.columns)
        )
        async with self.engine.begin() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _code(row)

    async def code_replayed(self, code_hash: bytes) -> bool:
        if self._postgres:
            async with driver_connection(self.engine) as driver:
                value = await driver.fetchval(
                    _REPLAYED_PG.sql, *_REPLAYED_PG.args({"h": code_hash})
                )
            return value is not None
        async with self.engine.connect() as conn:
            return (await conn.execute(_REPLAYED, {"h": code_hash})).scalar() is not None

    async def purge_codes(self, *, before: float) -> int:
        stmt = delete(authorization_codes).where(authorization_codes.c.expires_at < before)
        async with self.engine.begin() as conn:
            return int((await conn.execute(stmt)).rowcount or 0)

    # --- sign-in sessions -----------------------------------------------------------------

    async def create_signin(self, session: SignInSession) -> None:
        values = {name: getattr(session, name) for name in _SIGNIN_FIELDS}
        async with self.engine.begin() as conn:
            await conn.execute(insert(signin_sessions).values(**values))

    async def signin_by_token(self, token_hash: bytes, *, now: float) -> SignInSession | None:
        s = signin_sessions.c
        stmt = select(signin_sessions).where(s.token_hash == token_hash)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        session = _signin(row)
        return session if session.live(now) else None

    async def user_signins(self, user_id: str, *, now: float) -> list[SignInSession]:
        s = signin_sessions.c
        # No ORDER BY: the user's rows are few; sorting them here keeps the plan a lookup.
        stmt = select(signin_sessions).where(s.user_id == user_id, s.revoked_at.is_(None))
        async with self.engine.connect() as conn:
            rows = list(await conn.execute(stmt))
        live = [session for session in map(_signin, rows) if session.live(now)]
        live.sort(key=lambda session: (session.created_at, session.id), reverse=True)
        return live[:_MAX_LISTED]

    async def revoke_signin(self, session_id: str, *, now: float) -> bool:
        return await self._revoke_signins(signin_sessions.c.id == session_id, now=now) == 1

    async def revoke_user_signins(self, user_id: str, *, now: float) -> int:
        return await self._revoke_signins(signin_sessions.c.user_id == user_id, now=now)

    async def _revoke_signins(self, which: Any, *, now: float) -> int:
        """Revoke the live sign-in sessions ``which`` selects; how many."""
        stmt = (
            update(signin_sessions)
            .where(which, signin_sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        async with self.engine.begin() as conn:
            return int((await conn.execute(stmt)).rowcount or 0)

    async def purge_signins(self, *, before: float) -> int:
        stmt = delete(signin_sessions).where(signin_sessions.c.expires_at < before)
        async with self.engine.begin() as conn:
            return int((await conn.execute(stmt)).rowcount or 0)
