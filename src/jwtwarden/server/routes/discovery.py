"""``GET /.well-known/jwks.json``, ``/.well-known/openid-configuration``, ``/healthz`` and
``/metrics``. The JWKS is served from memory (rebuilt when the key ring changes) with
``Cache-Control: max-age`` from the rotation timing and an ``ETag``."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..errors import NotFound
from ..metrics import CONTENT_TYPE
from ..responses import json_response
from . import runtime

router = APIRouter()


@router.get("/.well-known/jwks.json")
async def jwks(request: Request) -> Response:
    cache = runtime(request).jwks
    headers = {"Cache-Control": f"public, max-age={cache.max_age}", "ETag": cache.etag}
    if request.headers.get("if-none-match") == cache.etag:
        return Response(status_code=304, headers=headers)
    return Response(cache.body, media_type="application/json", headers=headers)


@router.get("/.well-known/openid-configuration")
@router.get("/.well-known/oauth-authorization-server")
async def metadata(request: Request) -> Response:
    parts = runtime(request)
    settings = parts.settings
    base = settings.issuer_url.rstrip("/")
    body = {
        "issuer": settings.issuer_url,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "grant_types_supported": ["refresh_token"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "scopes_supported": sorted(settings.scopes),
        "access_token_signing_alg_values_supported": [settings.signing_algorithm],
        "jwtwarden_login_endpoint": f"{base}/auth/login",
        "jwtwarden_logout_endpoint": f"{base}/auth/logout",
        "jwtwarden_password_endpoint": f"{base}/auth/password",
    }
    return json_response(body, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/healthz")
async def health() -> Response:
    return json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    parts = runtime(request)
    if not parts.settings.metrics:
        raise NotFound()
    return Response(parts.metrics.render(), media_type=CONTENT_TYPE)
