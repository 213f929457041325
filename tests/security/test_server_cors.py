"""CORS for the browser apps on the allowed origins (cookie mode needs it), and no one else."""

from __future__ import annotations

from tests.security.conftest import ORIGIN, App, AppFactory

PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type, x-csrf-token",
}


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
        jwks = await c.get("/.well-known/jwks.json", headers={"origin": evil})
    assert pre.status_code == 400
    assert jwks.status_code == 200 and jwks.json()["keys"]  # the resource was served...
    assert "access-control-allow-origin" not in pre.headers
    assert "access-control-allow-origin" not in jwks.headers  # ...without a CORS grant


async def test_should_send_no_cors_headers_when_no_origin_is_allowed(make_app: AppFactory) -> None:
    async with make_app(allowed_origins=()) as app, app.client() as c:
        r = await c.options("/oauth/token", headers={"origin": ORIGIN, **PREFLIGHT})
        jwks = await c.get("/.well-known/jwks.json", headers={"origin": ORIGIN})
    # No CORS layer at all: the preflight reaches the route, which has no OPTIONS method.
    assert (r.status_code, r.json()["error"]) == (405, "invalid_request")
    assert jwks.status_code == 200 and jwks.json()["keys"]
    assert not any(h.startswith("access-control-") for h in r.headers)
    assert not any(h.startswith("access-control-") for h in jwks.headers)
