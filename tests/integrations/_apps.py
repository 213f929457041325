"""The same protected endpoint in every framework, behind one calling convention.

``/items`` needs the ``items:read`` scope and answers ``{"sub": ...}``; ``/open`` needs any
valid token. Each builder returns ``call(path, headers) -> (status, headers, json)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from fastapi import Depends, FastAPI
from flask import Flask, g
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from jwtwarden import VerifiedToken
from jwtwarden.integrations import fastapi as jw_fastapi
from jwtwarden.integrations import flask as jw_flask
from jwtwarden.integrations.starlette import BearerAuthMiddleware

Headers = Sequence[tuple[str, str]]
Call = Callable[[str, Headers], tuple[int, dict[str, str], Any]]


def fastapi_app(verifier: Any) -> FastAPI:
    app = FastAPI()
    items = jw_fastapi.require_token(verifier, scopes=["items:read"])
    anyone = jw_fastapi.require_token(verifier)

    @app.get("/items")
    async def get_items(token: VerifiedToken = Depends(items)) -> dict[str, Any]:
        return {"sub": token.claims["sub"]}

    @app.get("/open")
    async def get_open(token: VerifiedToken = Depends(anyone)) -> dict[str, Any]:
        return {"sub": token.claims["sub"]}

    return app


def starlette_app(verifier: Any) -> Starlette:
    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.user.claims["sub"], "scopes": request.auth.scopes})

    items = Starlette(
        routes=[Route("/", endpoint)],
        middleware=[Middleware(BearerAuthMiddleware, verifier=verifier, scopes=["items:read"])],
    )
    anyone = Starlette(
        routes=[Route("/", endpoint)],
        middleware=[Middleware(BearerAuthMiddleware, verifier=verifier)],
    )
    return Starlette(routes=[Mount("/items", items), Mount("/open", anyone)])


def flask_app(verifier: Any) -> Flask:
    app = Flask(__name__)
    jw_flask.JWTWarden(app, verifier)

    @app.get("/items")
    @jw_flask.require_token(scopes=["items:read"])
    def get_items() -> dict[str, Any]:
        assert g.verified_token.claims is g.claims
        return {"sub": g.claims["sub"]}

    @app.get("/open")
    @jw_flask.require_token
    def get_open() -> dict[str, Any]:
        return {"sub": g.claims["sub"]}

    return app


async def asgi_get(app: Any, path: str, headers: Headers) -> httpx.Response:
    """One request through the app's ASGI interface (httpx's ASGI transport)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path, headers=list(headers))


def _asgi_caller(app: Any) -> Call:
    mounted = isinstance(app, Starlette) and not isinstance(app, FastAPI)

    def call(path: str, headers: Headers) -> tuple[int, dict[str, str], Any]:
        if mounted and path in ("/items", "/open"):
            path += "/"
        response = asyncio.run(asgi_get(app, path, headers))
        return (
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.json(),
        )

    return call


def _flask_caller(app: Flask) -> Call:
    client = app.test_client()

    def call(path: str, headers: Headers) -> tuple[int, dict[str, str], Any]:
        response = client.get(path, headers=list(headers))
        return (
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            response.get_json(),
        )

    return call


BUILDERS: dict[str, Callable[[Any], Call]] = {
    "fastapi": lambda v: _asgi_caller(fastapi_app(v)),
    "starlette": lambda v: _asgi_caller(starlette_app(v)),
    "flask": lambda v: _flask_caller(flask_app(v)),
}


def error_of(framework: str, body: Any) -> Any:
    """FastAPI wraps an HTTPException's detail; the others answer the RFC 6750 body directly."""
    return body["detail"] if framework == "fastapi" else body
