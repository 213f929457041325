"""Example: a server-rendered FastAPI app whose users sign in with an OpenID provider.

Run it next to ``jwtwarden serve`` (or any OpenID provider where the client is registered
with the redirect URI ``$WEBAPP_BASE_URL/callback``)::

    WEBAPP_ISSUER=http://127.0.0.1:8000 WEBAPP_CLIENT_ID=webapp WEBAPP_CLIENT_SECRET=... \
    WEBAPP_BASE_URL=http://127.0.0.1:5000 WEBAPP_SESSION_SECRET=$(openssl rand -base64 32) \
    WEBAPP_ALLOW_LOOPBACK_HTTP=1 uvicorn examples.webapp:app --port 5000

Routes: ``/`` (public), ``/me`` (sign-in required; the e-mail in ``#user``), ``/login``,
``/callback``, ``/logout`` (the SDK's), ``/spa`` (the single-page pattern: the access token in
the page's memory only, fetched from the backend-for-frontend route ``POST /bff/token`` with
the HttpOnly session cookie and the CSRF header).

Optional: ``WEBAPP_AUDIENCE`` (the API audience: access tokens verified as RFC 9068 JWTs),
``WEBAPP_REFRESH_MARGIN`` (seconds, default 30), ``WEBAPP_OLD_SESSION_SECRETS`` (comma-separated,
for rotation), ``WEBAPP_ALLOW_LOOPBACK_HTTP=1`` (development: provider and app on loopback http).
"""

from __future__ import annotations

import html
import os
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from jwtwarden.webapp import WebAppSettings, WebUser
from jwtwarden.webapp.starlette import (
    WebApp,
    csrf_protect,
    csrf_token,
    current_session,
    require_user,
)


def _csp(settings: WebAppSettings) -> str:
    # form-action names the provider: the sign-out form's redirect goes there.
    return (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
        f"form-action 'self' {settings.provider_origin}; frame-ancestors 'none'; base-uri 'none'"
    )


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


_CSS = """
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f5f6f8;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1d21; }
main { background: #fff; border: 1px solid #d5d8dd; border-radius: 10px; padding: 2rem 2.5rem;
  min-width: 20rem; max-width: 32rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
a { color: #0b5cad; }
#user { font-weight: 600; }
button { font: inherit; font-weight: 600; color: #fff; background: #0b5cad; border: 0;
  border-radius: 6px; padding: 0.6rem 1.2rem; cursor: pointer; }
"""


def _page(title: str, body: str, csp: str) -> HTMLResponse:
    document = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/app.css">'
        f"</head><body><main><h1>{title}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(document, headers={"Content-Security-Policy": csp})


_SPA_JS = """
// The single-page pattern: the access token lives in this closure only, never in
// localStorage, sessionStorage or a readable cookie; the HttpOnly session cookie and the CSRF
// header fetch a fresh one from the backend-for-frontend route when it is needed.
(() => {
  let accessToken = null;
  let expiresAt = 0;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  async function token() {
    if (accessToken === null || Date.now() / 1000 > expiresAt - 5) {
      const r = await fetch('/bff/token', {method: 'POST', headers: {'X-CSRF-Token': csrf}});
      if (!r.ok) throw new Error('token ' + r.status);
      const body = await r.json();
      accessToken = body.access_token;
      expiresAt = body.expires_at || 0;
    }
    return accessToken;
  }
  token().then(
    (t) => { document.getElementById('spa').textContent = 'in memory: ' + t.length + ' chars'; },
    (e) => { document.getElementById('spa').textContent = 'no token: ' + e.message; },
  );
})();
"""


def create_app(settings: WebAppSettings) -> FastAPI:
    """The example app for ``settings``."""
    app = FastAPI(title="jwtwarden web-app example", docs_url=None, redoc_url=None)
    WebApp(settings).install(app)
    csp = _csp(settings)

    @app.get("/", response_class=HTMLResponse)
    async def home() -> HTMLResponse:
        return _page("Welcome", '<p><a id="me" href="/me">Your account</a></p>', csp)

    @app.get("/me", response_class=HTMLResponse)
    async def me(request: Request, user: WebUser = Depends(require_user)) -> HTMLResponse:
        email = html.escape(user.email or user.sub)
        token = html.escape(csrf_token(request))
        return _page(
            "Signed in",
            f'<p>Signed in as <span id="user">{email}</span></p>'
            '<p><a href="/spa">The single-page example</a></p>'
            '<form method="post" action="/logout">'
            f'<input type="hidden" name="csrf_token" value="{token}">'
            '<button id="sign-out" type="submit">Sign out</button></form>',
            csp,
        )

    @app.get("/spa", response_class=HTMLResponse)
    async def spa(request: Request, user: WebUser = Depends(require_user)) -> HTMLResponse:
        token = html.escape(csrf_token(request))
        script = '<p id="spa">loading</p><script src="/spa.js"></script>'
        response = _page("Single-page example", script, csp)
        body = bytes(response.body).replace(
            b"<head>", f'<head><meta name="csrf-token" content="{token}">'.encode(), 1
        )
        return HTMLResponse(body, headers={"Content-Security-Policy": csp})

    @app.get("/app.css")
    async def app_css() -> Response:
        return Response(_CSS, media_type="text/css")

    @app.get("/spa.js")
    async def spa_js() -> Response:
        return Response(_SPA_JS, media_type="text/javascript")

    @app.post("/bff/token", dependencies=[Depends(csrf_protect)])
    async def bff_token(request: Request) -> JSONResponse:
        session = await current_session(request)
        if session is None:
            return JSONResponse({"error": "sign_in_required"}, status_code=401)
        body: dict[str, Any] = {
            "access_token": session.access_token,
            "expires_at": session.access_expires_at,
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return app


app = create_app(settings_from_env())
