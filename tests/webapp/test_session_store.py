"""The server-side session store: the port's contract for every adapter (memory and Redis,
sync and async, real Redis on database 11 under a prefix of the test's own), and the session
jar in store mode: the cookie carries only a sealed id, the record is sealed and bound to its
key, deleting it ends the session, sessions end at their absolute lifetime, and a session too
large for a cookie fits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import redis

from jwtwarden import FixedClock
from jwtwarden.errors import SessionTooLargeError, StoreUnavailableError
from jwtwarden.stores.memory import MemoryWebSessionStore, SyncMemoryWebSessionStore
from jwtwarden.stores.redis import redis_client
from jwtwarden.stores.redis_websessions import RedisWebSessionStore, SyncRedisWebSessionStore
from jwtwarden.webapp import SESSION_COOKIE, CookieSealer
from jwtwarden.webapp.jar import store_key
from jwtwarden.webapp.store import SyncWebSessionStore, WebSessionStore
from tests._services import free_port

from ._offline import SESSION_SECRET, Offline

NOW = 1_900_000_000.0


class SyncAsAsync:
    """A sync store driven through the async contract, so one table of tests covers both."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def load(self, key: str) -> str | None:
        return self.store.load(key)  # type: ignore[no-any-return]

    async def save(self, key: str, value: str, *, until: float) -> None:
        self.store.save(key, value, until=until)

    async def replace(self, key: str, value: str, *, until: float) -> bool:
        return self.store.replace(key, value, until=until)  # type: ignore[no-any-return]

    async def delete(self, key: str) -> None:
        self.store.delete(key)


@pytest.fixture(params=["memory", "sync-memory", "redis", "sync-redis"])
def store(request: pytest.FixtureRequest, prefix: str) -> Any:
    """Every adapter behind the async contract (real time: Redis expires keys by its clock)."""
    if request.param == "memory":
        return MemoryWebSessionStore()
    if request.param == "sync-memory":
        return SyncAsAsync(SyncMemoryWebSessionStore())
    if request.param == "redis":
        return RedisWebSessionStore(request.getfixturevalue("async_redis"), prefix=prefix)
    return SyncAsAsync(
        SyncRedisWebSessionStore(request.getfixturevalue("sync_redis"), prefix=prefix)
    )


# --- the port's contract ----------------------------------------------------------------------


async def test_should_load_what_was_saved_and_nothing_for_an_unknown_key(store: Any) -> None:
    await store.save("a", "sealed-a", until=time.time() + 60)
    assert await store.load("a") == "sealed-a"
    assert await store.load("b") is None


async def test_should_replace_a_saved_value(store: Any) -> None:
    await store.save("a", "first", until=time.time() + 60)
    await store.save("a", "second", until=time.time() + 60)
    assert await store.load("a") == "second"


async def test_should_forget_a_deleted_key_and_delete_an_unknown_one_quietly(store: Any) -> None:
    await store.save("a", "sealed", until=time.time() + 60)
    await store.delete("a")
    await store.delete("never-saved")
    assert await store.load("a") is None


async def test_should_give_nothing_once_the_records_time_has_passed(store: Any) -> None:
    await store.save("soon", "sealed", until=time.time() + 0.3)
    await store.save("past", "sealed", until=time.time() - 1)
    assert await store.load("past") is None
    assert await store.load("soon") == "sealed"
    await asyncio.sleep(0.5)
    assert await store.load("soon") is None


async def test_should_replace_only_a_live_record_and_give_it_the_new_time(store: Any) -> None:
    await store.save("a", "first", until=time.time() + 0.3)
    assert await store.replace("a", "refreshed", until=time.time() + 60) is True
    await asyncio.sleep(0.5)  # past the first time: the replacement's own time counts
    assert await store.load("a") == "refreshed"


async def test_should_never_create_a_record_by_replacing(store: Any) -> None:
    await store.save("deleted", "sealed", until=time.time() + 60)
    await store.delete("deleted")  # a sign-out: the refresh after it must not undo it
    await store.save("expired", "sealed", until=time.time() + 0.2)
    await asyncio.sleep(0.4)
    for key in ("never-saved", "deleted", "expired"):
        assert await store.replace(key, "refreshed", until=time.time() + 60) is False
        assert await store.load(key) is None
    await store.save("ending", "sealed", until=time.time() + 60)
    assert await store.replace("ending", "refreshed", until=time.time() - 1) is False
    assert await store.load("ending") is None  # a time already past ends it, as save does


def test_should_satisfy_the_port_protocols() -> None:
    assert isinstance(MemoryWebSessionStore(), WebSessionStore)
    assert isinstance(SyncMemoryWebSessionStore(), SyncWebSessionStore)


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_should_raise_store_unavailable_when_redis_does_not_answer(kind: str) -> None:
    url = f"redis://127.0.0.1:{free_port()}/11"  # nothing listens there
    if kind == "async":
        client = redis_client(url)
        try:
            with pytest.raises(StoreUnavailableError, match="session store"):
                await RedisWebSessionStore(client).load("a")
        finally:
            await client.aclose()
    else:
        sync = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            with pytest.raises(StoreUnavailableError, match="session store"):
                SyncRedisWebSessionStore(sync).save("a", "v", until=time.time() + 60)
        finally:
            sync.close()


# --- the jar in store mode ----------------------------------------------------------------------


def _memory(clock: FixedClock) -> tuple[Offline, MemoryWebSessionStore]:
    store = MemoryWebSessionStore(clock=clock)
    return Offline(clock, store=store, lifetime=3600), store


async def test_should_put_only_a_sealed_session_id_in_the_cookie() -> None:
    offline, _ = _memory(FixedClock(NOW))
    session = offline.session()
    cookie, max_age = await offline.rp.aseal_session(session)
    assert max_age == 3600
    assert CookieSealer(SESSION_SECRET).open(SESSION_COOKIE, cookie) == {"k": session.sid}
    opened = await offline.rp.aopen_session(cookie)
    assert opened is not None
    assert (opened.sid, opened.access_token, dict(opened.claims)) == (
        session.sid,
        session.access_token,
        dict(session.claims),
    )


async def test_should_keep_the_record_sealed_under_a_digest_of_the_session_id() -> None:
    offline, store = _memory(FixedClock(NOW))
    session = offline.session()
    await offline.rp.aseal_session(session)
    records = dict(store.sync._records)
    assert list(records) == [store_key(session.sid)]
    ((value, until),) = records.values()
    assert until == NOW + 3600
    for secret in (session.sid, session.access_token, session.refresh_token, "alice"):
        assert secret not in value
        assert secret not in store_key(session.sid)


async def test_should_refuse_a_record_moved_under_another_sessions_key() -> None:
    offline, store = _memory(FixedClock(NOW))
    victim, attacker = offline.session(), offline.session(email="mallory@example.test")
    victim_cookie, _ = await offline.rp.aseal_session(victim)
    await offline.rp.aseal_session(attacker)
    # Someone who can write the store copies the attacker's record over the victim's key.
    attackers_record = await store.load(store_key(attacker.sid))
    assert attackers_record is not None
    await store.save(store_key(victim.sid), attackers_record, until=NOW + 60)
    assert await offline.rp.aopen_session(victim_cookie) is None


async def test_should_end_a_session_everywhere_when_it_is_deleted() -> None:
    offline, store = _memory(FixedClock(NOW))
    session = offline.session()
    cookie, _ = await offline.rp.aseal_session(session)
    other_process = Offline(offline.clock, store=store)  # same store, another RelyingParty
    assert await other_process.rp.aopen_session(cookie) is not None
    await offline.rp.adelete_session(session.sid)
    assert await offline.rp.aopen_session(cookie) is None
    assert await other_process.rp.aopen_session(cookie) is None


async def test_should_end_a_stored_session_at_its_absolute_lifetime() -> None:
    clock = FixedClock(NOW)
    offline, _ = _memory(clock)
    cookie, _ = await offline.rp.aseal_session(offline.session())
    clock.advance(3599)
    assert await offline.rp.aopen_session(cookie) is not None
    clock.advance(1)
    assert await offline.rp.aopen_session(cookie) is None


async def test_should_see_a_refreshed_session_through_the_old_cookie() -> None:
    offline, _ = _memory(FixedClock(NOW))
    session = offline.session()
    old_cookie, _ = await offline.rp.aseal_session(session)
    refreshed = session.refreshed(
        access_token=offline.access_token(jti="j2"),
        access_expires_at=NOW + 7200,
        refresh_token="n" * 43,
    )
    await offline.rp.aseal_session(refreshed)
    opened = await offline.rp.aopen_session(old_cookie)
    assert opened is not None and opened.refresh_token == "n" * 43


async def test_should_keep_a_session_too_large_for_a_cookie_in_the_store() -> None:
    offline, _ = _memory(FixedClock(NOW))
    big = offline.session(groups=[f"group-{i:04d}" for i in range(600)])
    with pytest.raises(SessionTooLargeError):
        Offline(FixedClock(NOW)).rp.seal_session(big)  # cookie mode: over 4 KB
    cookie, _ = await offline.rp.aseal_session(big)
    assert len(cookie) < 200
    opened = await offline.rp.aopen_session(cookie)
    assert opened is not None and len(opened.claims["groups"]) == 600


async def test_should_refuse_a_session_over_the_stores_limit() -> None:
    offline, _ = _memory(FixedClock(NOW))
    huge = offline.session(blob="x" * 70_000)
    with pytest.raises(SessionTooLargeError, match="limit is 65536"):
        await offline.rp.aseal_session(huge)


async def test_should_not_take_a_cookie_of_one_mode_for_a_session_of_the_other() -> None:
    clock = FixedClock(NOW)
    cookie_mode = Offline(clock)
    store_mode, _ = _memory(clock)
    session = cookie_mode.session()
    full_cookie, _ = cookie_mode.rp.seal_session(session)
    id_cookie, _ = await store_mode.rp.aseal_session(session)
    assert await store_mode.rp.aopen_session(full_cookie) is None
    assert cookie_mode.rp.open_session(id_cookie) is None


def test_should_serve_the_sync_calls_from_a_sync_store(sync_redis: redis.Redis, prefix: str):
    store = SyncRedisWebSessionStore(sync_redis, prefix=prefix)
    offline = Offline(FixedClock(time.time()), store=store)
    session = offline.session()
    cookie, _ = offline.rp.seal_session(session)
    opened = offline.rp.open_session(cookie)
    assert opened is not None and opened.sid == session.sid
    assert sync_redis.pttl(prefix + "web:" + store_key(session.sid)) > 3_500_000
    offline.rp.delete_session(session.sid)
    assert offline.rp.open_session(cookie) is None


class SaveOnlyStore:
    """A store of the port before ``replace`` (a third party's, say)."""

    async def load(self, key: str) -> str | None:
        return None

    async def save(self, key: str, value: str, *, until: float) -> None:
        return None

    async def delete(self, key: str) -> None:
        return None


def test_should_refuse_a_store_that_cannot_replace_without_creating() -> None:
    # Refreshing with save would re-create a session signed out during the refresh.
    assert not isinstance(SaveOnlyStore(), WebSessionStore)
    with pytest.raises(TypeError, match=r"no replace\(key, value, \*, until\)"):
        Offline(FixedClock(NOW), store=SaveOnlyStore())


async def test_should_refuse_the_wrong_kind_of_call_for_the_store() -> None:
    from jwtwarden.webapp.flask import FlaskWebApp
    from jwtwarden.webapp.starlette import WebApp

    sync_mode = Offline(FixedClock(NOW), store=SyncMemoryWebSessionStore())
    cookie, _ = sync_mode.rp.seal_session(sync_mode.session())
    with pytest.raises(TypeError, match="store is sync"):
        await sync_mode.rp.aopen_session(cookie)
    with pytest.raises(TypeError, match="async WebSessionStore"):
        WebApp(rp=sync_mode.rp)
    async_mode = Offline(FixedClock(NOW), store=MemoryWebSessionStore())
    with pytest.raises(TypeError, match="store is async"):
        async_mode.rp.open_session(cookie)
    with pytest.raises(TypeError, match="SyncWebSessionStore"):
        FlaskWebApp(rp=async_mode.rp)
    with pytest.raises(TypeError, match="cookies"):
        Offline(FixedClock(NOW)).rp.delete_session("sid")
