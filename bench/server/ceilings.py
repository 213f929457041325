"""The ceilings the auth server is measured against, as uvicorn factories (``--factory``).

- ``hello_app``: a bare FastAPI endpoint answering a constant JSON body: the cost of uvicorn,
  httptools, uvloop and FastAPI's routing, nothing else.
- ``rotate_app``: a bare FastAPI endpoint doing what a refresh grant cannot avoid: one
  PostgreSQL rotate (a conditional ``UPDATE ... WHERE spent_at IS NULL`` and the ``INSERT`` of
  the successor, in one transaction, asyncpg directly, the pool's reset query switched off) and
  one ES256 signature (the joserfc algorithm object, the same one the server's issuer uses),
  on the server's own tables, so the same load script drives both. It skips everything else the
  real endpoint does (session and user liveness, scope, client binding, metrics, errors).

Configuration from the environment: ``BENCH_DATABASE_URL``, ``BENCH_SCHEMA``, ``BENCH_ISSUER``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import asyncpg
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from jwtwarden.keys.generate import generate_key

_HELLO = b'{"hello":"world"}'
_SPEND = (
    "UPDATE jw_refresh_tokens SET spent_at = $2, replaced_by = $3 "
    "WHERE token_hash = $1 AND spent_at IS NULL AND expires_at > $2 RETURNING session_id"
)
_INSERT = (
    "INSERT INTO jw_refresh_tokens (token_hash, session_id, issued_at, expires_at) "
    "VALUES ($1, $2, $3, $4)"
)
_INVALID = Response(b'{"error":"invalid_grant"}', status_code=400, media_type="application/json")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _health(app: FastAPI) -> None:
    @app.get("/healthz")
    async def health() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")


def hello_app() -> FastAPI:
    """``GET /``: a constant JSON body."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    _health(app)

    @app.get("/")
    async def hello() -> Response:
        return Response(_HELLO, media_type="application/json")

    return app


async def _no_reset(connection: asyncpg.Connection) -> None:
    """asyncpg's default reset runs a query on every release; nothing here needs it."""


def rotate_app() -> FastAPI:
    """``POST /oauth/token``: spend, insert the successor, sign an ES256 access token."""
    url = os.environ["BENCH_DATABASE_URL"]
    schema = os.environ["BENCH_SCHEMA"]
    issuer = os.environ.get("BENCH_ISSUER", "http://127.0.0.1")
    key = generate_key("ES256", kid="ceiling")
    algorithm, jwk = key.impl, key.jwk
    header = _b64(
        json.dumps(
            {"alg": "ES256", "kid": key.kid, "typ": "at+jwt"}, separators=(",", ":")
        ).encode()
    )
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(
            url,
            # The same bound as the server's pool (JWTWARDEN_DATABASE_POOL_SIZE, 10).
            min_size=2,
            max_size=10,
            reset=_no_reset,
            server_settings={"search_path": schema},
        )
        try:
            yield
        finally:
            await state["pool"].close()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    _health(app)

    @app.post("/oauth/token")
    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        presented = form.get("refresh_token", "")
        digest = hashlib.sha256(presented.encode()).digest()
        new_token = "jwtw_rt_" + secrets.token_urlsafe(32)
        new_digest = hashlib.sha256(new_token.encode()).digest()
        now = time.time()
        async with state["pool"].acquire() as conn, conn.transaction():
            sid = await conn.fetchval(_SPEND, digest, now, new_digest)
            if sid is None:
                return _INVALID
            await conn.execute(_INSERT, new_digest, sid, now, now + 14 * 86400)
            iat = int(now)
            claims = {
                "iss": issuer,
                "sub": sid,
                "aud": issuer,
                "iat": iat,
                "exp": iat + 600,
                "jti": secrets.token_urlsafe(32),
                "sid": sid,
                "client_id": "jwtwarden",  # RFC 9068 2.2, as the real server sets it
            }
            signing_input = header + "." + _b64(json.dumps(claims, separators=(",", ":")).encode())
            signature = algorithm.sign(signing_input.encode("ascii"), jwk)
            access = signing_input + "." + _b64(signature)
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 600,
            "refresh_token": new_token,
        }
        return Response(
            json.dumps(body, separators=(",", ":")).encode(),
            media_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    return app
