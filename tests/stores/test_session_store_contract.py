"""The ``SessionStore`` and ``UserStore`` contracts, run against every adapter: the memory
reference, SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jwtwarden.errors import UserExistsError
from jwtwarden.sessions.ports import (
    NewRefreshToken,
    SessionRecord,
    SessionStore,
    TokenState,
    UserRecord,
    UserStore,
)
from jwtwarden.stores.memory import MemorySessionStore, MemoryUserStore
from jwtwarden.stores.sql import SQLSessionStore, SQLUserStore, create_engine

from .dbs import migrated

NOW = 1_800_000_000.0


@dataclass
class Stores:
    users: UserStore
    sessions: SessionStore


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "memory":
        users = MemoryUserStore()
        yield Stores(users, MemorySessionStore(users))
        return
    with migrated(request.param, request, tmp_path) as db:
        engine = create_engine(db.url, schema=db.schema)
        try:
            yield Stores(SQLUserStore(engine), SQLSessionStore(engine))
        finally:
            await engine.dispose()


def _digest() -> bytes:
    return hashlib.sha256(secrets.token_bytes(32)).digest()


def _new(now: float = NOW, idle: float = 3600.0) -> NewRefreshToken:
    return NewRefreshToken(token_hash=_digest(), issued_at=now, expires_at=now + idle)


async def _user(stores: Stores, email: str = "ada@example.com") -> UserRecord:
    user = UserRecord(
        id=secrets.token_hex(8), email=email, password_hash="$argon2id$x", created_at=NOW
    )
    await stores.users.create_user(user)
    return user


async def _session(
    stores: Stores, user: UserRecord, *, lifetime: float = 86400.0, idle: float = 3600.0
) -> tuple[SessionRecord, bytes]:
    session = SessionRecord(
        id=secrets.token_urlsafe(16),
        user_id=user.id,
        client_id="jwtwarden",
        scope="read",
        auth_version=user.auth_version,
        created_at=NOW,
        expires_at=NOW + lifetime,
    )
    first = _new(idle=idle)
    await stores.sessions.create_session(session, first)
    return session, first.token_hash


async def _spend(
    stores: Stores, token_hash: bytes, new: NewRefreshToken | None = None, *, now: float = NOW + 1
) -> SessionRecord | None:
    """One conditional spend in a transaction of its own."""
    async with stores.sessions.transaction() as tx:
        return await tx.spend(token_hash, new or _new(now), now=now)


async def _state(stores: Stores, token_hash: bytes) -> TokenState | None:
    async with stores.sessions.transaction() as tx:
        return await tx.token_state(token_hash)


async def test_should_spend_a_live_token_and_insert_its_successor(stores: Stores) -> None:
    session, first = await _session(stores, await _user(stores))
    second = _new()
    spent = await _spend(stores, first, second)
    assert spent is not None and spent.id == session.id and spent.client_id == "jwtwarden"
    state = await _state(stores, first)
    assert state is not None and state.spent_at == NOW + 1
    assert state.replaced_by == second.token_hash and state.successor_spent_at is None
    successor = await _state(stores, second.token_hash)
    assert successor is not None and successor.spendable(NOW + 2)
    assert successor.session.id == session.id and successor.user_version == 1


async def test_should_report_when_the_successor_is_spent_in_turn(stores: Stores) -> None:
    _, first = await _session(stores, await _user(stores))
    second = _new()
    await _spend(stores, first, second)
    assert await _spend(stores, second.token_hash, now=NOW + 5) is not None
    state = await _state(stores, first)
    assert state is not None and state.successor_spent_at == NOW + 5


async def test_should_spend_nothing_for_a_token_it_never_stored(stores: Stores) -> None:
    assert await _spend(stores, _digest()) is None
    assert await _state(stores, _digest()) is None


async def test_should_not_spend_a_spent_token_again(stores: Stores) -> None:
    session, first = await _session(stores, await _user(stores))
    await _spend(stores, first)
    assert await _spend(stores, first, now=NOW + 2) is None
    stored = await stores.sessions.get_session(session.id)
    assert stored is not None and stored.revoked_at is None  # refusing decides nothing


async def test_should_undo_everything_when_the_transaction_raises(stores: Stores) -> None:
    session, first = await _session(stores, await _user(stores))
    failed_new = _new()
    with pytest.raises(RuntimeError):
        async with stores.sessions.transaction() as tx:
            assert await tx.spend(first, failed_new, now=NOW + 1) is not None
            await tx.revoke_family(session.id, now=NOW + 1, reason="reuse")
            raise RuntimeError("signing failed after the spend, before the commit")
    # Nothing half spent: the presented token spends normally, the failed successor is unknown.
    assert await _state(stores, failed_new.token_hash) is None
    stored = await stores.sessions.get_session(session.id)
    assert stored is not None and stored.revoked_at is None
    assert await _spend(stores, first, now=NOW + 2) is not None


async def test_should_let_exactly_one_of_fifty_concurrent_spends_of_one_token_succeed(
    stores: Stores,
) -> None:
    session, first = await _session(stores, await _user(stores))
    results = await asyncio.gather(*(_spend(stores, first) for _ in range(50)))
    assert sum(1 for r in results if r is not None) == 1
    state = await _state(stores, first)
    assert state is not None and state.spent_at is not None
    stored = await stores.sessions.get_session(session.id)
    assert stored is not None and stored.revoked_at is None


async def test_should_not_spend_a_token_past_its_idle_lifetime(stores: Stores) -> None:
    _, first = await _session(stores, await _user(stores), idle=60)
    assert await _spend(stores, first, now=NOW + 61) is None
    state = await _state(stores, first)
    assert state is not None and state.spent_at is None and not state.ended
    assert state.expires_at == NOW + 60


async def test_should_not_spend_a_token_of_a_session_past_its_absolute_lifetime(
    stores: Stores,
) -> None:
    _, first = await _session(stores, await _user(stores), lifetime=100, idle=100)
    assert await _spend(stores, first, now=NOW + 101) is None
    state = await _state(stores, first)
    assert state is not None and not state.ended and not state.alive(NOW + 101)


async def test_should_cap_a_successors_idle_expiry_at_the_sessions_absolute_expiry(
    stores: Stores,
) -> None:
    _, first = await _session(stores, await _user(stores), lifetime=100, idle=100)
    second = _new(now=NOW + 90, idle=3600)
    await _spend(stores, first, second, now=NOW + 90)
    state = await _state(stores, second.token_hash)
    assert state is not None and state.expires_at == NOW + 100
    assert await _spend(stores, second.token_hash, now=NOW + 101) is None


async def test_should_not_spend_when_the_users_auth_version_moves_on(stores: Stores) -> None:
    user = await _user(stores)
    _, first = await _session(stores, user)
    assert await stores.users.set_password(user.id, "$argon2id$new") == user.auth_version + 1
    assert await _spend(stores, first) is None
    state = await _state(stores, first)
    assert state is not None and state.ended and state.user_version == user.auth_version + 1


async def test_should_not_spend_when_the_user_is_disabled(stores: Stores) -> None:
    user = await _user(stores)
    _, first = await _session(stores, user)
    await stores.users.set_disabled(user.id, True)
    assert await _spend(stores, first) is None
    state = await _state(stores, first)
    assert state is not None and state.ended and state.user_version is None


async def test_should_revoke_a_family_and_spend_all_its_tokens(stores: Stores) -> None:
    session, first = await _session(stores, await _user(stores))
    second = _new()
    await _spend(stores, first, second)
    async with stores.sessions.transaction() as tx:
        await tx.revoke_family(session.id, now=NOW + 2, reason="reuse")
    stored = await stores.sessions.get_session(session.id)
    assert stored is not None and stored.revoked_at == NOW + 2 and stored.revoke_reason == "reuse"
    state = await _state(stores, second.token_hash)
    assert state is not None and state.spent_at == NOW + 2 and state.ended
    assert state.replaced_by is None  # spent by a revocation, not by a refresh
    assert await _spend(stores, second.token_hash, now=NOW + 3) is None


async def test_should_keep_two_logins_of_one_user_independent(stores: Stores) -> None:
    user = await _user(stores)
    tab_one = await _session(stores, user)
    tab_two = await _session(stores, user)
    other = tab_two[0]
    one, _ = tab_one
    async with stores.sessions.transaction() as tx:
        await tx.revoke_family(one.id, now=NOW + 2, reason="reuse")
    result = await _spend(stores, tab_two[1], now=NOW + 3)
    assert result is not None and result.id == other.id


async def test_should_revoke_a_session_by_any_of_its_tokens(stores: Stores) -> None:
    session, first = await _session(stores, await _user(stores))
    second = _new()
    await _spend(stores, first, second)
    ended = await stores.sessions.revoke_by_token(first, now=NOW + 2, reason="logout")
    assert ended is not None and ended.id == session.id
    assert await _spend(stores, second.token_hash, now=NOW + 3) is None
    assert await stores.sessions.revoke_by_token(_digest(), now=NOW, reason="logout") is None


async def test_should_find_the_session_of_any_of_its_tokens_without_changing_it(
    stores: Stores,
) -> None:
    session, first = await _session(stores, await _user(stores))
    _, others = await _session(stores, await _user(stores, "bob@example.com"))
    second = _new()
    await _spend(stores, first, second)
    for digest in (first, second.token_hash):  # spent and live
        found = await stores.sessions.session_by_token(digest)
        assert found is not None and found.id == session.id and found.revoked_at is None
    other = await stores.sessions.session_by_token(others)
    assert other is not None and other.id != session.id
    assert await stores.sessions.session_by_token(_digest()) is None
    # A look-up spends nothing: the live token still spends.
    assert await _spend(stores, second.token_hash, now=NOW + 2) is not None


async def test_should_revoke_a_session_by_id_idempotently(stores: Stores) -> None:
    session, first = await _session(stores, await _user(stores))
    assert await stores.sessions.revoke_session(session.id, now=NOW + 1, reason="logout")
    again = await stores.sessions.revoke_session(session.id, now=NOW + 5, reason="logout")
    assert again is not None and again.revoked_at == NOW + 1
    assert await _spend(stores, first, now=NOW + 6) is None
    assert await stores.sessions.revoke_session("nope", now=NOW, reason="logout") is None


async def test_should_end_every_live_session_of_a_user_and_no_other(stores: Stores) -> None:
    ada, bob = await _user(stores), await _user(stores, "bob@example.com")
    s1, _ = await _session(stores, ada)
    s2, _ = await _session(stores, ada)
    _, bobs = await _session(stores, bob)
    ended = await stores.sessions.revoke_user_sessions(ada.id, now=NOW + 1, reason="password")
    assert {s.id for s in ended} == {s1.id, s2.id}
    assert await stores.sessions.revoke_user_sessions(ada.id, now=NOW + 2, reason="x") == []
    assert await _spend(stores, bobs, now=NOW + 3) is not None


async def test_should_purge_sessions_past_their_absolute_expiry(stores: Stores) -> None:
    user = await _user(stores)
    short, first = await _session(stores, user, lifetime=10, idle=10)
    long, _ = await _session(stores, user)
    assert await stores.sessions.purge(now=NOW + 11) == 1
    assert await stores.sessions.get_session(short.id) is None
    assert await stores.sessions.get_session(long.id) is not None
    assert await _spend(stores, first, now=NOW + 12) is None
    assert await _state(stores, first) is None


async def test_should_refuse_a_second_account_with_the_same_email(stores: Stores) -> None:
    await _user(stores)
    with pytest.raises(UserExistsError):
        await _user(stores)


async def test_should_bump_the_auth_version_on_password_change_and_disable(
    stores: Stores,
) -> None:
    user = await _user(stores)
    assert await stores.users.auth_version(user.id) == 1
    assert await stores.users.set_password(user.id, "$argon2id$new") == 2
    found = await stores.users.user_by_email(user.email)
    assert found is not None and found.password_hash == "$argon2id$new"
    assert await stores.users.set_disabled(user.id, True) == 3
    assert await stores.users.auth_version(user.id) is None
    assert await stores.users.set_password("missing", "h") is None
    assert await stores.users.auth_version("missing") is None


async def test_should_move_the_auth_version_only_when_the_disabled_state_changes(
    stores: Stores,
) -> None:
    # Enabling an enabled account used to bump the version: every session then stopped
    # refreshing without being revoked (an admin "enable" logged the user out everywhere).
    user = await _user(stores)
    assert await stores.users.set_disabled(user.id, False) == 1
    assert await stores.users.auth_version(user.id) == 1
    assert await stores.users.set_disabled(user.id, True) == 2
    assert await stores.users.set_disabled(user.id, True) == 2
    assert await stores.users.set_disabled(user.id, False) == 3
    assert await stores.users.auth_version(user.id) == 3
    assert await stores.users.set_disabled("missing", False) is None


async def test_should_rehash_only_if_the_hash_is_still_the_old_one(stores: Stores) -> None:
    user = await _user(stores)
    await stores.users.rehash_password(user.id, "not-the-stored-hash", "$argon2id$other")
    found = await stores.users.user_by_id(user.id)
    assert found is not None and found.password_hash == user.password_hash
    await stores.users.rehash_password(user.id, user.password_hash, "$argon2id$stronger")
    found = await stores.users.user_by_id(user.id)
    assert found is not None and found.password_hash == "$argon2id$stronger"
    assert found.auth_version == user.auth_version


async def test_should_list_users_in_creation_order_with_paging(stores: Stores) -> None:
    for i in range(3):
        await _user(stores, f"user{i}@example.com")
    page = await stores.users.list_users(limit=2, offset=1)
    assert [u.email for u in page] == ["user1@example.com", "user2@example.com"] or len(page) == 2
    assert len(await stores.users.list_users(limit=10, offset=0)) == 3
