"""``MemoryRoleStore``: the reference adapter of the ``RoleStore`` port
(``jwtwarden.accounts.roles``), beside a ``MemoryUserStore``."""

from __future__ import annotations

from ...accounts.roles import RoleAssignment
from ...errors import UserNotFoundError
from .sessions import MemoryUserStore

__all__ = ["MemoryRoleStore"]


def _order(assignment: RoleAssignment) -> tuple[str, str]:
    return assignment.role, assignment.client_id or ""


class MemoryRoleStore:
    """Role assignments in a dict; forgotten when the account is deleted."""

    def __init__(self, users: MemoryUserStore) -> None:
        self._users = users
        self._roles: dict[str, set[RoleAssignment]] = {}
        users.on_delete(self._forget_user)

    def _forget_user(self, user_id: str) -> None:
        self._roles.pop(user_id, None)

    async def roles_of(self, user_id: str) -> list[RoleAssignment]:
        return sorted(self._roles.get(user_id, ()), key=_order)

    async def assign(self, user_id: str, assignment: RoleAssignment, *, now: float) -> bool:
        if self._users.current(user_id) is None:
            raise UserNotFoundError(f"expected an existing account id, got {user_id!r}")
        held = self._roles.setdefault(user_id, set())
        if assignment in held:
            return False
        held.add(assignment)
        return True

    async def unassign(self, user_id: str, assignment: RoleAssignment) -> bool:
        held = self._roles.get(user_id, set())
        if assignment not in held:
            return False
        held.discard(assignment)
        return True
