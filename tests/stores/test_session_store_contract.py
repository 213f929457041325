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
    ActiveSession,
    NewRefreshToken,
    RotateStatus,
    SessionRecord,
    SessionStore,
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


async def _issue(active: ActiveSession) -> str:
    return "minted-for-" + active.session.id


async def test_should_rotate_a_live_token_and_return_what_the_issue_callback_made(
    stores: Stores,
) -> None:
    session, first = await _session(stores, await _user(stores))
    result = await stores.sessions.rotate(first, _new(), now=NOW + 1, grace=0, issue=_issue)
    assert result.status is RotateStatus.ROTATED
    assert result.value == "minted-for-" + session.id
    assert result.session is not None and result.session.id == session.id
    assert not result.via_grace


async def test_should_answer_unknown_for_a_token_it_never_stored(stores: Stores) -> None:
    result = await stores.sessions.rotate(_digest(), _new(), now=NOW, grace=0, issue=_issue)
    assert result.status is RotateStatus.UNKNOWN


async def test_should_revoke_the_whole_session_when_a_spent_token_comes_back(
    stores: Stores,
) -> None:
    session, first = await _session(stores, await _user(stores))
    second = _new()
    await stores.sessions.rotate(first, second, now=NOW + 1, grace=0, issue=_issue)
    reused = await stores.sessions.rotate(first, _new(), now=NOW + 2, grace=0, issue=_issue)
    assert reused.status is RotateStatus.REUSED
    assert reused.session is not None and reused.session.id == session.id
    stored = await stores.sessions.get_session(session.id)
    assert stored is not None and stored.revoked_at == NOW + 2 and stored.revoke_reason == "reuse"
    # The legitimate holder's newer token dies with the family.
    after = await stores.sessions.rotate(
        second.token_hash, _new(), now=NOW + 3, grace=0, issue=_issue
    )
    assert after.status is not RotateStatus.ROTATED


async def test_should_leave_the_token_live_when_issuing_fails_before_the_commit(
    stores: Stores,
) -> None:
    _, first = await _session(stores, await _user(stores))
    failed_new = _new()

    async def explode(active: ActiveSession) -> str:
        raise RuntimeError("signing failed after the spend, before the commit")

    with pytest.raises(RuntimeError):
        await stores.sessions.rotate(first, failed_new, now=NOW + 1, grace=0, issue=explode)
    # Nothing half spent: the presented token rotates normally, the failed successor is unknown.
    ok = await stores.sessions.rotate(first, _new(), now=NOW + 2, grace=0, issue=_issue)
    assert ok.status is RotateStatus.ROTATED
    ghost = await stores.sessions.rotate(
        failed_new.token_hash, _new(), now=NOW + 3, grace=0, issue=_issue
    )
    assert ghost.status is RotateStatus.UNKNOWN


async def test_should_let_exactly_one_of_fifty_concurrent_spends_of_one_token_succeed(
    stores: Stores,
) -> None:
    session, first = await _session(stores, await _user(stores))
    results = await asyncio.gather(
        *(
            stores.sessions.rotate(first, _new(), now=NOW + 1, grace=0, issue=_issue)
            for _ in range(50)
        )
    )
    statuses = [r.status for r in results]
    assert statuses.count(RotateStatus.ROTATED) == 1
    # The first loser to run detects reuse and revokes; later ones find the session ended.
    assert RotateStatus.REUSED in statuses
    assert set(statuses) <= {RotateStatus.ROTATED, RotateStatus.REUSED, RotateStatus.ENDED}
    stored = await stores.sessions.get_session(session.id)
    assert stored is not None and stored.revoked_at is not None


async def test_should_refuse_a_token_past_its_idle_lifetime_without_revoking(
    stores: Stores,
) -> None:
    session, first = await _session(stores, await _user(stores), idle=60)
    result = await stores.sessions.rotate(first, _new(), now=NOW + 61, grace=0, issue=_issue)
    assert result.status is RotateStatus.EXPIRED
    stored = await stores.sessions.get_session(session.id)
    assert stored is not None and stored.revoked_at is None


async def test_should_refuse_a_session_past_its_absolute_lifetime(stores: Stores) -> None:
    _, first = await _session(stores, await _user(stores), lifetime=100, idle=100)
    result = await stores.sessions.rotate(first, _new(), now=NOW + 101, grace=0, issue=_issue)
    assert result.status is RotateStatus.EXPIRED


async def test_should_cap_a_successors_idle_expiry_at_the_sessions_absolute_expiry(
    stores: Stores,
) -> None:
    _, first = await _session(stores, await _user(stores), lifetime=100, idle=100)
    second = _new(now=NOW + 90, idle=3600)
    await stores.sessions.rotate(first, second, now=NOW + 90, grace=0, issue=_issue)
    result = await stores.sessions.rotate(
        second.token_hash, _new(), now=NOW + 101, grace=0, issue=_issue
    )
    assert result.status is RotateStatus.EXPIRED


async def test_should_end_refresh_when_the_users_auth_version_moves_on(stores: Stores) -> None:
    user = await _user(stores)
    _, first = await _session(stores, user)
    assert await stores.users.set_password(user.id, "$argon2id$new") == user.auth_version + 1
    result = await stores.sessions.rotate(first, _new(), now=NOW + 1, grace=0, issue=_issue)
    assert result.status is RotateStatus.ENDED


async def test_should_end_refresh_when_the_user_is_disabled(stores: Stores) -> None:
    user = await _user(stores)
    _, first = await _session(stores, user)
    await stores.users.set_disabled(user.id, True)
    result = await stores.sessions.rotate(first, _new(), now=NOW + 1, grace=0, issue=_issue)
    assert result.status is RotateStatus.ENDED


async def test_should_accept_the_immediately_previous_token_within_the_grace_period(
    stores: Stores,
) -> None:
    session, first = await _session(stores, await _user(stores))
    second = _new()
    await stores.sessions.rotate(first, second, now=NOW + 1, grace=30, issue=_issue)
    retried = _new()
    result = await stores.sessions.rotate(first, retried, now=NOW + 20, grace=30, issue=_issue)
    assert result.status is RotateStatus.ROTATED and result.via_grace
    # The successor the client never saw is spent; the retried pair is the live one.
    live = await stores.sessions.rotate(
        retried.token_hash, _new(), now=NOW + 21, grace=30, issue=_issue
    )
    assert live.status is RotateStatus.ROTATED and not live.via_grace
    stored = await stores.sessions.get_session(session.id)
    assert stored is not None and stored.revoked_at is None


async def test_should_accept_only_one_grace_retry_of_a_token(stores: Stores) -> None:
    session, first = await _session(stores, await _user(stores))
    await stores.sessions.rotate(first, _new(), now=NOW + 1, grace=30, issue=_issue)
    retry = await stores.sessions.rotate(first, _new(), now=NOW + 2, grace=30, issue=_issue)
    assert retry.status is RotateStatus.ROTATED and retry.via_grace
    again = await stores.sessions.rotate(first, _new(), now=NOW + 3, grace=30, issue=_issue)
    assert again.status is RotateStatus.REUSED
    stored = await stores.sessions.get_session(session.id)
    assert stored is not None and stored.revoke_reason == "reuse"


async def test_should_treat_a_successor_spent_by_a_grace_retry_as_reuse(stores: Stores) -> None:
    # A thief replays the previous token inside the window; when the legitimate client then
    # presents the successor it holds, the family is revoked instead of ping-ponging forever.
    session, first = await _session(stores, await _user(stores))
    second = _new()
    await stores.sessions.rotate(first, second, now=NOW + 1, grace=30, issue=_issue)
    thief = await stores.sessions.rotate(first, _new(), now=NOW + 2, grace=30, issue=_issue)
    assert thief.status is RotateStatus.ROTATED and thief.via_grace
    owner = await stores.sessions.rotate(
        second.token_hash, _new(), now=NOW + 3, grace=30, issue=_issue
    )
    assert owner.status is RotateStatus.REUSED
    stored = await stores.sessions.get_session(session.id)
    assert stored is not None and stored.revoked_at is not None


async def test_should_treat_an_older_token_as_reuse_even_within_the_grace_period(
    stores: Stores,
) -> None:
    _, first = await _session(stores, await _user(stores))
    second, third = _new(), _new()
    await stores.sessions.rotate(first, second, now=NOW + 1, grace=30, issue=_issue)
    await stores.sessions.rotate(second.token_hash, third, now=NOW + 2, grace=30, issue=_issue)
    result = await stores.sessions.rotate(first, _new(), now=NOW + 3, grace=30, issue=_issue)
    assert result.status is RotateStatus.REUSED


async def test_should_treat_the_previous_token_as_reuse_after_the_grace_window(
    stores: Stores,
) -> None:
    _, first = await _session(stores, await _user(stores))
    await stores.sessions.rotate(first, _new(), now=NOW + 1, grace=30, issue=_issue)
    result = await stores.sessions.rotate(first, _new(), now=NOW + 32, grace=30, issue=_issue)
    assert result.status is RotateStatus.REUSED


async def test_should_treat_the_previous_token_as_reuse_when_grace_is_off(stores: Stores) -> None:
    _, first = await _session(stores, await _user(stores))
    await stores.sessions.rotate(first, _new(), now=NOW + 1, grace=0, issue=_issue)
    result = await stores.sessions.rotate(first, _new(), now=NOW + 1.5, grace=0, issue=_issue)
    assert result.status is RotateStatus.REUSED


async def test_should_keep_two_logins_of_one_user_independent(stores: Stores) -> None:
    user = await _user(stores)
    _, tab_one = await _session(stores, user)
    other, tab_two = await _session(stores, user)
    await stores.sessions.rotate(tab_one, _new(), now=NOW + 1, grace=0, issue=_issue)
    reused = await stores.sessions.rotate(tab_one, _new(), now=NOW + 2, grace=0, issue=_issue)
    assert reused.status is RotateStatus.REUSED
    result = await stores.sessions.rotate(tab_two, _new(), now=NOW + 3, grace=0, issue=_issue)
    assert result.status is RotateStatus.ROTATED
    assert result.session is not None and result.session.id == other.id


async def test_should_revoke_a_session_by_any_of_its_tokens(stores: Stores) -> None:
    session, first = await _session(stores, await _user(stores))
    second = _new()
    await stores.sessions.rotate(first, second, now=NOW + 1, grace=0, issue=_issue)
    ended = await stores.sessions.revoke_by_token(first, now=NOW + 2, reason="logout")
    assert ended is not None and ended.id == session.id
    result = await stores.sessions.rotate(
        second.token_hash, _new(), now=NOW + 3, grace=0, issue=_issue
    )
    assert result.status is not RotateStatus.ROTATED
    assert await stores.sessions.revoke_by_token(_digest(), now=NOW, reason="logout") is None


async def test_should_find_the_session_of_any_of_its_tokens_without_changing_it(
    stores: Stores,
) -> None:
    session, first = await _session(stores, await _user(stores))
    _, others = await _session(stores, await _user(stores, "bob@example.com"))
    second = _new()
    await stores.sessions.rotate(first, second, now=NOW + 1, grace=0, issue=_issue)
    for digest in (first, second.token_hash):  # spent and live
        found = await stores.sessions.session_by_token(digest)
        assert found is not None and found.id == session.id and found.revoked_at is None
    other = await stores.sessions.session_by_token(others)
    assert other is not None and other.id != session.id
    assert await stores.sessions.session_by_token(_digest()) is None
    # A look-up spends nothing: the live token still rotates.
    result = await stores.sessions.rotate(
        second.token_hash, _new(), now=NOW + 2, grace=0, issue=_issue
    )
    assert result.status is RotateStatus.ROTATED


async def test_should_revoke_a_session_by_id_idempotently(stores: Stores) -> None:
    session, first = await _session(stores, await _user(stores))
    assert await stores.sessions.revoke_session(session.id, now=NOW + 1, reason="logout")
    again = await stores.sessions.revoke_session(session.id, now=NOW + 5, reason="logout")
    assert again is not None and again.revoked_at == NOW + 1
    result = await stores.sessions.rotate(first, _new(), now=NOW + 6, grace=0, issue=_issue)
    assert result.status is not RotateStatus.ROTATED
    assert await stores.sessions.revoke_session("nope", now=NOW, reason="logout") is None


async def test_should_end_every_live_session_of_a_user_and_no_other(stores: Stores) -> None:
    ada, bob = await _user(stores), await _user(stores, "bob@example.com")
    s1, _ = await _session(stores, ada)
    s2, _ = await _session(stores, ada)
    _, bobs = await _session(stores, bob)
    ended = await stores.sessions.revoke_user_sessions(ada.id, now=NOW + 1, reason="password")
    assert {s.id for s in ended} == {s1.id, s2.id}
    assert await stores.sessions.revoke_user_sessions(ada.id, now=NOW + 2, reason="x") == []
    result = await stores.sessions.rotate(bobs, _new(), now=NOW + 3, grace=0, issue=_issue)
    assert result.status is RotateStatus.ROTATED


async def test_should_purge_sessions_past_their_absolute_expiry(stores: Stores) -> None:
    user = await _user(stores)
    short, first = await _session(stores, user, lifetime=10, idle=10)
    long, _ = await _session(stores, user)
    assert await stores.sessions.purge(now=NOW + 11) == 1
    assert await stores.sessions.get_session(short.id) is None
    assert await stores.sessions.get_session(long.id) is not None
    result = await stores.sessions.rotate(first, _new(), now=NOW + 12, grace=0, issue=_issue)
    assert result.status is RotateStatus.UNKNOWN


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
