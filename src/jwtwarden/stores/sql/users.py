"""``SQLUserStore``: the ``UserStore`` port on SQL.

The per-request reads (the auth-version check of every introspected or server-verified access
token, the account lookup of every login) are single statements; on PostgreSQL they run on the
asyncpg connection directly, outside any transaction (see ``stores.sql.driver``): one round trip
instead of ``BEGIN``, ``SELECT``, ``ROLLBACK`` through SQLAlchemy's async layer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, case, delete, exc, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ...errors import UserExistsError
from ...sessions.ports import UserRecord
from .driver import DriverStatement, driver_connection
from .failures import translates_driver_errors
from .schema import users

__all__ = ["SQLUserStore"]

_BY_EMAIL = select(users).where(users.c.email == bindparam("email"))
_BY_ID = select(users).where(users.c.id == bindparam("uid"))
_VERSION = select(users.c.auth_version).where(
    users.c.id == bindparam("uid"), users.c.disabled.is_(False)
)
_BY_EMAIL_PG = DriverStatement(_BY_EMAIL)
_BY_ID_PG = DriverStatement(_BY_ID)
_VERSION_PG = DriverStatement(_VERSION)


def _record(row: Any) -> UserRecord:
    return UserRecord(
        id=row.id,
        email=row.email,
        password_hash=row.password_hash,
        auth_version=row.auth_version,
        is_admin=bool(row.is_admin),
        disabled=bool(row.disabled),
        created_at=row.created_at,
        email_verified=bool(row.email_verified),
        pending_email=row.pending_email,
    )


def _record_from_mapping(row: Any) -> UserRecord:
    return UserRecord(
        id=row["id"],
        email=row["email"],
        password_hash=row["password_hash"],
        auth_version=row["auth_version"],
        is_admin=bool(row["is_admin"]),
        disabled=bool(row["disabled"]),
        created_at=row["created_at"],
        email_verified=bool(row["email_verified"]),
        pending_email=row["pending_email"],
    )


@translates_driver_errors
class SQLUserStore:
    """Accounts in ``jw_users``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    async def _fetchrow_pg(self, statement: DriverStatement, params: dict[str, Any]) -> Any:
        async with driver_connection(self.engine) as conn:
            return await conn.fetchrow(statement.sql, *statement.args(params))

    async def create_user(self, user: UserRecord) -> None:
        values = {
            "id": user.id,
            "email": user.email,
            "password_hash": user.password_hash,
            "auth_version": user.auth_version,
            "is_admin": user.is_admin,
            "disabled": user.disabled,
            "created_at": user.created_at,
            "email_verified": user.email_verified,
            "pending_email": user.pending_email,
        }
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(users).values(**values))
        except exc.IntegrityError:
            raise UserExistsError("an account with this email already exists") from None

    async def user_by_email(self, email: str) -> UserRecord | None:
        if self._postgres:
            row = await self._fetchrow_pg(_BY_EMAIL_PG, {"email": email})
            return None if row is None else _record_from_mapping(row)
        async with self.engine.connect() as conn:
            row = (await conn.execute(_BY_EMAIL, {"email": email})).first()
        return None if row is None else _record(row)

    async def user_by_id(self, user_id: str) -> UserRecord | None:
        if self._postgres:
            row = await self._fetchrow_pg(_BY_ID_PG, {"uid": user_id})
            return None if row is None else _record_from_mapping(row)
        async with self.engine.connect() as conn:
            row = (await conn.execute(_BY_ID, {"uid": user_id})).first()
        return None if row is None else _record(row)

    async def auth_version(self, user_id: str) -> int | None:
        if self._postgres:
            row = await self._fetchrow_pg(_VERSION_PG, {"uid": user_id})
            return None if row is None else int(row[0])
        async with self.engine.connect() as conn:
            value = (await conn.execute(_VERSION, {"uid": user_id})).scalar()
        return None if value is None else int(value)

    async def _bump(self, user_id: str, **values: Any) -> int | None:
        stmt = (
            update(users)
            .where(users.c.id == user_id)
            .values(auth_version=users.c.auth_version + 1, **values)
            .returning(users.c.auth_version)
        )
        async with self.engine.begin() as conn:
            value = (await conn.execute(stmt)).scalar()
        return None if value is None else int(value)

    async def set_password(self, user_id: str, password_hash: str) -> int | None:
        return await self._bump(user_id, password_hash=password_hash)

    async def set_disabled(self, user_id: str, disabled: bool) -> int | None:
        # The version moves only when the state does: enabling an enabled account must not end
        # its sessions' refresh (found by the session state machine).
        stmt = (
            update(users)
            .where(users.c.id == user_id)
            .values(
                auth_version=case(
                    (users.c.disabled == disabled, users.c.auth_version),
                    else_=users.c.auth_version + 1,
                ),
                disabled=disabled,
            )
            .returning(users.c.auth_version)
        )
        async with self.engine.begin() as conn:
            value = (await conn.execute(stmt)).scalar()
        return None if value is None else int(value)

    async def rehash_password(self, user_id: str, old_hash: str, new_hash: str) -> None:
        stmt = (
            update(users)
            .where(users.c.id == user_id, users.c.password_hash == old_hash)
            .values(password_hash=new_hash)
        )
        async with self.engine.begin() as conn:
            await conn.execute(stmt)

    async def list_users(self, *, limit: int, offset: int) -> list[UserRecord]:
        stmt = select(users).order_by(users.c.created_at, users.c.id).limit(limit).offset(offset)
        async with self.engine.connect() as conn:
            return [_record(row) for row in await conn.execute(stmt)]

    async def delete_user(self, user_id: str) -> bool:
        # ON DELETE CASCADE (schema.py) removes its sessions, their refresh tokens and its
        # role assignments in the same statement.
        async with self.engine.begin() as conn:
            result = await conn.execute(delete(users).where(users.c.id == user_id))
        return bool(result.rowcount)

    async def set_email_verified(self, user_id: str, email: str) -> bool:
        stmt = (
            update(users)
            .where(users.c.id == user_id, users.c.email == email)
            .values(email_verified=True)
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def set_pending_email(self, user_id: str, email: str | None) -> bool:
        stmt = update(users).where(users.c.id == user_id).values(pending_email=email)
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def confirm_email(self, user_id: str, email: str) -> bool:
        stmt = (
            update(users)
            .where(users.c.id == user_id, users.c.pending_email == email)
            .values(email=email, pending_email=None, email_verified=True)
        )
        try:
            async with self.engine.begin() as conn:
                result = await conn.execute(stmt)
        except exc.IntegrityError:
            raise UserExistsError("an account with this email already exists") from None
        return bool(result.rowcount)
