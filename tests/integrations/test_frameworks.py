"""Framework-specific behaviour: Starlette's backend, FastAPI's OpenAPI, Flask's set-up, and a
remote key set that is down (503), through real request handling."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from jwtwarden import FixedClock, VerificationPolicy, Verifier
from jwtwarden.integrations.flask import JWTWarden, require_token
from jwtwarden.integrations.starlette import BearerAuthMiddleware
from jwtwarden.jwks import RemoteJWKS

from ..jwks._servers import Route as ServerRoute
from ..jwks._servers import counting_server
from ._apps import BUILDERS, asgi_get, fastapi_app
from .conftest import AUDIENCE, ISSUER, Mint


def _whoami_app(verifier: Verifier, **options: object) -> Starlette:
    async def whoami(request: Request) -> JSONResponse:
        user = request.user
        return JSONResponse(
            {
                "authenticated": user.is_authenticated,
                "name": user.display_name,
                "scopes": list(request.auth.scopes),
            }
        )

    return Starlette(
        routes=[Route("/", whoami)],
        middleware=[Middleware(BearerAuthMiddleware, verifier=verifier, **options)],
    )


def test_should_let_anonymous_requests_through_when_a_token_is_optional(
    verifier: Verifier, mint: Mint
):
    app = _whoami_app(verifier, required=False)
    anonymous = asyncio.run(asgi_get(app, "/", []))
    assert anonymous.json() == {"authenticated": False, "name": "", "scopes": []}
    signed = asyncio.run(asgi_get(app, "/", [("Authorization", f"Bearer {mint(scope='b a')}")]))
    assert signed.json() == {"authenticated": True, "name": "user-1", "scopes": ["a", "b"]}
    bad = asyncio.run(asgi_get(app, "/", [("Authorization", "Bearer nope")]))
    assert bad.status_code == 401  # a token that is present must be valid, optional or not


def test_should_refuse_scopes_without_a_required_token(verifier: Verifier):
    with pytest.raises(ValueError, match="required"):
        BearerAuthMiddleware(_whoami_app(verifier), verifier, required=False, scopes=["a"])


def test_should_document_the_bearer_scheme_in_openapi(verifier: Verifier):
    schema = fastapi_app(verifier).openapi()
    schemes = schema["components"]["securitySchemes"]
    assert any(
        s == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"} for s in schemes.values()
    )


def test_should_fail_loudly_when_flask_is_not_set_up(verifier: Verifier, mint: Mint):
    app = Flask(__name__)

    @app.get("/")
    @require_token
    def index() -> str:
        return "never"

    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(RuntimeError, match="JWTWarden"):
        app.test_client().get("/", headers={"Authorization": f"Bearer {mint()}"})
    with pytest.raises(ValueError):
        JWTWarden(Flask(__name__))
    with pytest.raises(TypeError):
        JWTWarden(Flask(__name__), object())


@pytest.mark.parametrize("framework", sorted(BUILDERS))
def test_should_answer_503_not_401_when_the_issuers_key_set_cannot_be_fetched(
    framework: str, clock: FixedClock, mint: Mint
):
    with counting_server() as issuer:
        issuer.routes["/jwks"] = ServerRoute(500, b"down")
        jwks = RemoteJWKS(issuer.url("/jwks"), allow_loopback_http=True, clock=clock)
        verifier = Verifier(
            VerificationPolicy.access_token(
                algorithms=["ES256"], issuer=ISSUER, audience=AUDIENCE, keys=jwks, clock=clock
            )
        )
        status, headers, _ = BUILDERS[framework](verifier)(
            "/open", [("Authorization", f"Bearer {mint()}")]
        )
        assert status == 503 and headers["retry-after"] == "5"
        assert issuer.counts["/jwks"] == 1


def test_should_keep_the_core_free_of_web_frameworks():
    code = (
        "import sys, jwtwarden, jwtwarden.jwks, jwtwarden.integrations, jwtwarden.verify;"
        "import jwtwarden.integrations.httpx_auth;"
        "bad = {'fastapi', 'flask', 'starlette', 'werkzeug'} & set(sys.modules);"
        "print(sorted(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


async def _websocket_attempt(app: object, headers: list[tuple[bytes, bytes]]) -> list[dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "websocket.connect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/",
        "headers": headers,
        "query_string": b"",
        "root_path": "",
        "scheme": "ws",
        "server": ("testserver", 80),
        "subprotocols": [],
    }
    await app(scope, receive, send)  # type: ignore[operator]
    return sent


async def test_should_refuse_a_websocket_handshake_without_a_token_or_the_scopes(
    verifier: Verifier, mint: Mint
):
    reached: list[str] = []

    async def inner(scope: dict, receive: object, send: object) -> None:
        reached.append(scope["type"])

    guarded = BearerAuthMiddleware(inner, verifier, scopes=["chat"])  # type: ignore[arg-type]
    assert (await _websocket_attempt(guarded, []))[0]["type"] == "websocket.close"
    no_scope = [(b"authorization", f"Bearer {mint()}".encode())]
    assert await _websocket_attempt(guarded, no_scope) == [
        {"type": "websocket.close", "code": 1008}
    ]
    assert reached == []
    allowed = [(b"authorization", f"Bearer {mint(scope='chat')}".encode())]
    assert await _websocket_attempt(guarded, allowed) == []
    assert reached == ["websocket"]
