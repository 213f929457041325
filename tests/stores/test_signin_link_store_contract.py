"""The ``SignInLinkStore`` contract (oauth/signin_links.py), run against every adapter: the
memory reference, SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jwtwarden.errors import StoreUnavailableError
from jwtwarden.oauth.signin_links import SignInLinkStore
from jwtwarden.stores.memory import MemorySignInLinkStore
from jwtwarden.stores.sql import SQLSignInLinkStore, create_engine

from .dbs import migrated

NOW = 1_800_000_000.0


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "memory":
        yield MemorySignInLinkStore()
        return
    with migrated(request.param, request, tmp_path) as db:
        engine = create_engine(db.url, schema=db.schema)
        try:
            yield SQLSignInLinkStore(engine)
        finally:
            await engine.dispose()


async def test_should_implement_the_port(store: Any) -> None:
    assert isinstance(store, SignInLinkStore)


async def test_should_list_the_refresh_sessions_of_one_sign_in_only(store: Any) -> None:
    await store.link("si-1", "s-1", expires_at=NOW + 60)
    await store.link("si-1", "s-2", expires_at=NOW + 60)
    await store.link("si-2", "s-3", expires_at=NOW + 60)
    assert sorted(await store.linked_sessions("si-1")) == ["s-1", "s-2"]
    assert await store.linked_sessions("si-2") == ["s-3"]
    assert await store.linked_sessions("si-unknown") == []


async def test_should_refuse_to_link_one_refresh_session_twice(store: Any) -> None:
    await store.link("si-1", "s-1", expires_at=NOW + 60)
    # A clash means a reused session id (a bug): it raises rather than moving the session
    # (memory: ValueError; SQL: the primary key's violation, as the adapters translate it).
    with pytest.raises((ValueError, StoreUnavailableError)):
        await store.link("si-2", "s-1", expires_at=NOW + 60)
    assert await store.linked_sessions("si-2") == []


async def test_should_purge_only_the_links_that_expired(store: Any) -> None:
    await store.link("si-1", "s-old", expires_at=NOW - 1)
    await store.link("si-1", "s-new", expires_at=NOW + 60)
    assert await store.purge_links(before=NOW) == 1
    assert await store.linked_sessions("si-1") == ["s-new"]
