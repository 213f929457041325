"""The session on every request, through the framework edges (FastAPI and Flask), in both
modes: the whole session in the cookie (opened values cached until their sealed expiry) and
the server-side store (the cookie holds a sealed id). Revocation, expiry, a store that is
down, and a cache that stays invisible, each a named test. No network: the provider is
already discovered (``_offline``)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from flask import Flask

from jwtwarden import FixedClock
from jwtwarden.stores.memory import MemoryWebSessionStore, SyncMemoryWebSessionStore
from jwtwarden.stores.redis import redis_client
from jwtwarden.stores.redis_websessions import RedisWebSessionStore
from jwtwarden.webapp import SESSION_COOKIE, WebSession, WebUser
from jwtwarden.webapp._opened import OpenedCookies
from jwtwarden.webapp.flask import FlaskWebApp
from jwtwarden.webapp.flask import require_user as flask_require_user
from jwtwarden.webapp.starlette import WebApp, require_user
from tests._services import free_port

from ._offline import BASE, Offline

NOW = float(int(time.time()))


def fastapi_app(offline: Offline) -> FastAPI:
    app = FastAPI()
    WebApp(rp=offline.rp).install(app)

    @app.get("/")
    async def home() -> HTMLResponse:
        return HTMLResponse("<p>public</p>")

    @app.get("/me")
    async def me(user: WebUser = Depends(require_user)) -> dict[str, Any]:
        groups = user.claims.get("groups")
        answer = {"email": user.email, "groups": list(groups) if groups else None}
        if isinstance(groups, list):
            groups.append("admin")  # a careless handler: must not leak into the next request
        return answer

    return app


async def get(app: Any, path: str, cookie: str | None) -> httpx.Response:
    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        return await client.get(path, headers=headers)


def offline_for(mode: str, clock: FixedClock) -> Offline:
    store = MemoryWebSessionStore(clock=clock) if mode == "store" else None
    return Offline(clock, store=store, lifetime=3600)


@pytest.fixture(params=["cookie", "store"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_should_show_the_user_of_a_live_session_and_never_let_a_cache_keep_the_page(
    mode: str,
) -> None:
    offline = offline_for(mode, FixedClock(NOW))
    cookie, _ = await offline.rp.aseal_session(offline.session())
    app = fastapi_app(offline)
    for _ in range(3):  # cold, then from the opened-cookie cache (cookie mode)
        response = await get(app, "/me", cookie)
        assert response.status_code == 200
        assert response.json()["email"] == "alice@example.test"
        assert response.headers["cache-control"] == "no-store"


async def test_should_send_a_visitor_to_sign_in_once_the_session_lifetime_is_over(
    mode: str,
) -> None:
    clock = FixedClock(NOW)
    offline = offline_for(mode, clock)
    cookie, _ = await offline.rp.aseal_session(offline.session())
    app = fastapi_app(offline)
    assert (await get(app, "/me", cookie)).status_code == 200
    clock.advance(3600)  # the sealed expiry: the cached opening must not outlive it
    response = await get(app, "/me", cookie)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


async def test_should_never_let_a_handler_change_the_claims_of_the_next_request(
    mode: str,
) -> None:
    offline = offline_for(mode, FixedClock(NOW))
    cookie, _ = await offline.rp.aseal_session(offline.session(groups=["staff"]))
    app = fastapi_app(offline)
    for _ in range(3):
        assert (await get(app, "/me", cookie)).json()["groups"] == ["staff"]


async def test_should_refuse_a_tampered_cookie_even_after_the_real_one_was_cached() -> None:
    offline = offline_for("cookie", FixedClock(NOW))
    cookie, _ = await offline.rp.aseal_session(offline.session())
    app = fastapi_app(offline)
    assert (await get(app, "/me", cookie)).status_code == 200
    last = "A" if cookie[-1] != "A" else "Q"
    assert (await get(app, "/me", cookie[:-1] + last)).status_code == 303
    assert (await get(app, "/me", cookie + "A")).status_code == 303


async def test_should_end_a_stored_session_at_its_next_request_when_it_is_revoked() -> None:
    offline = offline_for("store", FixedClock(NOW))
    session = offline.session()
    cookie, _ = await offline.rp.aseal_session(session)
    app = fastapi_app(offline)
    assert (await get(app, "/me", cookie)).status_code == 200
    await offline.rp.adelete_session(session.sid)
    response = await get(app, "/me", cookie)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_should_answer_503_and_keep_the_cookie_when_the_store_is_down() -> None:
    client = redis_client(f"redis://127.0.0.1:{free_port()}/11")  # nothing listens there
    try:
        offline = Offline(FixedClock(NOW), store=RedisWebSessionStore(client))
        cookie = offline.rp.sealer.seal(SESSION_COOKIE, {"k": "some-session"}, max_age=60)
        app = fastapi_app(offline)
        response = await get(app, "/me", cookie)
        assert response.status_code == 503
        assert "Sessions are unavailable" in response.text
        assert "set-cookie" not in response.headers  # the session is not ended
        assert (await get(app, "/", cookie)).status_code == 200  # public pages still work
    finally:
        await client.aclose()


def test_should_end_a_flask_session_kept_in_a_sync_store_when_it_is_revoked() -> None:
    offline = Offline(FixedClock(NOW), store=SyncMemoryWebSessionStore(clock=FixedClock(NOW)))
    app = Flask(__name__)
    FlaskWebApp(rp=offline.rp).init_app(app)

    @app.get("/me")
    @flask_require_user
    def me(user: WebUser) -> dict[str, Any]:
        return {"email": user.email}

    session = offline.session()
    cookie, _ = offline.rp.seal_session(session)
    client = app.test_client()
    client.set_cookie(SESSION_COOKIE, cookie, domain="localhost")
    assert client.get("/me").get_json() == {"email": "alice@example.test"}
    offline.rp.delete_session(session.sid)
    assert client.get("/me").status_code == 303


def test_should_keep_at_most_max_entries_opened_cookies() -> None:
    offline = Offline(FixedClock(NOW))
    cache = OpenedCookies(offline.clock, max_entries=2)
    sessions = [offline.session() for _ in range(3)]
    for i, session in enumerate(sessions):
        cache.put(OpenedCookies.key(f"value-{i}"), session, NOW + 60)
    assert len(cache) == 2
    assert cache.get(OpenedCookies.key("value-0")) is None  # the least recently used left
    assert cache.get(OpenedCookies.key("value-2")) is sessions[2]


def test_should_never_serve_an_opened_cookie_at_or_past_its_sealed_expiry() -> None:
    clock = FixedClock(NOW)
    offline = Offline(clock, lifetime=3600)
    cookie, _ = offline.rp.seal_session(offline.session())
    assert offline.rp.open_session(cookie) is not None  # cold: opened and cached
    clock.advance(3599)
    assert offline.rp.open_session(cookie) is not None  # from the cache
    assert len(offline.rp.jar._opened) == 1
    clock.advance(1)  # the sealed expiry: the cold path refuses now, and so must the cache
    assert offline.rp.open_session(cookie) is None
    assert len(offline.rp.jar._opened) == 0


async def test_should_end_a_session_at_its_access_tokens_expiry_though_its_cookie_is_cached(
    mode: str,
) -> None:
    clock = FixedClock(NOW)
    store = MemoryWebSessionStore(clock=clock) if mode == "store" else None
    offline = Offline(clock, store=store, lifetime=7200)  # the session outlives the token
    session = WebSession.new(
        claims={"sub": "alice", "email": "alice@example.test"},
        access_token=offline.access_token(lifetime=600),
        access_expires_at=NOW + 600,
        refresh_token=None,  # nothing to refresh with: the session ends with its token
        id_token=None,
        now=NOW,
    )
    cookie, _ = await offline.rp.aseal_session(session)
    app = fastapi_app(offline)
    for _ in range(2):  # cold, then from the opened-cookie cache (cookie mode)
        assert (await get(app, "/me", cookie)).status_code == 200
    assert len(offline.rp.jar._opened) == (1 if mode == "cookie" else 0)
    clock.advance(600)
    response = await get(app, "/me", cookie)
    assert response.status_code == 401
    assert "Your session has ended" in response.text
    assert f"{SESSION_COOKIE}=; Max-Age=0" in response.headers["set-cookie"]
