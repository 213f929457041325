"""Sign-out through both framework edges (FastAPI and Flask). The POST is refused without the
session's CSRF token or from another origin, and the session stays; an accepted sign-out
clears the cookie and, with a server-side store, ends the session for its old cookie too,
opened (and, in cookie mode, cached) before: in this process, and in another one sharing the
store on real Redis (database 11, a prefix of the test's own). A sign-out landing while this
process refreshes the same session stays a sign-out (the refresh only replaces the record),
and a plain refresh replaces the record with the session's expiry kept, on the memory store
and on Redis. No network otherwise: the provider is already discovered (``_offline``) and its
token endpoint is a fake in process (``TokenEndpoint``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import pytest
import redis
from fastapi import Depends, FastAPI
from flask import Flask

from jwtwarden import FixedClock
from jwtwarden.stores.memory import MemoryWebSessionStore, SyncMemoryWebSessionStore
from jwtwarden.stores.redis_websessions import RedisWebSessionStore, SyncRedisWebSessionStore
from jwtwarden.webapp import SESSION_COOKIE, WebSession, WebUser
from jwtwarden.webapp.flask import FlaskWebApp
from jwtwarden.webapp.flask import require_user as flask_require_user
from jwtwarden.webapp.jar import store_key
from jwtwarden.webapp.starlette import WebApp, require_user

from ._offline import BASE, Offline

NOW = float(int(time.time()))  # real time: Redis expires the records by its own clock


class Answer(NamedTuple):
    status: int
    location: str | None
    cookies: list[str]


class FastAPIEdge:
    def __init__(self, offline: Offline) -> None:
        self.offline = offline
        self.app = FastAPI()
        WebApp(rp=offline.rp).install(self.app)

        @self.app.get("/me")
        async def me(user: WebUser = Depends(require_user)) -> dict[str, Any]:
            return {"email": user.email}

    async def send(self, method: str, path: str, cookie: str, **options: Any) -> Answer:
        headers = {"Cookie": f"{SESSION_COOKIE}={cookie}", **options.pop("headers", {})}
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            r = await client.request(method, path, headers=headers, **options)
        return Answer(r.status_code, r.headers.get("location"), r.headers.get_list("set-cookie"))


class FlaskEdge:
    def __init__(self, offline: Offline) -> None:
        self.offline = offline
        self.app = Flask(__name__)
        FlaskWebApp(rp=offline.rp).init_app(self.app)

        @self.app.get("/me")
        @flask_require_user
        def me(user: WebUser) -> dict[str, Any]:
            return {"email": user.email}

    async def send(self, method: str, path: str, cookie: str, **options: Any) -> Answer:
        client = self.app.test_client()  # a client per request: no cookie jar in between
        client.set_cookie(SESSION_COOKIE, cookie, domain="localhost")
        r = client.open(path, method=method, **options)
        return Answer(r.status_code, r.headers.get("Location"), r.headers.getlist("Set-Cookie"))


Edge = FastAPIEdge | FlaskEdge


def edge_for(framework: str, mode: str) -> Edge:
    clock = FixedClock(NOW)
    if framework == "fastapi":
        store: Any = MemoryWebSessionStore(clock=clock) if mode == "store" else None
        return FastAPIEdge(Offline(clock, store=store))
    store = SyncMemoryWebSessionStore(clock=clock) if mode == "store" else None
    return FlaskEdge(Offline(clock, store=store))


async def signed_in(edge: Edge) -> tuple[WebSession, str]:
    session = edge.offline.session()
    cookie, _ = await _seal(edge, session)
    for _ in range(2):  # cold, then (cookie mode) from the opened-cookie cache
        assert (await edge.send("GET", "/me", cookie)).status == 200
    return session, cookie


async def _seal(edge: Edge, session: WebSession) -> tuple[str, int]:
    if isinstance(edge, FlaskEdge):
        return edge.offline.rp.seal_session(session)
    return await edge.offline.rp.aseal_session(session)


def sign_out(edge: Edge, cookie: str, token: str | None, **headers: str) -> Any:
    data = {} if token is None else {"csrf_token": token}
    return edge.send("POST", "/logout", cookie, data=data, headers=headers)


@pytest.fixture(params=["fastapi", "flask"])
def framework(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["cookie", "store"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


REFUSED = [
    pytest.param(None, {"Origin": BASE}, id="no token"),
    pytest.param("guessed", {"Origin": BASE}, id="a guessed token"),
    pytest.param("another session", {"Origin": BASE}, id="the token of another session"),
    pytest.param("right", {"Origin": "https://evil.example"}, id="from another origin"),
    pytest.param("right", {"Origin": "null"}, id="from an opaque origin"),
    pytest.param("right", {}, id="with neither Origin nor Referer"),
]


@pytest.mark.parametrize(("token", "headers"), REFUSED)
async def test_should_refuse_a_sign_out_without_csrf_proof_and_keep_the_session(
    framework: str, mode: str, token: str | None, headers: dict[str, str]
) -> None:
    edge = edge_for(framework, mode)
    session, cookie = await signed_in(edge)
    csrf = edge.offline.rp.csrf
    if token == "right":
        token = csrf.token(session.sid)
    elif token == "another session":
        token = csrf.token(edge.offline.session().sid)
    answer = await sign_out(edge, cookie, token, **headers)
    assert answer.status == 403
    assert not any(c.startswith(f"{SESSION_COOKIE}=;") for c in answer.cookies)
    assert (await edge.send("GET", "/me", cookie)).status == 200  # still signed in


async def test_should_sign_out_with_the_sessions_token_and_clear_the_cookie(
    framework: str, mode: str
) -> None:
    edge = edge_for(framework, mode)
    session, cookie = await signed_in(edge)
    token = edge.offline.rp.csrf.token(session.sid)
    answer = await sign_out(edge, cookie, token, Origin=BASE)
    assert answer.status == 303
    assert answer.location == BASE + "/"
    assert f"{SESSION_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax" in (
        answer.cookies
    )
    if mode == "store":
        # The record is gone: the old cookie, replayed, is no session any more.
        again = await edge.send("GET", "/me", cookie)
        assert again.status == 303
        assert again.location is not None and again.location.startswith("/login")


# --- another process sharing the store on Redis --------------------------------------------------


async def test_should_end_a_session_signed_out_in_another_process_sharing_redis(
    async_redis: Any, sync_redis: redis.Redis, prefix: str
) -> None:
    clock = FixedClock(NOW)
    # Two processes of one application: one on FastAPI, one on Flask, each its own client.
    here = FastAPIEdge(Offline(clock, store=RedisWebSessionStore(async_redis, prefix=prefix)))
    store = SyncRedisWebSessionStore(sync_redis, prefix=prefix)
    there = FlaskEdge(Offline(clock, store=store, key=here.offline.key))  # the same provider
    session, cookie = await signed_in(here)
    assert (await there.send("GET", "/me", cookie)).status == 200
    token = there.offline.rp.csrf.token(session.sid)
    assert (await sign_out(there, cookie, token, Origin=BASE)).status == 303
    answer = await here.send("GET", "/me", cookie)
    assert answer.status == 303
    assert answer.location is not None and answer.location.startswith("/login")


# --- a sign-out while this process refreshes the same session -----------------------------------


class TokenEndpoint:
    """The provider's token endpoint in this process (``rp._http``): it answers a refresh with
    new tokens, after running ``during``, what happens elsewhere while the refresh is in flight."""

    def __init__(self, offline: Offline, during: Any = None) -> None:
        self.offline = offline
        self.during = during
        self.calls = 0

    def post(self, effect: Any) -> httpx.Response:
        self.calls += 1
        if self.during is not None:
            self.during()
        tokens = {
            "access_token": self.offline.access_token(jti=f"refreshed-{self.calls}"),
            "token_type": "Bearer",
            "refresh_token": "n" * 43,
        }
        return httpx.Response(200, json=tokens)

    async def apost(self, effect: Any) -> httpx.Response:
        return self.post(effect)


class Shared(NamedTuple):
    """An edge whose store another process shares, and that process's ``RelyingParty``."""

    edge: Edge
    other: Offline
    record: Any  # the record of a session id, read by the other process (or None)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def flask_redis(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def shared(request: pytest.FixtureRequest, framework: str, backend: str) -> Shared:
    """An edge on ``backend``, and another process sharing its store."""
    clock = FixedClock(NOW)
    other_store: Any
    if backend == "memory":
        memory = MemoryWebSessionStore(clock=clock)
        store: Any = memory if framework == "fastapi" else memory.sync
        other_store = memory.sync  # another RelyingParty on the same records
    else:
        prefix = request.getfixturevalue("prefix")
        request.getfixturevalue("async_redis")  # drops the test's keys afterwards
        if framework == "fastapi":
            store = RedisWebSessionStore(request.getfixturevalue("async_redis"), prefix=prefix)
        else:
            store = SyncRedisWebSessionStore(request.getfixturevalue("flask_redis"), prefix=prefix)
        # Another process: its own client on the same database and prefix.
        other_store = SyncRedisWebSessionStore(request.getfixturevalue("sync_redis"), prefix=prefix)
    offline = Offline(clock, store=store)
    edge: Edge = FastAPIEdge(offline) if framework == "fastapi" else FlaskEdge(offline)
    other = Offline(clock, store=other_store, key=offline.key)
    return Shared(edge, other, lambda sid: other_store.load(store_key(sid)))


def due_session(offline: Offline) -> WebSession:
    """A session whose access token is due: its next request refreshes it."""
    return WebSession.new(
        claims={"sub": "alice", "email": "alice@example.test"},
        access_token=offline.access_token(lifetime=10),
        access_expires_at=NOW + 10,  # within the 30 s refresh margin
        refresh_token="r" * 43,
        id_token=None,
        now=NOW,
    )


async def test_should_keep_a_session_signed_out_while_its_refresh_was_in_flight(
    shared: Shared,
) -> None:
    edge, other, record = shared
    session = due_session(edge.offline)
    cookie, _ = await _seal(edge, session)
    assert record(session.sid) is not None
    # The sign-out lands (another tab, another process, a back-channel logout) after this
    # process has sent the refresh and before its answer is saved.
    endpoint = TokenEndpoint(edge.offline, lambda: other.rp.delete_session(session.sid))
    edge.offline.rp._http = endpoint  # type: ignore[assignment]
    answer = await edge.send("GET", "/me", cookie)
    assert endpoint.calls == 1
    assert answer.status == 303  # as for any deleted session: sign in again
    assert answer.location is not None and answer.location.startswith("/login")
    assert f"{SESSION_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax" in (
        answer.cookies
    )
    assert record(session.sid) is None  # the refresh did not bring the record back
    again = await edge.send("GET", "/me", cookie)
    assert again.status == 303
    assert again.location is not None and again.location.startswith("/login")
    assert record(session.sid) is None
    assert endpoint.calls == 1


async def test_should_replace_the_record_on_a_refresh_and_keep_the_sessions_expiry(
    request: pytest.FixtureRequest, shared: Shared, backend: str
) -> None:
    edge, other, _ = shared
    session = due_session(edge.offline)
    cookie, max_age = await _seal(edge, session)
    assert max_age == 3600
    endpoint = TokenEndpoint(edge.offline)
    edge.offline.rp._http = endpoint  # type: ignore[assignment]
    answer = await edge.send("GET", "/me", cookie)
    assert (answer.status, endpoint.calls) == (200, 1)
    (set_cookie,) = [c for c in answer.cookies if c.startswith(f"{SESSION_COOKIE}=")]
    assert "; Max-Age=3600;" in set_cookie  # the session's absolute end, not a new one
    # The record was replaced in place: the other process (and the old cookie) see it.
    opened = other.rp.open_session(cookie)
    assert opened is not None
    assert (opened.sid, opened.refresh_token) == (session.sid, "n" * 43)
    assert opened.created_at == session.created_at
    key = store_key(session.sid)
    if backend == "memory":
        store: Any = edge.offline.rp.jar.store
        records = (store.sync if isinstance(store, MemoryWebSessionStore) else store)._records
        assert list(records) == [key]
        assert records[key][1] == NOW + 3600
    else:
        client = request.getfixturevalue("sync_redis")
        prefix = request.getfixturevalue("prefix")
        assert client.pexpiretime(prefix + "web:" + key) == int((NOW + 3600) * 1000)
        assert len(list(client.scan_iter(match=prefix + "*"))) == 1
    again = await edge.send("GET", "/me", cookie)  # the old cookie: the refreshed session
    assert (again.status, endpoint.calls) == (200, 1)
