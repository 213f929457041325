"""The ``AuthorizationCodeStore`` and ``SignInSessionStore`` contracts, run against every
adapter: the memory reference, SQLite (aiosqlite) and PostgreSQL (asyncpg). The race of
concurrent redemptions runs on the real databases."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from jwtwarden.oauth.codes import AuthorizationCode
from jwtwarden.oauth.signin import SignInSession
from jwtwarden.sessions.ports import UserRecord
from jwtwarden.stores.memory import MemoryAuthorizationStore
from jwtwarden.stores.sql import SQLAuthorizationStore, SQLUserStore, create_engine

from .dbs import migrated

NOW = 1_800_000_000.0
USER = UserRecord(id="u-1", email="u1@example.com", password_hash="x", created_at=NOW)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield MemoryAuthorizationStore()
        return
    with migrated(request.param, request, tmp_path) as db:
        engine = create_engine(db.url, schema=db.schema)
        try:
            await SQLUserStore(engine).create_user(USER)
            yield SQLAuthorizationStore(engine)
        finally:
            await engine.dispose()


def _code(label: str = "c1", **overrides: Any) -> AuthorizationCode:
    values: dict[str, Any] = {
        "code_hash": hashlib.sha256(label.encode()).digest(),
        "client_id": "app",
        "redirect_uri": "https://app.example.com/cb",
        "redirect_uri_in_request": True,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "scope": "openid read",
        "user_id": USER.id,
        "auth_time": NOW - 5,
        "nonce": "n-0S6",
        "signin_session_id": "si-1",
        "created_at": NOW,
        "expires_at": NOW + 60,
    }
    values.update(overrides)
    return AuthorizationCode(**values)


async def test_should_redeem_a_code_once_and_keep_what_it_is_bound_to(store: Any) -> None:
    code = _code()
    await store.create_code(code)
    spent = await store.redeem_code(code.code_hash, now=NOW + 1, session_id="s-1")
    assert spent == replace(code, redeemed_at=NOW + 1, session_id="s-1")
    assert await store.redeem_code(code.code_hash, now=NOW + 2, session_id="s-2") is None


async def test_should_not_redeem_an_expired_or_unknown_code(store: Any) -> None:
    code = _code()
    await store.create_code(code)
    assert await store.redeem_code(code.code_hash, now=NOW + 60, session_id="s") is None
    assert await store.redeem_code(b"\x00" * 32, now=NOW, session_id="s") is None
    assert await store.mark_replayed(code.code_hash, now=NOW + 61) is None  # never spent


async def test_should_mark_a_replay_once_and_name_the_session_to_revoke(store: Any) -> None:
    code = _code()
    await store.create_code(code)
    assert not await store.code_replayed(code.code_hash)
    await store.redeem_code(code.code_hash, now=NOW + 1, session_id="s-1")
    first = await store.mark_replayed(code.code_hash, now=NOW + 2)
    second = await store.mark_replayed(code.code_hash, now=NOW + 3)
    assert first is not None and first.session_id == "s-1" and first.replayed_at == NOW + 2
    assert second is not None and second.replayed_at == NOW + 2
    assert await store.code_replayed(code.code_hash)


async def test_should_let_one_of_many_concurrent_redemptions_win(store: Any) -> None:
    code = _code()
    await store.create_code(code)
    results = await asyncio.gather(
        *(store.redeem_code(code.code_hash, now=NOW + 1, session_id=f"s-{i}") for i in range(10))
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await store.redeem_code(code.code_hash, now=NOW + 1, session_id="late") is None


async def test_should_purge_codes_expired_before_the_cut(store: Any) -> None:
    await store.create_code(_code("old", expires_at=NOW - 10))
    await store.create_code(_code("new"))
    assert await store.purge_codes(before=NOW) == 1
    assert await store.redeem_code(_code("new").code_hash, now=NOW, session_id="s") is not None


def _signin(label: str, **overrides: Any) -> SignInSession:
    values: dict[str, Any] = {
        "id": "si-" + label,
        "token_hash": hashlib.sha256(label.encode()).digest(),
        "user_id": USER.id,
        "auth_version": 1,
        "auth_time": NOW,
        "created_at": NOW,
        "expires_at": NOW + 3600,
    }
    values.update(overrides)
    return SignInSession(**values)


async def test_should_find_a_live_signin_by_its_token_hash_only(store: Any) -> None:
    live = _signin("a")
    await store.create_signin(live)
    await store.create_signin(_signin("old", expires_at=NOW - 1))
    assert await store.signin_by_token(live.token_hash, now=NOW) == live
    assert await store.signin_by_token(_signin("old").token_hash, now=NOW) is None
    assert await store.signin_by_token(b"\x01" * 32, now=NOW) is None


async def test_should_revoke_one_signin_or_all_of_a_users(store: Any) -> None:
    for label, created in (("a", NOW), ("b", NOW + 1), ("c", NOW + 2)):
        await store.create_signin(_signin(label, created_at=created))
    assert [s.id for s in await store.user_signins(USER.id, now=NOW)] == ["si-c", "si-b", "si-a"]
    assert await store.revoke_signin("si-a", now=NOW) is True
    assert await store.revoke_signin("si-a", now=NOW) is False
    assert await store.signin_by_token(_signin("a").token_hash, now=NOW) is None
    assert await store.revoke_user_signins(USER.id, now=NOW) == 2
    assert await store.user_signins(USER.id, now=NOW) == []
    assert await store.purge_signins(before=NOW + 7200) == 3
