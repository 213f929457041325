"""Roles (issue 15): the scope an account is granted is requested ∩ offered ∩ its roles', at
login and at every refresh; account deletion and an administrator's new password. Over the
memory, SQLite and PostgreSQL stores with the real Issuer and KeyRing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jwtwarden.accounts.admin import AccountAdmin
from jwtwarden.accounts.roles import RoleAssignment, RoleTable, UserScopes
from jwtwarden.clock import FixedClock
from jwtwarden.errors import (
    InvalidRefreshTokenError,
    InvalidScopeError,
    PasswordPolicyError,
    RefreshTokenReuseError,
    UnknownRoleError,
    UserNotFoundError,
)
from jwtwarden.issue import Issuer
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.sessions import PasswordHasher, SessionConfig, SessionService
from jwtwarden.sessions.tokens import refresh_token_hash
from jwtwarden.stores.memory import (
    MemoryDenylist,
    MemoryRoleStore,
    MemorySessionStore,
    MemoryUserStore,
)
from jwtwarden.stores.sql import SQLRoleStore, SQLSessionStore, SQLUserStore, create_engine
from tests.stores.dbs import migrated

from .conftest import AUDIENCE, ISSUER

PASSWORD = "correct horse battery staple"
SCOPES = frozenset({"openid", "profile", "email", "items:read", "items:write", "admin"})
TABLE = RoleTable(
    roles={
        "reader": frozenset({"items:read"}),
        "editor": frozenset({"items:read", "items:write"}),
        "administrator": frozenset({"admin"}),
    }
)


@dataclass
class World:
    service: SessionService
    admin: AccountAdmin
    roles: Any

    async def user(self, email: str = "ada@example.com") -> str:
        return (await self.service.create_user(email, PASSWORD)).id


def _build(users: Any, sessions: Any, roles: Any, ring: KeyRing, clock: FixedClock) -> World:
    hasher = PasswordHasher()
    service = SessionService(
        users=users,
        sessions=sessions,
        minter=Issuer(issuer=ISSUER, keys=ring, clock=clock),
        hasher=hasher,
        denylist=MemoryDenylist(clock=clock),
        config=SessionConfig(
            audience=(AUDIENCE,), scopes=SCOPES, client_ids=frozenset({"other-app"})
        ),
        clock=clock,
        user_scopes=UserScopes(TABLE, roles),
    )
    return World(service, AccountAdmin(service, roles=roles, table=TABLE, clock=clock), roles)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, ring: KeyRing, clock: FixedClock
) -> AsyncIterator[World]:
    if request.param == "memory":
        users = MemoryUserStore()
        yield _build(users, MemorySessionStore(users), MemoryRoleStore(users), ring, clock)
        return
    with migrated(request.param, request, tmp_path) as db:
        engine = create_engine(db.url, schema=db.schema)
        try:
            yield _build(
                SQLUserStore(engine), SQLSessionStore(engine), SQLRoleStore(engine), ring, clock
            )
        finally:
            await engine.dispose()


# --- login -------------------------------------------------------------------------------------


async def test_should_refuse_a_user_without_roles_asking_for_items_write_and_admin(
    world: World,
) -> None:
    # The hole of issue 15: any account got any configured scope.
    await world.user()
    with pytest.raises(InvalidScopeError, match="roles"):
        await world.service.login("ada@example.com", PASSWORD, scope="items:write admin")


async def test_should_refuse_an_editor_asking_for_admin_but_grant_what_its_role_names(
    world: World,
) -> None:
    uid = await world.user()
    await world.admin.change_roles(uid, add=["editor"])
    with pytest.raises(InvalidScopeError):
        await world.service.login("ada@example.com", PASSWORD, scope="items:write admin")
    pair = await world.service.login("ada@example.com", PASSWORD, scope="items:write")
    assert pair.scope == "items:write" and pair.claims["scope"] == "items:write"


async def test_should_give_every_user_the_identity_scopes_the_server_offers(world: World) -> None:
    await world.user()
    pair = await world.service.login("ada@example.com", PASSWORD, scope="openid email")
    assert pair.scope == "email openid"


async def test_should_count_a_client_specific_role_for_that_client_only(world: World) -> None:
    uid = await world.user()
    await world.admin.change_roles(uid, add=["reader"], client_id="other-app")
    there = await world.service.login(
        "ada@example.com", PASSWORD, client_id="other-app", scope="items:read"
    )
    assert there.scope == "items:read"
    with pytest.raises(InvalidScopeError):
        await world.service.login("ada@example.com", PASSWORD, scope="items:read")


async def test_should_grant_the_default_roles_to_every_account(
    ring: KeyRing, clock: FixedClock
) -> None:
    users = MemoryUserStore()
    world = _build(users, MemorySessionStore(users), MemoryRoleStore(users), ring, clock)
    world.service.user_scopes = UserScopes(
        RoleTable(roles=dict(TABLE.roles), default_roles=frozenset({"reader"})), world.roles
    )
    await world.user()
    pair = await world.service.login("ada@example.com", PASSWORD, scope="items:read")
    assert pair.scope == "items:read"


async def test_should_grant_nothing_for_a_role_removed_from_the_configuration(
    world: World,
) -> None:
    uid = await world.user()
    await world.admin.change_roles(uid, add=["editor"])
    without = RoleTable(roles={"reader": frozenset({"items:read"})})
    world.service.user_scopes = UserScopes(without, world.roles)
    with pytest.raises(InvalidScopeError):
        await world.service.login("ada@example.com", PASSWORD, scope="items:read")


# --- refresh -----------------------------------------------------------------------------------


async def test_should_narrow_the_next_refresh_when_a_role_is_removed(world: World) -> None:
    uid = await world.user()
    await world.admin.change_roles(uid, add=["editor", "administrator"])
    pair = await world.service.login("ada@example.com", PASSWORD, scope="admin items:write")
    await world.admin.change_roles(uid, remove=["administrator"])
    narrowed = await world.service.refresh(pair.refresh_token)
    # RFC 6749 5.1: the answer's scope says what was issued, since it differs from the grant.
    assert narrowed.scope == "items:write" and narrowed.claims["scope"] == "items:write"


async def test_should_refuse_a_refresh_naming_a_removed_roles_scope_and_keep_the_token(
    world: World,
) -> None:
    uid = await world.user()
    await world.admin.change_roles(uid, add=["editor", "administrator"])
    pair = await world.service.login("ada@example.com", PASSWORD, scope="admin items:write")
    await world.admin.change_roles(uid, remove=["administrator"])
    with pytest.raises(InvalidScopeError, match="now"):
        await world.service.refresh(pair.refresh_token, scope="admin")
    # Rolled back: the same token still refreshes, narrowed.
    again = await world.service.refresh(pair.refresh_token)
    assert again.scope == "items:write"


async def test_should_still_detect_reuse_when_the_reused_token_asks_for_a_removed_scope(
    world: World,
) -> None:
    uid = await world.user()
    await world.admin.change_roles(uid, add=["administrator"])
    pair = await world.service.login("ada@example.com", PASSWORD, scope="admin")
    second = await world.service.refresh(pair.refresh_token)
    await world.service.refresh(second.refresh_token)  # its successor spent: no retry, reuse
    await world.admin.change_roles(uid, remove=["administrator"])
    with pytest.raises(RefreshTokenReuseError):
        await world.service.refresh(pair.refresh_token, scope="admin")


# --- administration ----------------------------------------------------------------------------


async def test_should_refuse_an_unknown_role_without_changing_anything(world: World) -> None:
    uid = await world.user()
    with pytest.raises(UnknownRoleError, match="reader"):
        await world.admin.change_roles(uid, add=["editor", "superuser"])
    assert await world.admin.roles_of(uid) == []


async def test_should_list_roles_sorted_and_let_a_stale_assignment_be_removed(
    world: World,
) -> None:
    uid = await world.user()
    await world.admin.change_roles(uid, add=["reader", "editor"])
    await world.admin.change_roles(uid, add=["reader"], client_id="other-app")
    assert await world.admin.roles_of(uid) == [
        RoleAssignment(role="editor"),
        RoleAssignment(role="reader"),
        RoleAssignment(role="reader", client_id="other-app"),
    ]
    # Adding twice changes nothing; removing needs no configured role.
    await world.admin.change_roles(uid, add=["reader"])
    left = await world.admin.change_roles(uid, remove=["editor", "gone-role"])
    assert [a.role for a in left] == ["reader", "reader"]


async def test_should_refuse_role_changes_for_an_unknown_account(world: World) -> None:
    with pytest.raises(UserNotFoundError):
        await world.admin.change_roles("no-such-user", add=["reader"])
    with pytest.raises(UserNotFoundError):
        await world.roles.assign("no-such-user", RoleAssignment(role="reader"), now=0.0)


async def test_should_end_sessions_and_remove_the_data_of_a_deleted_account(
    world: World,
) -> None:
    uid = await world.user()
    await world.user("bob@example.com")
    await world.admin.change_roles(uid, add=["reader"])
    pair = await world.service.login("ada@example.com", PASSWORD, scope="items:read")
    assert await world.admin.delete_user(uid) == 1
    users, sessions = world.service.users, world.service.sessions
    assert await users.user_by_id(uid) is None and await users.auth_version(uid) is None
    assert await world.roles.roles_of(uid) == []
    digest = refresh_token_hash(pair.refresh_token)
    assert digest is not None and await sessions.session_by_token(digest) is None
    assert await world.service.denylist.is_denied(jti=None, sid=pair.session_id)
    with pytest.raises(InvalidRefreshTokenError):
        await world.service.refresh(pair.refresh_token)
    # The other account is untouched, and the deleted one's email is free again.
    assert await users.user_by_email("bob@example.com") is not None
    await world.user()
    with pytest.raises(UserNotFoundError):
        await world.admin.delete_user(uid)


async def test_should_end_every_session_when_an_administrator_sets_a_password(
    world: World,
) -> None:
    uid = await world.user()
    pair = await world.service.login("ada@example.com", PASSWORD)
    version = await world.admin.set_password(uid, "a brand new long password")
    assert version == 2
    with pytest.raises(InvalidRefreshTokenError):
        await world.service.refresh(pair.refresh_token)
    await world.service.login("ada@example.com", "a brand new long password")
    with pytest.raises(PasswordPolicyError):
        await world.admin.set_password(uid, "short")


async def test_should_mark_an_email_verified_only_while_it_is_the_accounts_email(
    world: World,
) -> None:
    uid = await world.user()
    users = world.service.users
    assert not (await users.user_by_id(uid)).email_verified  # type: ignore[union-attr]
    assert await users.set_email_verified(uid, "other@example.com") is False
    assert await users.set_email_verified(uid, "ada@example.com") is True
    assert (await users.user_by_id(uid)).email_verified  # type: ignore[union-attr]


# --- the role table ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "defaults", "message"),
    [
        ({"a b": frozenset({"x"})}, frozenset(), "role name"),
        ({"r": frozenset({"two words"})}, frozenset(), "not one scope"),
        ({"r": frozenset({"x"})}, frozenset({"missing"}), "default roles"),
    ],
    ids=[
        "should refuse a role name with a space",
        "should refuse a scope that is two scopes",
        "should refuse a default role that is not defined",
    ],
)
def test_role_table_validation(
    roles: dict[str, frozenset[str]], defaults: frozenset[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RoleTable(roles=roles, default_roles=defaults)
