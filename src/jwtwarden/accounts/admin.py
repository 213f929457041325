"""Account administration beyond the session service: deletion, a password set by an
administrator, and role assignments. The admin API (``/admin/users``) and the CLI
(``jwtwarden users``) both call ``AccountAdmin``, so the rules are written once.

Ending access: every operation that takes access away ends the account's sessions (their
refresh-token families are revoked and their live access tokens denied by ``sid``) and, where
the account's auth version moves (a new password, disabling), every access token stops
verifying at once. A deleted account's tokens fail the auth-version check (no account); its
sessions, refresh tokens and role assignments are deleted with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import UserNotFoundError
from ..sessions.ports import UserRecord
from ..sessions.service import SessionService
from .roles import RoleAssignment, RoleStore, RoleTable

__all__ = ["AccountAdmin", "account_fields"]


def account_fields(user: UserRecord) -> dict[str, Any]:
    """An account as the admin API (``GET /admin/users/{id}``) and the CLI (``jwtwarden users
    show --json``) show it: never its password hash or a pending e-mail change."""
    return {
        "id": user.id,
        "email": user.email,
        "is_admin": user.is_admin,
        "disabled": user.disabled,
        "email_verified": user.email_verified,
        "auth_version": user.auth_version,
        "created_at": user.created_at,
    }


class AccountAdmin:
    """Delete accounts, set passwords, assign roles.

    Example:
        >>> admin = AccountAdmin(service, roles=store, table=table)  # doctest: +SKIP
        >>> await admin.change_roles(user.id, add=["editor"])  # doctest: +SKIP
    """

    def __init__(
        self,
        service: SessionService,
        *,
        roles: RoleStore,
        table: RoleTable,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.service = service
        self.roles = roles
        self.table = table
        self.clock = clock

    async def user(self, user_id: str) -> UserRecord:
        """The account.

        Raises:
            UserNotFoundError: no account has this id.
        """
        user = await self.service.users.user_by_id(user_id)
        if user is None:
            raise UserNotFoundError(f"expected an existing account id, got {user_id!r}")
        return user

    async def delete_user(self, user_id: str) -> int:
        """End every session of the account, then delete it and its data; how many sessions
        ended.

        Raises:
            UserNotFoundError: no account has this id.
        """
        await self.user(user_id)
        # First the sessions (their access tokens denied by sid while the rows still exist),
        # then the account: a crash between the two leaves a disabled-like account, not live
        # tokens of a deleted one.
        ended = await self.service.end_all_sessions(user_id, reason="deleted")
        if not await self.service.users.delete_user(user_id):
            raise UserNotFoundError(f"expected an existing account id, got {user_id!r}")
        self.service._event("user_deleted", user_id=user_id)
        return ended

    async def set_password(self, user_id: str, password: object) -> int:
        """Set a new password (an administrator's reset): checked against the policy and
        hashed; bumps the auth version and ends every session. The new auth version.

        Raises:
            UserNotFoundError: no account has this id.
            PasswordPolicyError: the password does not meet the policy.
        """
        await self.user(user_id)
        if not isinstance(password, str):
            raise ValueError("the new password must be a string")
        new_hash = await self.service.hasher.ahash(password)
        version = await self.service.users.set_password(user_id, new_hash)
        if version is None:
            raise UserNotFoundError(f"expected an existing account id, got {user_id!r}")
        await self.service.end_all_sessions(user_id, reason="password_set")
        return version

    async def roles_of(self, user_id: str) -> list[RoleAssignment]:
        """The account's role assignments (the default roles are not listed: every account
        holds them).

        Raises:
            UserNotFoundError: no account has this id.
        """
        await self.user(user_id)
        return await self.roles.roles_of(user_id)

    async def change_roles(
        self,
        user_id: str,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        client_id: str | None = None,
    ) -> list[RoleAssignment]:
        """Add and remove roles (for every client, or for ``client_id`` only); the account's
        assignments after. Adding checks the role is configured; removing does not, so an
        assignment of a role since removed from the configuration can be cleaned up. A removed
        role's scopes leave the account's tokens at their next refresh (``accounts.roles``).

        Raises:
            UserNotFoundError: no account has this id.
            UnknownRoleError: a role to add is not configured (nothing was changed).
        """
        await self.user(user_id)
        for role in add:
            self.table.check(role)  # all checked before any change
        now = self.clock.now()
        for role in add:
            await self.roles.assign(
                user_id, RoleAssignment(role=role, client_id=client_id), now=now
            )
        for role in remove:
            await self.roles.unassign(user_id, RoleAssignment(role=role, client_id=client_id))
        if add or remove:
            self.service._event("roles_changed", user_id=user_id)
        return await self.roles.roles_of(user_id)
