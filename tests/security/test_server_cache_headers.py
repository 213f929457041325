"""No cache keeps what the server tells one client (RFC 6749 5.1, RFC 9700): every response of
every route but the public documents is ``Cache-Control: no-store`` and ``Pragma: no-cache``,
successes and errors alike (400, 401, 403, 404, 405, 413, 415, 429). The routes are read from
the app's router, so a route added later without a case here fails the test."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from jwtwarden.oauth.id_tokens import IDTokenRequest
from jwtwarden.server.app import PUBLIC_PATHS, create_app

from .conftest import ADMIN, INTROSPECTION, PASSWORD, USER, App, AppFactory

Call = Callable[[App, httpx.AsyncClient], Awaitable[httpx.Response]]


def _assert_not_stored(r: httpx.Response, what: str) -> None:
    assert r.headers.get("cache-control") == "no-store", (what, r.status_code, r.headers)
    assert r.headers.get("pragma") == "no-cache", (what, r.status_code, r.headers)


def _routes(app: App) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.app.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }


async def _admin_bearer(app: App) -> dict[str, str]:
    return {"authorization": "Bearer " + (await app.login(ADMIN))["access_token"]}


async def _new_user(app: App) -> str:
    user = await app.runtime.service.create_user(f"u{secrets.token_hex(4)}@example.test", PASSWORD)
    return str(user.id)


async def _token(app: App, c: httpx.AsyncClient) -> httpx.Response:
    pair = await app.login()
    form = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    return await c.post("/oauth/token", data=form)


async def _revoke(app: App, c: httpx.AsyncClient) -> httpx.Response:
    return await c.post("/oauth/revoke", data={"token": (await app.login())["access_token"]})


async def _introspect(app: App, c: httpx.AsyncClient) -> httpx.Response:
    form = {"token": (await app.login())["access_token"]}
    return await c.post("/oauth/introspect", data=form, auth=INTROSPECTION)


async def _login(app: App, c: httpx.AsyncClient) -> httpx.Response:
    return await c.post("/auth/login", json={"email": ADMIN, "password": PASSWORD})


async def _logout(app: App, c: httpx.AsyncClient) -> httpx.Response:
    return await c.post(
        "/auth/logout", json={"refresh_token": (await app.login())["refresh_token"]}
    )


async def _password(app: App, c: httpx.AsyncClient) -> httpx.Response:
    user_id = await _new_user(app)
    user = await app.runtime.users.user_by_id(user_id)
    token = (await app.login(user.email))["access_token"]
    body = {"current_password": PASSWORD, "new_password": PASSWORD + " and more"}
    return await c.post("/auth/password", json=body, headers={"authorization": "Bearer " + token})


def _admin(method: str, path: str, body: dict[str, Any] | None = None) -> Call:
    async def call(app: App, c: httpx.AsyncClient) -> httpx.Response:
        target = path.replace("{user_id}", await _new_user(app))
        headers = await _admin_bearer(app)
        return await c.request(method, target, json=body, headers=headers)

    return call


def _admin_client(method: str, path: str, body: dict[str, Any] | None = None) -> Call:
    async def call(app: App, c: httpx.AsyncClient) -> httpx.Response:
        created = await app.runtime.registry.create(
            name="Cached?", grant_types=["client_credentials"]
        )
        target = path.replace("{client_id}", created.client.client_id)
        headers = await _admin_bearer(app)
        return await c.request(method, target, json=body, headers=headers)

    return call


async def _userinfo(app: App, c: httpx.AsyncClient, method: str) -> httpx.Response:
    # An access token with openid, as the code grant starts it (the scope already granted).
    user = await app.runtime.users.user_by_email(ADMIN)
    pair = await app.runtime.service.start_session(user, client_id="jwtwarden", scope="openid")
    headers = {"authorization": "Bearer " + pair.access_token}
    return await c.request(method, "/oauth/userinfo", headers=headers)


async def _end_session(app: App, c: httpx.AsyncClient, method: str) -> httpx.Response:
    if method == "GET":
        return await c.get("/oauth/logout")  # the confirmation page
    created = await app.runtime.registry.create(
        name="RP", redirect_uris=["https://rp.example.test/cb"]
    )
    hint = app.runtime.id_tokens.mint(
        IDTokenRequest(sub="u", client_id=created.client.client_id, auth_time=0, sid="si-x")
    )
    return await c.post("/oauth/logout", data={"id_token_hint": hint})


async def _get(app: App, c: httpx.AsyncClient, path: str) -> httpx.Response:
    return await c.get(path)


async def _patch(app: App, path: str) -> httpx.Response:
    async with app.client() as c:
        return await c.patch(path)


# --- the hosted pages (issue 14): a browser's cookies sent by hand (they are Secure) ---------

_ISSUER = "http://127.0.0.1:8000"  # the App's default issuer: the pages' Origin


def _cookie(r: httpx.Response, name: str) -> str:
    for header in r.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {name} cookie: {r.headers}")


def _hidden(page: str, name: str) -> str:
    return page.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]


async def _signin_post(app: App, c: httpx.AsyncClient) -> httpx.Response:
    form = await c.get("/signin")
    presignin = _cookie(form, "__Host-jwtwarden-presignin")
    data = {"csrf_token": _hidden(form.text, "csrf_token"), "email": USER, "password": PASSWORD}
    headers = {"cookie": f"__Host-jwtwarden-presignin={presignin}", "origin": _ISSUER}
    return await c.post("/signin", data=data, headers=headers)


async def _signed_in(app: App, c: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    """The headers of a signed-in browser's form post, and its CSRF token."""
    cookie = "__Host-jwtwarden-signin=" + _cookie(
        await _signin_post(app, c), "__Host-jwtwarden-signin"
    )
    account = await c.get("/account", headers={"cookie": cookie})
    return {"cookie": cookie, "origin": _ISSUER}, _hidden(account.text, "csrf_token")


def _page_post(path: str, **fields: str) -> Call:
    async def call(app: App, c: httpx.AsyncClient) -> httpx.Response:
        headers, csrf = await _signed_in(app, c)
        return await c.post(path, data={"csrf_token": csrf, **fields}, headers=headers)

    return call


async def _account(app: App, c: httpx.AsyncClient) -> httpx.Response:
    headers, _ = await _signed_in(app, c)
    return await c.get("/account", headers={"cookie": headers["cookie"]})


def _authorize(method: str) -> Call:
    async def call(app: App, c: httpx.AsyncClient) -> httpx.Response:
        made = await app.runtime.registry.create(
            name="Cached?", type="public", redirect_uris=["https://app.example.test/cb"]
        )
        params = {
            "response_type": "code",
            "client_id": made.client.client_id,
            "redirect_uri": "https://app.example.test/cb",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
        if method == "GET":
            return await c.get("/oauth/authorize", params=params)
        return await c.post("/oauth/authorize", data=params)

    return call


# --- the account lifecycle's hosted pages (issue 15; routes/account_pages.py, account_manage.py)


def _with_signup(call: Call) -> Call:
    """``call`` against a second app like ``app`` but with sign-up open (off by default)."""

    async def wrapped(app: App, c: httpx.AsyncClient) -> httpx.Response:
        settings = app.runtime.settings.model_copy(update={"signup": True})
        other = create_app(settings)
        async with other.router.lifespan_context(other):
            opened = App(other)
            async with opened.client() as oc:
                return await call(opened, oc)

    return wrapped


def _signed_out_post(page: str, **fields: str) -> Call:
    """GET the signed-out form ``page``, post it (its pre-session cookie, CSRF and Origin)."""

    async def call(app: App, c: httpx.AsyncClient) -> httpx.Response:
        form = await c.get(page)
        presignin = _cookie(form, "__Host-jwtwarden-presignin")
        action = form.text.split('<form method="post" action="', 1)[1].split('"', 1)[0]
        headers = {"cookie": f"__Host-jwtwarden-presignin={presignin}", "origin": _ISSUER}
        data = {"csrf_token": _hidden(form.text, "csrf_token"), **fields}
        return await c.post(action, data=data, headers=headers)

    return call


def _signed_in_get(path: str) -> Call:
    async def call(app: App, c: httpx.AsyncClient) -> httpx.Response:
        headers, _ = await _signed_in(app, c)
        return await c.get(path, headers={"cookie": headers["cookie"]})

    return call


async def _delete_account(app: App, c: httpx.AsyncClient) -> httpx.Response:
    # Its own new user: the deleted one must not be USER, whom the other cases sign in as.
    user = await app.runtime.service.create_user(f"d{secrets.token_hex(4)}@example.test", PASSWORD)
    form = await c.get("/signin")
    presignin = _cookie(form, "__Host-jwtwarden-presignin")
    data = {"csrf_token": _hidden(form.text, "csrf_token"), "email": user.email}
    headers = {"cookie": f"__Host-jwtwarden-presignin={presignin}", "origin": _ISSUER}
    signed = await c.post("/signin", data={**data, "password": PASSWORD}, headers=headers)
    cookie = "__Host-jwtwarden-signin=" + _cookie(signed, "__Host-jwtwarden-signin")
    page = await c.get("/account/delete-account", headers={"cookie": cookie})
    return await c.post(
        "/account/delete-account",
        data={"csrf_token": _hidden(page.text, "csrf_token"), "password": PASSWORD},
        headers={"cookie": cookie, "origin": _ISSUER},
    )


def _link_post(purpose: str, **fields: str) -> Call:
    """Post a live link token (minted for a new user, as the mail would carry it)."""

    async def call(app: App, c: httpx.AsyncClient) -> httpx.Response:
        user = await app.runtime.users.user_by_id(await _new_user(app))
        assert user is not None
        token = app.runtime.lifecycle.links.mint(
            purpose, user, email=user.email if purpose == "verify" else None
        )
        landing = "/account/verify" if purpose == "verify" else "/account/reset"
        return await _signed_out_post(landing, token=token, **fields)(app, c)

    return call


# Routes with no error of their own: health, and pages whose GET always shows something (the
# sign-in form, the signed-out page, a redirect to the sign-in).
NO_ERROR_OF_THEIR_OWN = {
    ("GET", "/healthz"),
    # The development index and the OpenAPI page and document (routes/pages.py).
    ("GET", "/"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
    ("GET", "/signin"),
    ("GET", "/signout"),
    ("GET", "/account"),
}
# The account lifecycle's pages (issue 15): their GETs always show a form (or the sign-in).
NO_ERROR_OF_THEIR_OWN |= {
    ("GET", "/forgot-password"),
    ("GET", "/account/verify"),
    ("GET", "/account/email"),
    ("GET", "/account/reset"),
    ("GET", "/account/change-email"),
    ("GET", "/account/delete-account"),
}

# Routes whose success is a redirect (RFC 9110 15.4.4: 303 after a form).
REDIRECTING = {("POST", "/signin")}

# One successful call per route (method, path template): the 2xx side of the rule.
SUCCESS: dict[tuple[str, str], Call] = {
    ("POST", "/oauth/token"): _token,
    ("POST", "/oauth/revoke"): _revoke,
    ("POST", "/oauth/introspect"): _introspect,
    ("POST", "/auth/login"): _login,
    ("POST", "/auth/logout"): _logout,
    ("POST", "/auth/password"): _password,
    ("GET", "/oauth/userinfo"): lambda app, c: _userinfo(app, c, "GET"),
    ("POST", "/oauth/userinfo"): lambda app, c: _userinfo(app, c, "POST"),
    ("GET", "/oauth/logout"): lambda app, c: _end_session(app, c, "GET"),
    ("POST", "/oauth/logout"): lambda app, c: _end_session(app, c, "POST"),
    ("GET", "/healthz"): lambda app, c: _get(app, c, "/healthz"),
    ("GET", "/"): lambda app, c: _get(app, c, "/"),
    ("GET", "/docs"): lambda app, c: _get(app, c, "/docs"),
    ("GET", "/openapi.json"): lambda app, c: _get(app, c, "/openapi.json"),
    ("GET", "/metrics"): lambda app, c: _get(app, c, "/metrics"),
    ("POST", "/admin/users"): _admin(
        "POST", "/admin/users", {"email": "new@example.test", "password": PASSWORD}
    ),
    ("GET", "/admin/users"): _admin("GET", "/admin/users"),
    ("GET", "/admin/users/{user_id}"): _admin("GET", "/admin/users/{user_id}"),
    ("POST", "/admin/users/{user_id}/disable"): _admin("POST", "/admin/users/{user_id}/disable"),
    ("POST", "/admin/users/{user_id}/enable"): _admin("POST", "/admin/users/{user_id}/enable"),
    ("POST", "/admin/users/{user_id}/sessions/revoke"): _admin(
        "POST", "/admin/users/{user_id}/sessions/revoke"
    ),
    ("GET", "/admin/keys"): _admin("GET", "/admin/keys"),
    ("POST", "/admin/keys/rotate"): _admin("POST", "/admin/keys/rotate", {}),
    ("POST", "/admin/clients"): _admin_client("POST", "/admin/clients", {"client_name": "New"}),
    ("GET", "/admin/clients"): _admin_client("GET", "/admin/clients"),
    ("GET", "/admin/clients/{client_id}"): _admin_client("GET", "/admin/clients/{client_id}"),
    ("DELETE", "/admin/clients/{client_id}"): _admin_client("DELETE", "/admin/clients/{client_id}"),
    ("POST", "/admin/clients/{client_id}/disable"): _admin_client(
        "POST", "/admin/clients/{client_id}/disable"
    ),
    ("POST", "/admin/clients/{client_id}/enable"): _admin_client(
        "POST", "/admin/clients/{client_id}/enable"
    ),
    ("POST", "/admin/clients/{client_id}/rotate-secret"): _admin_client(
        "POST", "/admin/clients/{client_id}/rotate-secret"
    ),
    ("GET", "/oauth/authorize"): _authorize("GET"),
    ("POST", "/oauth/authorize"): _authorize("POST"),
    ("GET", "/signin"): lambda app, c: _get(app, c, "/signin"),
    ("POST", "/signin"): _signin_post,
    ("GET", "/signout"): lambda app, c: _get(app, c, "/signout"),
    ("POST", "/signout"): _page_post("/signout"),
    ("GET", "/account"): _account,
    ("POST", "/account/sign-out-everywhere"): _page_post("/account/sign-out-everywhere"),
    ("POST", "/account/password"): _page_post(
        "/account/password", current_password=PASSWORD, new_password=PASSWORD + " and more"
    ),
}
# The account lifecycle's hosted pages (issue 15).
SUCCESS |= {
    ("GET", "/signup"): _with_signup(lambda app, c: _get(app, c, "/signup")),
    ("POST", "/signup"): _with_signup(
        _signed_out_post("/signup", email="new@example.test", password=PASSWORD)
    ),
    ("GET", "/forgot-password"): lambda app, c: _get(app, c, "/forgot-password"),
    ("POST", "/forgot-password"): _signed_out_post("/forgot-password", email=USER),
    ("GET", "/account/verify"): lambda app, c: _get(app, c, "/account/verify"),
    ("GET", "/account/email"): lambda app, c: _get(app, c, "/account/email"),
    ("GET", "/account/reset"): lambda app, c: _get(app, c, "/account/reset"),
    ("POST", "/account/verify-email"): _link_post("verify"),
    ("POST", "/account/reset-password"): _link_post("reset", password=PASSWORD + " reset"),
    ("GET", "/account/change-email"): _signed_in_get("/account/change-email"),
    ("POST", "/account/change-email"): _page_post(
        "/account/change-email", email="moved@example.test", password=PASSWORD
    ),
    ("GET", "/account/delete-account"): _signed_in_get("/account/delete-account"),
    ("POST", "/account/delete-account"): _delete_account,
}


# The account lifecycle's JSON endpoints and the admin API's account routes (issue 15).


def _new_user_bearer(method: str, path: str, **body: str) -> Call:
    """``method path`` with a new account's own access token and ``body`` as JSON."""

    async def call(app: App, c: httpx.AsyncClient) -> httpx.Response:
        user = await app.runtime.users.user_by_id(await _new_user(app))
        assert user is not None
        token = (await app.login(user.email))["access_token"]
        headers = {"authorization": "Bearer " + token}
        return await c.request(method, path, json=body, headers=headers)

    return call


def _link_json(purpose: str, path: str, **fields: str) -> Call:
    """POST a live link token (minted for a new user, as the mail would carry it) as JSON."""

    async def call(app: App, c: httpx.AsyncClient) -> httpx.Response:
        user = await app.runtime.users.user_by_id(await _new_user(app))
        assert user is not None
        token = app.runtime.lifecycle.links.mint(
            purpose, user, email=user.email if purpose == "verify" else None
        )
        return await c.post(path, json={"token": token, **fields})

    return call


SUCCESS |= {
    ("POST", "/account/signup"): _with_signup(
        lambda app, c: c.post(
            "/account/signup", json={"email": "new@example.test", "password": PASSWORD}
        )
    ),
    ("POST", "/account/verify"): _link_json("verify", "/account/verify"),
    ("POST", "/account/verify/resend"): _new_user_bearer("POST", "/account/verify/resend"),
    ("POST", "/account/password/forgot"): lambda app, c: c.post(
        "/account/password/forgot", json={"email": USER}
    ),
    ("POST", "/account/password/reset"): _link_json(
        "reset", "/account/password/reset", password=PASSWORD + " reset"
    ),
    ("POST", "/account/email"): _new_user_bearer(
        "POST", "/account/email", email="moved-json@example.test", password=PASSWORD
    ),
    ("POST", "/account/delete"): _new_user_bearer("POST", "/account/delete", password=PASSWORD),
    ("GET", "/admin/users/{user_id}/roles"): _admin("GET", "/admin/users/{user_id}/roles"),
    # This app configures no roles: an empty change is the success answer it can give.
    ("POST", "/admin/users/{user_id}/roles"): _admin(
        "POST", "/admin/users/{user_id}/roles", {"add": [], "remove": []}
    ),
    ("POST", "/admin/users/{user_id}/password"): _admin(
        "POST", "/admin/users/{user_id}/password", {"password": PASSWORD + " admin set"}
    ),
    ("DELETE", "/admin/users/{user_id}"): _admin("DELETE", "/admin/users/{user_id}"),
}


async def test_should_have_a_case_for_every_route_that_is_not_a_public_document(
    server: App,
) -> None:
    private = {(m, p) for m, p in _routes(server) if p not in PUBLIC_PATHS}
    assert private == set(SUCCESS)


@pytest.mark.parametrize(("method", "path"), sorted(SUCCESS))
async def test_should_forbid_caching_the_success_answer_of_every_private_route(
    server: App, method: str, path: str
) -> None:
    async with server.client() as c:
        r = await SUCCESS[method, path](server, c)
    ok = (200, 400) if (method, path) in REDIRECTING else (200, 300)
    assert ok[0] <= r.status_code < ok[1], (method, path, r.status_code, r.text)
    _assert_not_stored(r, f"{method} {path}")


@pytest.mark.parametrize(("method", "path"), sorted(SUCCESS))
async def test_should_forbid_caching_the_error_answers_of_every_private_route(
    server: App, method: str, path: str
) -> None:
    target = path.replace("{user_id}", "no-such-user").replace("{client_id}", "no-such-client")
    user = await server.login()
    bearer = {"authorization": "Bearer " + user["access_token"]}
    async with server.client("10.9.9.9") as c:
        answers = [
            await c.request(method, target),  # no credentials, no body
            await c.request(method, target, content=b"{", headers=bearer),  # malformed
            await c.request(method, target, headers={"authorization": "Bearer x.y.z"}),
        ]
    # GET /oauth/logout without parameters is the confirmation page, whatever Authorization
    # header comes with it (its errors: below).
    if (method, path) not in NO_ERROR_OF_THEIR_OWN | {("GET", "/oauth/logout")}:
        assert any(r.status_code >= 400 for r in answers), [r.status_code for r in answers]
    if (method, path) == ("GET", "/oauth/logout"):
        async with server.client() as c:
            answers.append(await c.get(target, params={"id_token_hint": "x.y.z"}))
        assert answers[-1].status_code == 400
    answers.append(await _patch(server, target))
    assert answers[-1].status_code == 405
    for r in answers:
        _assert_not_stored(r, f"{method} {path}")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/admin/users", 401),  # no token
        ("GET", "/admin/nope", 404),
        ("DELETE", "/auth/login", 405),
        ("PUT", "/oauth/token", 405),
        ("POST", "/oauth/token", 415),
    ],
)
async def test_should_forbid_caching_refusals(
    server: App, method: str, path: str, status: int
) -> None:
    async with server.client() as c:
        r = await c.request(method, path, content=b"x", headers={"content-type": "text/plain"})
    assert r.status_code == status
    _assert_not_stored(r, f"{method} {path}")


async def test_should_forbid_caching_403_413_and_429(make_app: AppFactory) -> None:
    async with make_app(rate_limit_login_account=2, max_body_bytes=1024) as app:
        user = await app.login()
        bad = {"email": ADMIN, "password": "not the password at all"}
        async with app.client() as c:
            forbidden = await c.get(
                "/admin/users", headers={"authorization": "Bearer " + user["access_token"]}
            )
            large = await c.post("/auth/login", content=b"x" * 2048)
            limited = [await c.post("/auth/login", json=bad) for _ in range(3)][-1]
    assert (forbidden.status_code, large.status_code, limited.status_code) == (403, 413, 429)
    for r in (forbidden, large, limited):
        _assert_not_stored(r, str(r.status_code))


@pytest.mark.parametrize("path", sorted(PUBLIC_PATHS))
async def test_should_let_caches_keep_the_public_documents(server: App, path: str) -> None:
    async with server.client() as c:
        r = await c.get(path)
    assert r.status_code == 200
    cache_control = r.headers["cache-control"]
    assert "max-age=" in cache_control and "no-store" not in cache_control
    assert "pragma" not in r.headers
