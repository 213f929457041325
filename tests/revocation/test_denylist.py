"""The denylist port on every adapter (memory, SQL on SQLite and PostgreSQL, Redis), and the
Redis adapter failing closed when Redis is unreachable."""

from __future__ import annotations

import secrets
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jwtwarden.clock import FixedClock
from jwtwarden.errors import RevocationUnavailableError
from jwtwarden.revocation.denylist import Denylist
from jwtwarden.stores.memory import MemoryDenylist
from jwtwarden.stores.redis import RedisDenylist, SyncRedisDenylist, redis_client
from jwtwarden.stores.sql import SQLDenylist, create_engine
from tests.stores.dbs import migrated

NOW = 1_800_000_000.0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(params=["memory", "sqlite", "postgresql", "redis"])
async def denylist(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[Denylist]:
    if request.param == "memory":
        yield MemoryDenylist(clock=clock)
    elif request.param == "redis":
        url = request.getfixturevalue("redis_url")
        client = redis_client(url)
        # Redis expires keys on its own clock: use real times for this adapter.
        clock.set(__import__("time").time())
        prefix = f"jwtwarden-test-{secrets.token_hex(4)}:"
        try:
            yield RedisDenylist(client, prefix=prefix, clock=clock)
        finally:
            keys = [k async for k in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()
    else:
        with migrated(request.param, request, tmp_path) as db:
            engine = create_engine(db.url, schema=db.schema)
            try:
                yield SQLDenylist(engine, clock=clock)
            finally:
                await engine.dispose()


async def test_should_deny_a_jti_until_its_expiry_and_not_after(
    denylist: Denylist, clock: FixedClock
) -> None:
    now = clock.now()
    await denylist.deny_token("jti-1", until=now + 2)
    assert await denylist.is_denied(jti="jti-1", sid=None)
    assert not await denylist.is_denied(jti="jti-2", sid=None)
    if not isinstance(denylist, RedisDenylist):
        clock.advance(3)
        assert not await denylist.is_denied(jti="jti-1", sid=None)


async def test_should_deny_every_token_of_a_session_by_sid(
    denylist: Denylist, clock: FixedClock
) -> None:
    await denylist.deny_session("sid-1", until=clock.now() + 600)
    assert await denylist.is_denied(jti="any", sid="sid-1")
    assert not await denylist.is_denied(jti="any", sid="sid-2")
    assert not await denylist.is_denied(jti=None, sid=None)


async def test_should_keep_the_later_expiry_when_denied_twice(
    denylist: Denylist, clock: FixedClock
) -> None:
    now = clock.now()
    await denylist.deny_token("jti-1", until=now + 600)
    await denylist.deny_token("jti-1", until=now + 1)
    if not isinstance(denylist, RedisDenylist):
        clock.advance(5)
    assert await denylist.is_denied(jti="jti-1", sid=None)


async def test_should_ignore_an_expiry_in_the_past(denylist: Denylist, clock: FixedClock) -> None:
    await denylist.deny_token("old", until=clock.now() - 1)
    assert not await denylist.is_denied(jti="old", sid=None)


async def test_should_let_redis_expire_entries_at_the_tokens_exp(redis_url: str) -> None:
    import time

    client = redis_client(redis_url)
    prefix = f"jwtwarden-test-{secrets.token_hex(4)}:"
    try:
        deny = RedisDenylist(client, prefix=prefix)
        until = time.time() + 100
        await deny.deny_token("abc", until=until)
        expire_ms = await client.pexpiretime(prefix + "deny:j:abc")
        assert abs(expire_ms / 1000 - until) < 1.0
    finally:
        await client.delete(prefix + "deny:j:abc")
        await client.aclose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_should_fail_closed_when_redis_is_unreachable() -> None:
    client = redis_client(f"redis://127.0.0.1:{_closed_port()}/0")
    try:
        deny = RedisDenylist(client)
        with pytest.raises(RevocationUnavailableError):
            await deny.is_denied(jti="x", sid="y")
        with pytest.raises(RevocationUnavailableError):
            await deny.deny_token("x", until=4102444800)
    finally:
        await client.aclose()


def test_should_fail_closed_in_the_sync_redis_adapter_too() -> None:
    import redis

    client = redis.Redis.from_url(
        f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=0.5
    )
    with pytest.raises(RevocationUnavailableError):
        SyncRedisDenylist(client).contains(jti="x", sid=None)


def test_should_sweep_expired_entries_from_memory(clock: FixedClock) -> None:
    deny = MemoryDenylist(clock=clock)
    for i in range(1000):
        deny.add_token(f"j{i}", until=NOW + 1)
    clock.advance(2)
    for i in range(100):
        deny.add_token(f"fresh{i}", until=NOW + 100)
    assert len(deny) < 200
    assert deny.contains(jti="fresh99", sid=None) and not deny.contains(jti="j1", sid=None)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_should_list_every_live_sql_entry_once_across_pages_of_shared_expiries(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> None:
    # Pages of 2 rows over 7 live entries, 5 of them expiring in the same second (every
    # token of one second): the page boundary falls inside the ties, twice.
    with migrated(kind, request, tmp_path) as db:
        engine = create_engine(db.url, schema=db.schema)
        try:
            denylist = SQLDenylist(engine, clock=clock)
            expected = {("j", f"jti{i}", NOW + 100) for i in range(5)}
            expected |= {("s", "sid-a", NOW + 50), ("s", "sid-b", NOW + 200)}
            for entry_kind, value, until in expected:
                await (denylist.deny_token if entry_kind == "j" else denylist.deny_session)(
                    value, until=until
                )
            await denylist.deny_token("long-gone", until=NOW + 10)
            clock.set(NOW + 20)
            listed = [entry async for entry in denylist.live_entries(batch=2)]
        finally:
            await engine.dispose()
    assert sorted(listed) == sorted(expected)
    assert [until for _, _, until in listed] == sorted(until for _, _, until in listed)
