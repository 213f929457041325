"""Example: a Flask resource server trusting one issuer, keys fetched by discovery.

Run it next to the development server, which then issues tokens for this API's audience
and offers its scopes, which every account holds through the default role ``editor``
(the ``API_*`` variables are this app's own, apart from the server's ``JWTWARDEN_*``)::

    JWTWARDEN_AUDIENCE=https://api.example.com JWTWARDEN_SCOPES=items:read,items:write \
        JWTWARDEN_ROLES='{"editor": ["items:read", "items:write"]}' \
        JWTWARDEN_DEFAULT_ROLES=editor .venv/bin/jwtwarden serve
    API_ISSUER=http://127.0.0.1:8000 API_AUDIENCE=https://api.example.com \
        API_ALLOW_LOOPBACK_HTTP=1 flask --app 'examples.flask_app:app_from_env()' run --port 5001

then sign in asking for the scope (``{"email": ..., "password": ..., "scope": "items:read"}`` to
``POST /auth/login``) and call ``GET http://127.0.0.1:5001/items`` with the access token.
``API_ALLOW_LOOPBACK_HTTP=1`` is the development switch for an issuer on
``http://127.0.0.1``; in production ``API_ISSUER`` is the issuer's ``https`` URL.
``/items`` needs the ``items:read`` scope, ``/me`` any valid access token. The verified claims
are on ``flask.g.claims``. Refusals follow RFC 6750.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, g

from jwtwarden import VerificationPolicy, Verifier
from jwtwarden.cache import CachedVerifier
from jwtwarden.integrations.flask import JWTWarden, require_token
from jwtwarden.jwks import RemoteJWKS

ITEMS = ["apple", "pear"]


def create_app(verifier: Any) -> Flask:
    """The app, for any verifier (``Verifier``, ``CachedVerifier``, ...)."""
    app = Flask(__name__)
    JWTWarden(app, verifier, realm="example")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/me")
    @require_token
    def me() -> dict[str, Any]:
        return {"sub": g.claims["sub"]}

    @app.get("/items")
    @require_token(scopes=["items:read"])
    def list_items() -> dict[str, Any]:
        return {"owner": g.claims["sub"], "items": ITEMS}

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


def app_from_env() -> Flask:
    """The factory for ``flask --app``."""
    return create_app(verifier_from_env())
