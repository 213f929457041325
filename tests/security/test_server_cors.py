"""CORS for the browser apps on the allowed origins (cookie mode needs it), and no one else."""

from __future__ import annotations

import httpx
import pytest

from jwtwarden.server.cors import CORSPolicy
from tests.security.conftest import ORIGIN, App, AppFactory

PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type, x-csrf-token",
}


def _allow_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def test_should_answer_the_preflight_of_an_allowed_origin_with_credentials(
    server: App,
) -> None:
    async with server.client() as c:
        r = await c.options("/oauth/token", headers={"origin": ORIGIN, **PREFLIGHT})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "x-csrf-token" in r.headers["access-control-allow-headers"].lower()


async def test_should_give_no_cors_headers_to_another_origin(server: App) -> None:
    evil = "https://evil.example.test"
    async with server.client() as c:
        pre = await c.options("/oauth/token", headers={"origin": evil, **PREFLIGHT})
        health = await c.get("/healthz", headers={"origin": evil})
        jwks = await c.get("/.well-known/jwks.json", headers={"origin": evil})
    assert pre.status_code == 400
    assert health.status_code == 200  # the resource was served...
    assert "access-control-allow-origin" not in pre.headers
    assert "access-control-allow-origin" not in health.headers  # ...without a CORS grant
    # The public documents are readable from any origin, never with credentials (_http.py).
    assert jwks.status_code == 200 and jwks.json()["keys"]
    assert _allow_headers(jwks) == {"access-control-allow-origin": "*"}


async def test_should_send_no_cors_headers_when_no_origin_is_allowed(make_app: AppFactory) -> None:
    async with make_app(allowed_origins=()) as app, app.client() as c:
        r = await c.options("/oauth/token", headers={"origin": ORIGIN, **PREFLIGHT})
        health = await c.get("/healthz", headers={"origin": ORIGIN})
        jwks = await c.get("/.well-known/jwks.json", headers={"origin": ORIGIN})
    # No CORS layer at all: the preflight reaches the route, which has no OPTIONS method.
    assert (r.status_code, r.json()["error"]) == (405, "invalid_request")
    assert health.status_code == 200
    assert not any(h.startswith("access-control-") for h in r.headers)
    assert not any(h.startswith("access-control-") for h in health.headers)
    # The public documents keep their "*" (no credentials) with no origin allowed too.
    assert jwks.status_code == 200 and jwks.json()["keys"]
    assert _allow_headers(jwks) == {"access-control-allow-origin": "*"}


def _varies_on_origin(response: httpx.Response) -> bool:
    vary = response.headers.get("vary", "")
    return "origin" in [v.strip().lower() for v in vary.split(",")]


@pytest.mark.parametrize(
    "origin",
    [
        None,
        "null",  # sandboxed frames, file: pages, redirects: names no one
        "https://evil.example.test",
        ORIGIN + ".evil.test",
        ORIGIN.upper(),
        ORIGIN + ":443",
        "http://app.example.test",
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/healthz"), ("POST", "/oauth/token"), ("GET", "/admin/users")],
)
async def test_should_send_no_allow_credentials_to_a_missing_or_disallowed_origin(
    server: App, origin: str | None, method: str, path: str
) -> None:
    headers = {} if origin is None else {"origin": origin}
    async with server.client() as c:
        r = await c.request(method, path, headers={**headers, "cookie": "a=b"})
    assert r.status_code in (200, 401, 415), r.text  # the request itself was answered
    assert _allow_headers(r) == {}
    assert _varies_on_origin(r)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/admin/users"), ("POST", "/oauth/token"), ("GET", "/healthz")],
)
async def test_should_echo_exactly_an_allowed_origin_with_credentials_and_vary_on_it(
    server: App, method: str, path: str
) -> None:
    async with server.client() as c:
        r = await c.request(method, path, headers={"origin": ORIGIN})
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    assert _varies_on_origin(r)


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "https://evil.example.test",
        ORIGIN + ".evil.test",
        "*",
    ],
)
async def test_should_answer_a_preflight_from_a_disallowed_origin_with_no_allow_header(
    server: App, origin: str
) -> None:
    async with server.client() as c:
        r = await c.options("/oauth/token", headers={"origin": origin, **PREFLIGHT})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert _allow_headers(r) == {}
    assert _varies_on_origin(r)


@pytest.mark.parametrize(
    "request_headers",
    [
        {"access-control-request-method": "DELETE"},
        {"access-control-request-method": "POST", "access-control-request-headers": "x-evil"},
    ],
)
async def test_should_answer_a_preflight_asking_for_more_than_allowed_with_no_allow_header(
    server: App, request_headers: dict[str, str]
) -> None:
    async with server.client() as c:
        r = await c.options("/oauth/token", headers={"origin": ORIGIN, **request_headers})
    assert r.status_code == 400
    assert _allow_headers(r) == {}


async def test_should_treat_two_origin_headers_as_no_allowed_origin(server: App) -> None:
    async with server.client() as c:
        r = await c.get(
            "/healthz", headers=[("origin", ORIGIN), ("origin", "https://evil.example.test")]
        )
    assert r.status_code == 200
    assert _allow_headers(r) == {}


@pytest.mark.parametrize("origin", ["*", "null", "https://*.example.test"])
def test_should_refuse_a_wildcard_or_null_allowed_origin(origin: str) -> None:
    with pytest.raises(ValueError, match="is not an exact origin"):
        CORSPolicy(lambda *_: None, allowed_origins=[ORIGIN, origin])  # type: ignore[arg-type]
