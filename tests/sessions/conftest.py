from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jwtwarden.accounts.roles import RoleTable, UserScopes
from jwtwarden.clock import FixedClock
from jwtwarden.issue import Issuer
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.sessions import PasswordHasher, SessionConfig, SessionService
from jwtwarden.stores.memory import (
    MemoryDenylist,
    MemoryKeyStore,
    MemoryRoleStore,
    MemorySessionStore,
    MemoryUserStore,
)
from jwtwarden.stores.sql import SQLRoleStore, SQLSessionStore, SQLUserStore, create_engine
from tests.stores.dbs import migrated

ISSUER = "https://auth.example.test"
AUDIENCE = "https://api.example.test"
START = 1_800_000_000.0
# Every account holds "member" (read, write): these tests are about sessions, not roles
# (tests/sessions/test_roles.py).
MEMBERS = RoleTable(
    roles={"member": frozenset({"read", "write"})}, default_roles=frozenset({"member"})
)


@pytest.fixture(scope="session")
def hasher() -> PasswordHasher:
    return PasswordHasher()


@pytest.fixture(scope="session")
def ring() -> KeyRing:
    keys = KeyRing(MemoryKeyStore(environment="test"))
    keys.ensure(["access"])
    return keys


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(params=["memory", "sqlite"])
async def service(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    hasher: PasswordHasher,
    ring: KeyRing,
    clock: FixedClock,
) -> AsyncIterator[SessionService]:
    config = SessionConfig(audience=(AUDIENCE,), scopes=frozenset({"read", "write"}))
    issuer = Issuer(issuer=ISSUER, keys=ring, clock=clock)
    denylist = MemoryDenylist(clock=clock)
    events: list[tuple[str, dict[str, object]]] = []

    def build(users: object, sessions: object, roles: object) -> SessionService:
        svc = SessionService(
            users=users,  # type: ignore[arg-type]
            sessions=sessions,  # type: ignore[arg-type]
            minter=issuer,
            hasher=hasher,
            denylist=denylist,
            config=config,
            clock=clock,
            on_event=lambda name, fields: events.append((name, dict(fields))),
            user_scopes=UserScopes(MEMBERS, roles),  # type: ignore[arg-type]
        )
        svc.events = events  # type: ignore[attr-defined]
        return svc

    if request.param == "memory":
        users = MemoryUserStore()
        yield build(users, MemorySessionStore(users), MemoryRoleStore(users))
        return
    with migrated(request.param, request, tmp_path) as db:
        engine = create_engine(db.url, schema=db.schema)
        try:
            yield build(SQLUserStore(engine), SQLSessionStore(engine), SQLRoleStore(engine))
        finally:
            await engine.dispose()
