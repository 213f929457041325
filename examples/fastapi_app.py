"""Example: a FastAPI resource server trusting one issuer, keys fetched by discovery.

Run it next to the development server, which then issues tokens for this API's audience
and offers its scopes, which every account holds through the default role ``editor``
(the ``API_*`` variables are this app's own, apart from the server's ``JWTWARDEN_*``)::

    JWTWARDEN_AUDIENCE=https://api.example.com JWTWARDEN_SCOPES=items:read,items:write \
        JWTWARDEN_ROLES='{"editor": ["items:read", "items:write"]}' \
        JWTWARDEN_DEFAULT_ROLES=editor .venv/bin/jwtwarden serve
    API_ISSUER=http://127.0.0.1:8000 API_AUDIENCE=https://api.example.com \
        API_ALLOW_LOOPBACK_HTTP=1 uvicorn --factory examples.fastapi_app:app_from_env --port 5001

then sign in asking for the scope (``{"email": ..., "password": ..., "scope": "items:read"}`` to
``POST /auth/login``) and call ``GET http://127.0.0.1:5001/items`` with the access token.
``API_ALLOW_LOOPBACK_HTTP=1`` is the development switch for an issuer on
``http://127.0.0.1``; in production ``API_ISSUER`` is the issuer's ``https`` URL. Every route
but ``/health`` needs a valid access token (RFC 9068, ``typ`` ``at+jwt``); ``/items`` needs
the ``items:read`` scope, ``POST /items`` ``items:write``. Refusals follow RFC 6750.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import Depends, FastAPI

from jwtwarden import VerificationPolicy, VerifiedToken, Verifier
from jwtwarden.cache import CachedVerifier
from jwtwarden.integrations.fastapi import require_token
from jwtwarden.jwks import RemoteJWKS

ITEMS = ["apple", "pear"]


def create_app(verifier: Any) -> FastAPI:
    """The app, for any verifier (``Verifier``, ``CachedVerifier``, ...)."""
    app = FastAPI(title="jwtwarden FastAPI example")
    signed_in = require_token(verifier)
    can_read = require_token(verifier, scopes=["items:read"])
    can_write = require_token(verifier, scopes=["items:write"])

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/me")
    async def me(token: VerifiedToken = Depends(signed_in)) -> dict[str, Any]:
        return {"sub": token.claims["sub"], "scope": token.claims.get("scope", "")}

    @app.get("/items")
    async def list_items(token: VerifiedToken = Depends(can_read)) -> dict[str, Any]:
        return {"owner": token.claims["sub"], "items": ITEMS}

    @app.post("/items")
    async def add_item(token: VerifiedToken = Depends(can_write)) -> dict[str, Any]:
        return {"added_by": token.claims["sub"]}

    return app


def verifier_from_env() -> CachedVerifier:
    """A cached verifier for the issuer and audience named in the environment."""
    issuer = os.environ["API_ISSUER"]
    jwks = RemoteJWKS.from_discovery(
        issuer, allow_loopback_http=os.environ.get("API_ALLOW_LOOPBACK_HTTP") == "1"
    )
    policy = VerificationPolicy.access_token(
        algorithms=os.environ.get("API_ALGORITHMS", "ES256").split(","),
        issuer=issuer,
        audience=os.environ["API_AUDIENCE"],
        keys=jwks,
    )
    return CachedVerifier(Verifier(policy))


def app_from_env() -> FastAPI:
    """The factory for ``uvicorn --factory``."""
    return create_app(verifier_from_env())
