"""``SQLRoleStore``: the ``RoleStore`` port (``jwtwarden.accounts.roles``) on ``jw_user_roles``.

Every statement reads or writes by the primary key (``user_id``, ``role``, ``client_id``), or
its leading column: a login's role lookup costs the same with ten accounts or ten million.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, exc, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ...accounts.roles import RoleAssignment
from ...errors import UserNotFoundError
from .driver import DriverStatement, driver_connection
from .failures import translates_driver_errors
from .schema import user_roles, users

__all__ = ["SQLRoleStore"]

_EVERY_CLIENT = ""  # the key column's value for an assignment that holds for every client
_ROLES_OF = (
    select(user_roles.c.role, user_roles.c.client_id)
    .where(user_roles.c.user_id == bindparam("user_id"))
    .order_by(user_roles.c.role, user_roles.c.client_id)
)
# Read at every login and refresh (the scopes a token may carry): the asyncpg pool directly.
_ROLES_OF_PG = DriverStatement(_ROLES_OF)


def _key(user_id: str, assignment: RoleAssignment) -> dict[str, str]:
    return {
        "user_id": user_id,
        "role": assignment.role,
        "client_id": assignment.client_id or _EVERY_CLIENT,
    }


@translates_driver_errors
class SQLRoleStore:
    """Role assignments in ``jw_user_roles`` (deleted with the account: ON DELETE CASCADE)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    async def roles_of(self, user_id: str) -> list[RoleAssignment]:
        if self._postgres:
            async with driver_connection(self.engine) as driver:
                found = await driver.fetch(
                    _ROLES_OF_PG.sql, *_ROLES_OF_PG.args({"user_id": user_id})
                )
            return [RoleAssignment(role=r["role"], client_id=r["client_id"] or None) for r in found]
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_ROLES_OF, {"user_id": user_id})).all()
        return [RoleAssignment(role=r.role, client_id=r.client_id or None) for r in rows]

    async def assign(self, user_id: str, assignment: RoleAssignment, *, now: float) -> bool:
        key = _key(user_id, assignment)
        async with self.engine.begin() as conn:
            # The account's row, locked (PostgreSQL) so a concurrent delete waits or wins.
            found = (
                await conn.execute(
                    select(users.c.id).where(users.c.id == user_id).with_for_update()
                )
            ).first()
            if found is None:
                raise UserNotFoundError(f"expected an existing account id, got {user_id!r}")
            held = (
                await conn.execute(
                    select(user_roles.c.role).where(
                        *(user_roles.c[name] == value for name, value in key.items())
                    )
                )
            ).first()
            if held is not None:
                return False
            try:
                await conn.execute(insert(user_roles).values(**key, created_at=now))
            except exc.IntegrityError:
                return False  # a concurrent assign of the same role won
        return True

    async def unassign(self, user_id: str, assignment: RoleAssignment) -> bool:
        key = _key(user_id, assignment)
        stmt = delete(user_roles).where(
            *(user_roles.c[name] == value for name, value in key.items())
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)
