"""``GET /.well-known/jwks.json``, ``/.well-known/oauth-authorization-server``, ``/healthz``
and ``/metrics``. The JWKS is served from memory (rebuilt when the key ring changes) with
``Cache-Control: max-age`` from the rotation timing and an ``ETag``."""

from __future__ import annotations

import hmac
from collections.abc import Collection
from typing import Any, TypedDict

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...oauth.client_assertions import ASSERTION_ALGORITHMS
from ...oauth.metadata import authorization_server_metadata, metadata_paths
from .. import openapi as api
from ..errors import AccessDenied, NotFound
from ..metrics import CONTENT_TYPE
from ..parsing import client_address
from ..responses import json_response
from ..runtime import Runtime
from ..settings import is_loopback_host
from . import runtime_of

router = APIRouter()


class _Rendered(Response):
    """A response whose body and raw headers were rendered in advance (the JWKS)."""

    def __init__(self, status: int, body: bytes, headers: tuple[tuple[bytes, bytes], ...]):
        self.status_code = status
        self.body = body
        self.background = None
        self.raw_headers = list(headers)


JWKS_PATH = "/.well-known/jwks.json"
_OBJECT: dict[str, Any] = {"type": "object"}
_JWKS = {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array"}}}


def jwks_response(cache: Any, if_none_match: str | None) -> Response:
    """The JWKS answer from the pre-rendered document (304 when the client's ETag matches).
    The edge middleware answers ``GET`` with it before routing; the route is the fallback."""
    if if_none_match == cache.etag:
        return _Rendered(304, b"", cache.not_modified_headers)
    return _Rendered(200, cache.body, cache.headers)


@router.get(
    JWKS_PATH,
    responses={
        200: {"description": "the JWK Set", "content": {"application/json": {"schema": _JWKS}}},
        304: {"description": "not modified (If-None-Match)"},
    },
)
async def jwks(request: Request) -> Response:
    return jwks_response(runtime_of(request).jwks, request.headers.get("if-none-match"))


class _ServerFacts(TypedDict):
    issuer: str
    grant_types: Collection[str]
    auth_methods: Collection[str]
    assertion_algorithms: Collection[str]
    scopes: Collection[str]
    access_token_algorithms: Collection[str]


def _what_the_server_does(runtime: Runtime) -> _ServerFacts:
    """The members both metadata documents (RFC 8414 here, Discovery 1.0 in ``routes/oidc.py``)
    read from the running server: what is enabled, never what could be."""
    settings = runtime.settings
    return {
        "issuer": settings.issuer_url,
        "grant_types": runtime.grants.grant_types,
        "auth_methods": runtime.client_auth.methods,
        "assertion_algorithms": ASSERTION_ALGORITHMS,
        "scopes": settings.scopes,
        "access_token_algorithms": [settings.signing_algorithm],
    }


async def metadata(request: Request) -> Response:
    """RFC 8414 metadata (at the paths of ``oauth.metadata.metadata_paths``, mounted by the
    app). The OpenID Provider document (Discovery 1.0) is ``routes/oidc.py``'s."""
    runtime = runtime_of(request)
    base = runtime.settings.issuer_url.rstrip("/")
    body = authorization_server_metadata(
        **_what_the_server_does(runtime),
        authorization_endpoint=runtime.authorization_endpoint,
        extra={
            "jwtwarden_login_endpoint": f"{base}/auth/login",
            "jwtwarden_logout_endpoint": f"{base}/auth/logout",
            "jwtwarden_password_endpoint": f"{base}/auth/password",
        },
    )
    return json_response(body, headers={"Cache-Control": "public, max-age=3600"})


def metadata_routes(issuer: str) -> list[Any]:
    """The metadata route at each RFC 8414 path for ``issuer`` (3.1)."""
    paths = metadata_paths(issuer)
    metadata_router = APIRouter()
    for path in paths:
        metadata_router.add_api_route(
            path, metadata, methods=["GET"], responses=api.responses(200, _OBJECT)
        )
    return list(metadata_router.routes)


@router.get("/healthz", responses=api.responses(200, api.STATUS))
async def health() -> Response:
    return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get(
    "/metrics",
    response_class=Response,  # Prometheus text, not the JSON FastAPI would document
    responses={
        **api.responses(200, None, 403, 404),
        200: {"description": "Prometheus text format", "content": {CONTENT_TYPE: {}}},
    },
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: to loopback peers, or to anyone with ``JWTWARDEN_METRICS_TOKEN``
    as a Bearer token. Login, reuse and rate-limit counters tell an attacker whether an
    attack is being noticed: they are not for the public side of an auth server."""
    runtime = runtime_of(request)
    settings = runtime.settings
    if not settings.metrics:
        raise NotFound()
    token = settings.metrics_token
    if token is not None:
        presented = request.headers.get("authorization", "")
        expected = "Bearer " + token.get_secret_value()
        if not hmac.compare_digest(presented.encode(), expected.encode()):
            raise AccessDenied("metrics need the metrics token (Authorization: Bearer ...)")
    elif not is_loopback_host(client_address(request)):
        raise AccessDenied("metrics are served to loopback clients (or set a metrics token)")
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE)
