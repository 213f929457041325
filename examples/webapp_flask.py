"""Example: examples/webapp.py for Flask (the same routes and environment variables).

    WEBAPP_ISSUER=... WEBAPP_CLIENT_ID=... WEBAPP_CLIENT_SECRET=... WEBAPP_BASE_URL=... \
    WEBAPP_SESSION_SECRET=... WEBAPP_ALLOW_LOOPBACK_HTTP=1 \
        flask --app examples.webapp_flask:app run --port 5000

``/`` is public, ``/me`` needs sign-in and shows the e-mail in ``#user``; ``/login``,
``/callback`` and ``/logout`` are the SDK's.
"""

from __future__ import annotations

import html
import os

from flask import Flask, Response

from jwtwarden.webapp import WebAppSettings, WebUser
from jwtwarden.webapp.flask import FlaskWebApp, csrf_token, require_user


def settings_from_env() -> WebAppSettings:
    """The settings named by the ``WEBAPP_*`` environment variables."""
    env = os.environ
    old = [s for s in env.get("WEBAPP_OLD_SESSION_SECRETS", "").split(",") if s]
    return WebAppSettings(
        issuer=env["WEBAPP_ISSUER"],
        client_id=env["WEBAPP_CLIENT_ID"],
        client_secret=env.get("WEBAPP_CLIENT_SECRET") or None,
        base_url=env["WEBAPP_BASE_URL"],
        session_secrets=[env["WEBAPP_SESSION_SECRET"], *old],
        audience=env.get("WEBAPP_AUDIENCE") or None,
        refresh_margin=float(env.get("WEBAPP_REFRESH_MARGIN", "30")),
        allow_loopback_http=env.get("WEBAPP_ALLOW_LOOPBACK_HTTP") == "1",
    )


def create_app(settings: WebAppSettings) -> Flask:
    """The example app for ``settings``."""
    app = Flask(__name__)
    FlaskWebApp(settings).init_app(app)
    csp = (
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
        f"form-action 'self' {settings.provider_origin}"
    )

    def page(title: str, body: str) -> Response:
        document = (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"</head><body><main><h1>{title}</h1>{body}</main></body></html>"
        )
        return Response(document, mimetype="text/html", headers={"Content-Security-Policy": csp})

    @app.get("/")
    def home() -> Response:
        return page("Welcome", '<p><a id="me" href="/me">Your account</a></p>')

    @app.get("/me")
    @require_user
    def me(user: WebUser) -> Response:
        return page(
            "Signed in",
            f'<p>Signed in as <span id="user">{html.escape(user.email or user.sub)}</span></p>'
            '<form method="post" action="/logout">'
            f'<input type="hidden" name="csrf_token" value="{html.escape(csrf_token())}">'
            '<button id="sign-out" type="submit">Sign out</button></form>',
        )

    return app


app = create_app(settings_from_env())
