"""The HTTP conventions a client expects of any server (issue 17): ``Allow`` on a 405, ``HEAD``
wherever ``GET`` is, no redirect of a POST, 409 for a duplicate, a 413 that states the limit,
public documents readable cross-origin (and nothing else), the API docs page and the
development index. In process (ASGI transport, SQLite)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from jwtwarden.server.app import create_app
from jwtwarden.server.settings import Settings

from .support import App, new_kek

PASSWORD = "a perfectly long password"
ADMIN = "root@example.test"
ORIGIN = "https://app.example.test"
ELSEWHERE = "https://verifier.elsewhere.test"


async def _started(tmp_path: Path, **settings: Any) -> AsyncIterator[App]:
    defaults: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "allowed_origins": ORIGIN,
        "max_body_bytes": 1024,
        "inspector": True,
    }
    app = create_app(Settings(**{**defaults, **settings}))
    async with app.router.lifespan_context(app):
        wrapped = App(app)
        await wrapped.runtime.service.create_user(ADMIN, PASSWORD, is_admin=True)
        yield wrapped


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[App]:
    async for app in _started(tmp_path):
        yield app


async def _admin_headers(server: App) -> dict[str, str]:
    async with server.client() as c:
        r = await c.post("/auth/login", json={"email": ADMIN, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"authorization": "Bearer " + r.json()["access_token"]}


# --- 405 and Allow -------------------------------------------------------------------------

ALLOW = [
    ("DELETE", "/auth/login", "POST"),
    ("GET", "/oauth/token", "POST"),
    ("PUT", "/.well-known/jwks.json", "GET, HEAD"),
    ("POST", "/.well-known/oauth-authorization-server", "GET, HEAD"),
    ("DELETE", "/admin/users", "GET, HEAD, POST"),  # two routes on one path: both counted
    ("PATCH", "/admin/clients/some-client", "DELETE, GET, HEAD"),
    ("HEAD", "/auth/logout", "POST"),  # HEAD where there is no GET is no HEAD either
]


@pytest.mark.parametrize(("method", "path", "allow"), ALLOW)
async def test_should_name_every_allowed_method_in_allow_on_a_405(
    server: App, method: str, path: str, allow: str
) -> None:
    async with server.client() as c:
        r = await c.request(method, path)
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    if method != "HEAD":
        assert r.json()["error"] == "invalid_request"
        assert allow in r.json()["error_description"]


# --- HEAD ----------------------------------------------------------------------------------


def _get_paths(app: App) -> list[str]:
    out = []
    for route in app.app.router.routes:
        if isinstance(route, APIRoute) and "GET" in route.methods:
            out.append(route.path.replace("{user_id}", "no-such").replace("{client_id}", "no"))
    return sorted(out)


async def test_should_answer_head_like_get_without_a_body_on_every_get_route(
    server: App,
) -> None:
    paths = [*_get_paths(server), "/inspect/"]
    assert {"/", "/docs", "/openapi.json", "/healthz", "/.well-known/jwks.json"} <= set(paths)
    async with server.client() as c:
        for path in paths:
            got = await c.get(path)
            head = await c.head(path)
            assert head.status_code == got.status_code, path
            assert head.content == b"", path
            assert head.headers.get("content-type") == got.headers.get("content-type"), path
            assert head.headers.get("content-length") == str(len(got.content)), path


async def test_should_answer_a_conditional_head_of_the_jwks_with_304(server: App) -> None:
    async with server.client() as c:
        etag = (await c.get("/.well-known/jwks.json")).headers["etag"]
        r = await c.head("/.well-known/jwks.json", headers={"if-none-match": etag})
    assert (r.status_code, r.content) == (304, b"")


# --- trailing slashes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/oauth/token/", 404),
        ("POST", "/auth/login/", 404),
        ("POST", "/admin/users/", 404),
        ("GET", "/healthz/", 404),
    ],
)
async def test_should_not_redirect_a_path_with_another_trailing_slash(
    server: App, method: str, path: str, status: int
) -> None:
    async with server.client() as c:
        r = await c.request(method, path, content=b"grant_type=refresh_token")
    assert r.status_code == status
    assert "location" not in r.headers


async def test_should_keep_the_get_redirect_to_the_inspector_page(server: App) -> None:
    async with server.client() as c:
        r = await c.get("/inspect")
        posted = await c.post("/inspect", content=b"x")
    assert (r.status_code, r.headers["location"]) == (307, "/inspect/")
    assert posted.status_code == 405 and "location" not in posted.headers


# --- 409 and 413 ----------------------------------------------------------------------------


async def test_should_answer_a_duplicate_user_with_409_conflict(server: App) -> None:
    headers = await _admin_headers(server)
    body = {"email": "new@example.test", "password": PASSWORD}
    async with server.client() as c:
        first = await c.post("/admin/users", json=body, headers=headers)
        again = await c.post(
            "/admin/users", json={**body, "email": " NEW@example.test"}, headers=headers
        )
    assert first.status_code == 201
    assert again.status_code == 409
    assert again.json() == {
        "error": "conflict",
        "error_description": "an account with this email already exists",
    }


async def test_should_state_the_limit_in_a_413_whether_announced_or_streamed(
    server: App,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 400

    async with server.client() as c:
        announced = await c.post("/auth/login", content=b"x" * 2048)
        streamed = await c.post(
            "/auth/login", content=chunks(), headers={"content-type": "application/json"}
        )
    for r in (announced, streamed):
        assert r.status_code == 413
        assert r.json()["error_description"] == (
            "the request body is over this server's limit of 1024 bytes"
        )


# --- CORS -----------------------------------------------------------------------------------

PUBLIC = ["/.well-known/jwks.json", "/.well-known/oauth-authorization-server"]


@pytest.mark.parametrize("origin", [ELSEWHERE, ORIGIN, None])
@pytest.mark.parametrize("path", PUBLIC)
async def test_should_let_any_origin_read_the_public_documents_without_credentials(
    server: App, path: str, origin: str | None
) -> None:
    headers = {} if origin is None else {"origin": origin}
    async with server.client() as c:
        r = await c.get(path, headers=headers)
        head = await c.head(path, headers=headers)
    for answer in (r, head):
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "*"
        # With credentials a '*' is refused by browsers; and no cookie is needed here.
        assert "access-control-allow-credentials" not in answer.headers


@pytest.mark.parametrize("path", PUBLIC)
async def test_should_answer_the_preflight_of_a_public_document(server: App, path: str) -> None:
    preflight = {"origin": ELSEWHERE, "access-control-request-method": "GET"}
    async with server.client() as c:
        ok = await c.options(
            path, headers={**preflight, "access-control-request-headers": "if-none-match"}
        )
        post = await c.options(path, headers={**preflight, "access-control-request-method": "POST"})
    assert ok.status_code == 204 and ok.content == b""
    assert ok.headers["access-control-allow-origin"] == "*"
    assert ok.headers["access-control-allow-methods"] == "GET, HEAD"
    assert ok.headers["access-control-allow-headers"] == "if-none-match"
    assert "access-control-allow-credentials" not in ok.headers
    assert post.status_code == 405
    assert not [h for h in post.headers if h.startswith("access-control-")]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/oauth/token"), ("GET", "/admin/users"), ("GET", "/healthz"), ("GET", "/docs")],
)
async def test_should_keep_every_other_route_to_the_exact_allowed_origins(
    server: App, method: str, path: str
) -> None:
    async with server.client() as c:
        stranger = await c.request(method, path, headers={"origin": ELSEWHERE})
        preflight = await c.options(
            path, headers={"origin": ELSEWHERE, "access-control-request-method": method}
        )
        allowed = await c.request(method, path, headers={"origin": ORIGIN})
    assert not [h for h in stranger.headers if h.startswith("access-control-")]
    assert preflight.status_code == 400
    assert not [h for h in preflight.headers if h.startswith("access-control-")]
    assert allowed.headers["access-control-allow-origin"] == ORIGIN  # cors.py, unchanged
    assert allowed.headers["access-control-allow-credentials"] == "true"


# --- /docs, /openapi.json and the development index ------------------------------------------


async def test_should_serve_the_openapi_document_and_a_page_with_every_operation(
    server: App,
) -> None:
    async with server.client() as c:
        document = await c.get("/openapi.json")
        page = await c.get("/docs")
    assert document.status_code == 200
    paths = document.json()["paths"]
    assert "409" in paths["/admin/users"]["post"]["responses"]
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # No script and no stylesheet from anywhere (no CDN): the page is text and links.
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<script" not in page.text and "<link" not in page.text
    operations = [(m.upper(), p) for p, ops in paths.items() for m in ops]
    assert ("POST", "/oauth/token") in operations
    for method, path in operations:
        assert f"<code>{method} {path}</code>" in page.text
    assert "<code>409</code> conflict: the resource already exists" in page.text


async def test_should_serve_no_docs_when_turned_off(tmp_path: Path) -> None:
    async for app in _started(tmp_path, openapi_docs=False):
        async with app.client() as c:
            answers = [await c.get(p) for p in ("/docs", "/openapi.json")]
            index = await c.get("/")
        assert [r.status_code for r in answers] == [404, 404]
        assert 'href="/docs"' not in index.text


async def test_should_link_what_a_developer_needs_from_the_development_index(
    server: App,
) -> None:
    async with server.client() as c:
        r = await c.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    for href in (
        "/docs",
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
        "/inspect/",
    ):
        assert f'href="{href}"' in r.text
    assert '<a href="/signin">Sign in</a>' in r.text  # the hosted sign-in page


def test_should_serve_no_index_outside_development(tmp_path: Path) -> None:
    settings = Settings(
        environment="production",
        issuer="https://auth.example.com",
        kek=new_kek(),
        database_url="postgresql://127.0.0.1:5432/test",
        data_dir=tmp_path,
    )
    paths = {getattr(r, "path", None) for r in create_app(settings).router.routes}
    assert "/" not in paths
    assert {"/docs", "/openapi.json"} <= paths


# --- logout (RFC 7009 2.2 semantics) ---------------------------------------------------------


async def test_should_answer_logout_of_an_ended_session_with_200_every_way(server: App) -> None:
    async with server.client() as c:
        pair = (await c.post("/auth/login", json={"email": ADMIN, "password": PASSWORD})).json()
        bearer = {"authorization": "Bearer " + pair["access_token"]}
        answers = [
            await c.post("/auth/logout", json={"refresh_token": pair["refresh_token"]}),
            await c.post("/auth/logout", json={"refresh_token": pair["refresh_token"]}),
            await c.post("/auth/logout", headers=bearer),  # its session is gone: denied by sid
            await c.post("/auth/logout", headers={"authorization": "Bearer not.a.token"}),
        ]
        # The token really is refused elsewhere: logout's 200 is no verdict on it.
        refused = await c.get("/admin/users", headers=bearer)
    assert [r.status_code for r in answers] == [200, 200, 200, 200]
    assert all(r.json() == {"status": "logged_out"} for r in answers)
    assert refused.status_code == 401


async def test_should_still_refuse_a_logout_with_no_token_or_a_malformed_header(
    server: App,
) -> None:
    async with server.client() as c:
        none = await c.post("/auth/logout")
        malformed = await c.post("/auth/logout", headers={"authorization": "Basic eDp5"})
    assert (none.status_code, malformed.status_code) == (400, 400)


# --- the scope hint (the docs' first login example asked for a scope no server offered) ------


async def test_should_say_that_no_scopes_are_configured_when_a_login_asks_for_one(
    server: App,
) -> None:
    async with server.client() as c:
        r = await c.post(
            "/auth/login", json={"email": ADMIN, "password": PASSWORD, "scope": "read"}
        )
    assert r.status_code == 400
    assert r.json() == {
        "error": "invalid_scope",
        "error_description": (
            "this server has no scopes configured (JWTWARDEN_SCOPES): ask for none"
        ),
    }


async def test_should_name_the_offered_scopes_when_a_login_asks_for_another(
    tmp_path: Path,
) -> None:
    async for app in _started(tmp_path, scopes=("read", "write")):
        async with app.client() as c:
            r = await c.post(
                "/auth/login", json={"email": ADMIN, "password": PASSWORD, "scope": "read admin"}
            )
        assert r.status_code == 400
        assert r.json()["error_description"] == (
            "the requested scope 'admin' is not available; this server offers 'read write'"
        )
