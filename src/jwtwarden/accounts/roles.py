"""Roles: what an account may be granted (issue 15, "authorization data").

A *role* names the scopes it grants. The roles themselves are configuration
(``JWTWARDEN_ROLES``, a JSON or TOML mapping role -> scopes, checked at start against the
server's scopes); which account holds which role is data (``jw_user_roles``, the admin API and
``jwtwarden users roles``). Definitions live with the deployment's other settings because they
are reviewed and versioned with the APIs whose scopes they name; assignments change at run time.
A role removed from the configuration grants nothing from the next token on.

An assignment holds for every client, or for one client only (``client_id``). The scope granted
to a user flow is ``requested ∩ offered ∩ allowed``: *offered* is what the client may ask for
and the server offers, *allowed* is the identity scopes (OpenID Connect Core 5.4: ``openid``,
``profile``, ``email`` for every user) plus the scopes of the user's roles for that client, the
``JWTWARDEN_DEFAULT_ROLES`` included.

The decisions, by RFC 6749 section 3.3 (the server "MAY fully or partially ignore the scope
requested"; when it does, the ``scope`` response member says what was issued):

- a request naming a scope beyond ``allowed`` is refused with ``invalid_scope`` (RFC 6749 5.2),
  not narrowed: a client that asked for ``admin`` learns at once that it will not get it, rather
  than through a 403 of an API later; nothing is issued that the request did not ask for;
- a refresh without a ``scope`` parameter is narrowed to the session's scope ∩ ``allowed`` now:
  a role removed after the login ends that scope at the next refresh without ending the session
  (its other scopes keep working), and the response's ``scope`` says what is left (RFC 6749 5.1).
  A refresh naming a scope no longer allowed is ``invalid_scope``, like a login.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..errors import InvalidScopeError, UnknownRoleError
from ..oauth.clients import IDENTITY_SCOPES
from ..oauth.scopes import scope_items

__all__ = [
    "ROLE_NAME",
    "NoRoleStore",
    "RoleAssignment",
    "RoleStore",
    "RoleTable",
    "UserScopes",
]

# A role name is an identifier in a CLI argument, a URL-free JSON member and a database key.
ROLE_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclass(frozen=True, kw_only=True, slots=True)
class RoleAssignment:
    """One role held by an account: for every client (``client_id`` None) or for one."""

    role: str
    client_id: str | None = None

    def applies_to(self, client_id: str) -> bool:
        """Whether this assignment counts for a token of ``client_id``."""
        return self.client_id is None or self.client_id == client_id


@runtime_checkable
class RoleStore(Protocol):
    """Role assignments per account. Role names are checked by the caller (``RoleTable``)."""

    async def roles_of(self, user_id: str) -> list[RoleAssignment]:
        """Every assignment of the account (none for an unknown account), sorted by role then
        client id (every-client assignments first)."""
        ...

    async def assign(self, user_id: str, assignment: RoleAssignment, *, now: float) -> bool:
        """Add the assignment; ``False`` if the account held it already.

        Raises:
            UserNotFoundError: no such account.
        """
        ...

    async def unassign(self, user_id: str, assignment: RoleAssignment) -> bool:
        """Remove the assignment; whether it existed."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class RoleTable:
    """The configured roles (``JWTWARDEN_ROLES``) and the roles every account holds
    (``JWTWARDEN_DEFAULT_ROLES``), validated when built.

    Example:
        >>> table = RoleTable(roles={"editor": frozenset({"items:write"})})
        >>> sorted(table.scopes_of([RoleAssignment(role="editor")], client_id="app"))
        ['items:write']
    """

    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    default_roles: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name, scopes in self.roles.items():
            if not isinstance(name, str) or not ROLE_NAME.fullmatch(name):
                raise ValueError(f"role {name!r}: a role name is 1-64 letters, digits or _ . : -")
            if not isinstance(scopes, frozenset):
                raise TypeError(f"role {name!r}: scopes must be a frozenset of scope names")
            for scope in scopes:
                if scope_items(scope) != {scope}:
                    raise ValueError(f"role {name!r}: {scope!r} is not one scope (RFC 6749 3.3)")
        unknown = sorted(self.default_roles - set(self.roles))
        if unknown:
            raise ValueError(f"default roles {unknown} are not defined roles")

    def check(self, role: object) -> str:
        """``role`` if it is a configured role.

        Raises:
            UnknownRoleError: it is not (with the configured names, which are not secret).
        """
        if not isinstance(role, str) or role not in self.roles:
            known = ", ".join(sorted(self.roles)) or "none are configured (JWTWARDEN_ROLES)"
            raise UnknownRoleError(f"expected one of the configured roles ({known}), got {role!r}")
        return role

    def scopes_of(self, assignments: Iterable[RoleAssignment], *, client_id: str) -> frozenset[str]:
        """The scopes the default roles and the assignments that hold for ``client_id`` grant.
        An assignment of a role no longer configured grants nothing."""
        names = set(self.default_roles)
        names.update(a.role for a in assignments if a.applies_to(client_id))
        granted: set[str] = set()
        for name in names:
            granted |= self.roles.get(name, frozenset())
        return frozenset(granted)


class UserScopes:
    """The one place that decides which scopes an account may be granted for a client: the
    login, the refresh and the authorization endpoint all call ``grant`` or ``narrow``.

    Example:
        >>> scopes = UserScopes(RoleTable(), MemoryRoleStore(users))  # doctest: +SKIP
        >>> await scopes.grant(user.id, client_id="app", requested="openid items:read",
        ...     offered=frozenset({"openid", "items:read"}))  # doctest: +SKIP
    """

    def __init__(self, table: RoleTable, store: RoleStore) -> None:
        self.table = table
        self.store = store

    async def allowed(self, user_id: str, *, client_id: str) -> frozenset[str]:
        """The identity scopes and the scopes of the account's roles for ``client_id``."""
        assignments = await self.store.roles_of(user_id)
        return IDENTITY_SCOPES | self.table.scopes_of(assignments, client_id=client_id)

    async def grant(
        self,
        user_id: str,
        *,
        client_id: str,
        requested: str | None,
        offered: frozenset[str],
    ) -> str:
        """The scope of a new grant (a login, an authorization code), sorted and
        space-separated. ``offered`` is what the client may ask for and the server offers
        (``Client.requestable_scopes(with_identity=True) & server scopes``). Without a request,
        everything offered that the account may have (RFC 6749 3.3's pre-defined default).

        Raises:
            InvalidScopeError: malformed, beyond ``offered``, or beyond the account's roles.
        """
        allowed = await self.allowed(user_id, client_id=client_id)
        if requested is None:
            return " ".join(sorted(offered & allowed))
        items = scope_items(requested)
        if not items <= offered:
            raise InvalidScopeError("the requested scope is beyond what this client may have")
        if not items <= allowed:
            # RFC 6749 3.3 and 5.2: refused rather than narrowed (see the module docstring).
            raise InvalidScopeError("the requested scope is beyond what this account's roles grant")
        return " ".join(sorted(items))

    def narrow(self, session_scope: str, requested: str | None, allowed: frozenset[str]) -> str:
        """A refresh's scope: the session's (or the part ``requested``) ∩ ``allowed``, the
        account's scopes now (``allowed()``, read before the refresh's transaction).

        Raises:
            InvalidScopeError: ``requested`` exceeds the session (RFC 6749 6), or names a scope
                the account's roles no longer grant.
        """
        session = scope_items(session_scope)
        items = session if requested is None else scope_items(requested)
        if not items <= session:
            raise InvalidScopeError("the requested scope exceeds the session's scope")
        if requested is not None and not items <= allowed:
            raise InvalidScopeError(
                "the requested scope is beyond what this account's roles grant now"
            )
        return " ".join(sorted(items & allowed))


class NoRoleStore:
    """A ``RoleStore`` that holds nothing: with it an account gets only the identity scopes
    (the session service's default: fail closed when no roles are wired in)."""

    async def roles_of(self, user_id: str) -> list[RoleAssignment]:
        return []

    async def assign(self, user_id: str, assignment: RoleAssignment, *, now: float) -> bool:
        raise UnknownRoleError("no role store is configured")

    async def unassign(self, user_id: str, assignment: RoleAssignment) -> bool:
        return False
