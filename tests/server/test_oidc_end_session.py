"""``GET/POST /oauth/logout`` (OpenID Connect RP-Initiated Logout 1.0), in process over the
ASGI transport with SQLite: the hint, the exact post-logout redirect URI, state, the
confirmation page and its CSRF defence, and the attacks, each a named test."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from jwtwarden import FixedClock
from jwtwarden.oauth.id_tokens import IDTokenRequest
from jwtwarden.oauth.signin import SignInSession, new_signin_token
from jwtwarden.server.app import create_app
from jwtwarden.server.runtime import Runtime
from jwtwarden.server.settings import Settings
from jwtwarden.server.signin_state import SIGNIN_COOKIE

from .support import App

PASSWORD = "a perfectly long password"
EMAIL = "ada@example.test"
BASE = "http://127.0.0.1:8000"
BYE = "https://rp.example.test/signed-out"
BYE_WITH_QUERY = "https://rp.example.test/bye?from=op"


@dataclass
class World:
    app: App
    clock: FixedClock
    client_id: str
    other_client_id: str


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = FixedClock(time.time())
    settings = Settings(data_dir=tmp_path / "data", scopes="openid,profile,email,read", issuer=BASE)
    app = App(create_app(settings, runtime=Runtime(settings, clock=clock)))
    async with app.app.router.lifespan_context(app.app):
        runtime = app.runtime
        await runtime.service.create_user(EMAIL, PASSWORD)
        rp = await runtime.registry.create(
            name="RP",
            redirect_uris=["https://rp.example.test/cb"],
            post_logout_redirect_uris=[BYE, BYE_WITH_QUERY],
        )
        other = await runtime.registry.create(
            name="Other", redirect_uris=["https://other.example.test/cb"]
        )
        yield World(app, clock, rp.client.client_id, other.client.client_id)


async def _signed_in(world: World, client_id: str | None = None) -> tuple[Any, str]:
    """A browser sign-in session, a refresh session started under it (as a code exchange
    links them), and the ID token naming the sign-in (sid) for ``client_id``."""
    pair, hint, _ = await _signed_in_with_cookie(world, client_id)
    return pair, hint


async def _signed_in_with_cookie(
    world: World, client_id: str | None = None
) -> tuple[Any, str, str]:
    runtime = world.app.runtime
    now = world.clock.now()
    cookie, digest = new_signin_token()
    user = await runtime.users.user_by_email(EMAIL)
    signin = SignInSession(
        id=secrets.token_urlsafe(16),
        token_hash=digest,
        user_id=user.id,
        auth_version=user.auth_version,
        auth_time=now,
        created_at=now,
        expires_at=now + 3600,
    )
    await runtime.authorization_store.create_signin(signin)
    pair = await runtime.service.login(EMAIL, PASSWORD, scope="openid")
    await runtime.signin_links.link(signin.id, pair.session_id, expires_at=now + 86400)
    hint = runtime.id_tokens.mint(
        IDTokenRequest(
            sub=pair.user_id,
            client_id=client_id or world.client_id,
            auth_time=now,
            sid=signin.id,
            nonce="n-1",
        )
    )
    return pair, hint, cookie


async def _session_alive(world: World, pair: Any) -> bool:
    async with world.app.client() as c:
        r = await c.get("/oauth/userinfo", headers={"Authorization": f"Bearer {pair.access_token}"})
    return r.status_code == 200


def _is_error_page(r: Any) -> bool:
    return (
        r.status_code == 400
        and "location" not in r.headers
        and r.headers["content-type"].startswith("text/html")
    )


# --- with a valid hint -------------------------------------------------------------------------


async def test_should_end_the_hinted_session_and_redirect_with_the_state(world: World) -> None:
    pair, hint = await _signed_in(world)
    state = "s t&a=te/+%"
    params = {"id_token_hint": hint, "post_logout_redirect_uri": BYE, "state": state}
    async with world.app.client() as c:
        r = await c.get("/oauth/logout", params=params)
    assert r.status_code == 303
    location = urlsplit(r.headers["location"])
    assert location._replace(query="").geturl() == BYE
    assert parse_qs(location.query) == {"state": [state]}
    assert not await _session_alive(world, pair)
    refreshed = await _refresh(world, pair.refresh_token)
    assert refreshed.status_code == 400


async def _refresh(world: World, refresh_token: str) -> Any:
    async with world.app.client() as c:
        return await c.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
        )


async def test_should_keep_the_registered_uri_s_own_query_and_add_the_state(
    world: World,
) -> None:
    _, hint = await _signed_in(world)
    params = {"id_token_hint": hint, "post_logout_redirect_uri": BYE_WITH_QUERY, "state": "x"}
    async with world.app.client() as c:
        r = await c.post("/oauth/logout", data=params)
    assert r.status_code == 303
    assert r.headers["location"] == BYE_WITH_QUERY + "&state=x"


async def test_should_show_the_signed_out_page_without_a_redirect_uri(world: World) -> None:
    pair, hint = await _signed_in(world)
    async with world.app.client() as c:
        r = await c.get("/oauth/logout", params={"id_token_hint": hint})
    assert r.status_code == 200 and "signed out" in r.text
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert not await _session_alive(world, pair)


async def test_should_accept_an_expired_hint_of_a_recent_session(world: World) -> None:
    pair, hint = await _signed_in(world)
    world.clock.advance(world.app.runtime.settings.access_token_ttl + 120)  # hint expired
    async with world.app.client() as c:
        r = await c.get(
            "/oauth/logout", params={"id_token_hint": hint, "client_id": world.client_id}
        )
    assert r.status_code == 200 and "signed out" in r.text
    assert (await _refresh(world, pair.refresh_token)).status_code == 400  # the session ended


async def test_should_refuse_a_hint_older_than_any_session_it_could_name(world: World) -> None:
    _, hint = await _signed_in(world)
    world.clock.advance(world.app.runtime.settings.refresh_absolute_ttl + 60)
    async with world.app.client() as c:
        r = await c.get("/oauth/logout", params={"id_token_hint": hint})
    assert _is_error_page(r)


# --- attacks: the hint ---------------------------------------------------------------------------


async def test_should_refuse_the_hint_of_another_client_and_end_nothing(world: World) -> None:
    pair, hint = await _signed_in(world, world.other_client_id)
    params = {"id_token_hint": hint, "client_id": world.client_id}
    async with world.app.client() as c:
        r = await c.get("/oauth/logout", params=params)
    assert _is_error_page(r) and "id_token_hint" in r.text
    assert await _session_alive(world, pair)


async def test_should_refuse_an_access_token_as_the_hint(world: World) -> None:
    pair, _ = await _signed_in(world)
    async with world.app.client() as c:
        r = await c.get("/oauth/logout", params={"id_token_hint": pair.access_token})
    assert _is_error_page(r)
    assert await _session_alive(world, pair)


async def test_should_refuse_a_hint_with_a_tampered_payload(world: World) -> None:
    pair, hint = await _signed_in(world)
    head, payload, signature = hint.split(".")
    tampered = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    async with world.app.client() as c:
        r = await c.get("/oauth/logout", params={"id_token_hint": tampered})
    assert _is_error_page(r)
    assert await _session_alive(world, pair)


async def test_should_refuse_the_hint_of_a_disabled_client(world: World) -> None:
    pair, hint = await _signed_in(world)
    await world.app.runtime.registry.set_disabled(world.client_id, True)
    async with world.app.client() as c:
        r = await c.get("/oauth/logout", params={"id_token_hint": hint})
    assert _is_error_page(r)
    assert await _session_alive(world, pair)


# --- attacks: post_logout_redirect_uri ---------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        BYE + "/",  # trailing slash
        BYE.upper(),  # case
        "https://rp.example.test/signed-out/../evil",  # path
        BYE + "?next=https://evil.example",  # query
        BYE + "#frag",  # fragment
        "https://user@rp.example.test/signed-out",  # userinfo
        "https://rp.example.test:8443/signed-out",  # port
        "http://rp.example.test/signed-out",  # scheme
        "https://evil.example/signed-out",  # another host
        "https://rp.example.test/cb",  # a redirect_uri, not a post-logout one
    ],
)
async def test_should_show_an_error_page_never_a_redirect_for_an_unregistered_uri(
    world: World, uri: str
) -> None:
    pair, hint = await _signed_in(world)
    params = {"id_token_hint": hint, "post_logout_redirect_uri": uri}
    async with world.app.client() as c:
        r = await c.get("/oauth/logout", params=params)
    assert _is_error_page(r)
    assert await _session_alive(world, pair)  # a refused request ends nothing


async def test_should_refuse_a_redirect_uri_it_cannot_check_against_a_client(
    world: World,
) -> None:
    async with world.app.client() as c:
        r = await c.get("/oauth/logout", params={"post_logout_redirect_uri": BYE})
    assert _is_error_page(r)


async def test_should_refuse_an_unknown_client_id(world: World) -> None:
    params = {"client_id": "no-such-client", "post_logout_redirect_uri": BYE}
    async with world.app.client() as c:
        r = await c.get("/oauth/logout", params=params)
    assert _is_error_page(r)


# --- without a hint: the confirmation page ------------------------------------------------------


async def _confirmation(world: World) -> tuple[Any, dict[str, str]]:
    params = {"client_id": world.client_id, "post_logout_redirect_uri": BYE, "state": "st"}
    async with world.app.client() as c:
        r = await c.get("/oauth/logout", params=params)
    assert r.status_code == 200
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', r.text))
    return r, fields


async def test_should_ask_before_signing_out_without_a_hint(world: World) -> None:
    r, fields = await _confirmation(world)
    assert "Do you want to sign out" in r.text and "RP" in r.text
    assert set(fields) == {"csrf_token", "client_id", "post_logout_redirect_uri", "state"}
    policy = r.headers["content-security-policy"]
    assert "form-action 'self' https://rp.example.test" in policy
    assert "frame-ancestors 'none'" in policy and r.headers["x-frame-options"] == "DENY"


async def test_should_redirect_once_the_confirmation_comes_back_from_this_origin(
    world: World,
) -> None:
    _, fields = await _confirmation(world)
    async with world.app.client() as c:
        r = await c.post(
            "/oauth/logout", data={**fields, "confirm": "yes"}, headers={"Origin": BASE}
        )
    assert r.status_code == 303 and r.headers["location"] == BYE + "?state=st"


@pytest.mark.parametrize(
    ("what", "change"),
    [
        ("no csrf token", {"csrf_token": None}),
        ("a wrong csrf token", {"csrf_token": "A" * 43}),
        ("a foreign origin", {"origin": "https://evil.example"}),
        ("no origin", {"origin": None}),
    ],
)
async def test_should_refuse_a_confirmation_without_its_csrf_defence(
    world: World, what: str, change: dict[str, Any]
) -> None:
    _, fields = await _confirmation(world)
    form = {**fields, "confirm": "yes"}
    origin = change.get("origin", BASE)
    if "csrf_token" in change:
        if change["csrf_token"] is None:
            form.pop("csrf_token")
        else:
            form["csrf_token"] = change["csrf_token"]
    headers = {"Origin": origin} if origin is not None else {}
    async with world.app.client() as c:
        r = await c.post("/oauth/logout", data=form, headers=headers)
    assert r.status_code == 403, what
    assert "location" not in r.headers


# --- the browser's sign-in session ------------------------------------------------------------


async def test_should_expire_the_sign_in_cookie_when_the_hint_names_that_session(
    world: World,
) -> None:
    pair, hint, cookie = await _signed_in_with_cookie(world)
    async with world.app.client() as c:
        r = await c.get(
            "/oauth/logout",
            params={"id_token_hint": hint},
            headers={"Cookie": f"{SIGNIN_COOKIE}={cookie}"},
        )
    assert r.status_code == 200
    assert f"{SIGNIN_COOKIE}=" in r.headers["set-cookie"] and "Max-Age=0" in r.headers["set-cookie"]
    assert not await _session_alive(world, pair)


async def test_should_end_the_browser_s_sign_in_and_its_tokens_once_confirmed(
    world: World,
) -> None:
    pair, _, cookie = await _signed_in_with_cookie(world)
    jar = {"Cookie": f"{SIGNIN_COOKIE}={cookie}"}
    async with world.app.client() as c:
        page = await c.get("/oauth/logout", params={"client_id": world.client_id}, headers=jar)
        fields = dict(
            re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', page.text)
        )
        assert await _session_alive(world, pair)  # asking ends nothing
        r = await c.post(
            "/oauth/logout", data={**fields, "confirm": "yes"}, headers={"Origin": BASE, **jar}
        )
    assert r.status_code == 200 and "signed out" in r.text
    assert not await _session_alive(world, pair)
    assert (
        await world.app.runtime.authorization_store.signin_by_token(
            hashlib.sha256(cookie.encode()).digest(), now=world.clock.now()
        )
        is None
    )


async def test_should_refuse_the_csrf_token_of_no_session_when_the_browser_has_one(
    world: World,
) -> None:
    # The token a page served to a browser without a sign-in must not end another's session.
    pair, _, cookie = await _signed_in_with_cookie(world)
    _, anonymous_fields = await _confirmation(world)
    async with world.app.client() as c:
        r = await c.post(
            "/oauth/logout",
            data={**anonymous_fields, "confirm": "yes"},
            headers={"Origin": BASE, "Cookie": f"{SIGNIN_COOKIE}={cookie}"},
        )
    assert r.status_code == 403
    assert await _session_alive(world, pair)
