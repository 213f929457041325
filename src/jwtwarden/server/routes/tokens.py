"""Rendering a token pair, in a body or (cookie mode) in cookies."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ...sessions.service import TokenPair
from ..responses import token_response
from ..runtime import Runtime

__all__ = ["render_tokens"]


def render_tokens(runtime: Runtime, pair: TokenPair, *, cookie_mode: bool) -> Response:
    """RFC 6749 5.1 body; in cookie mode the refresh token (and optionally the access token)
    goes only in cookies and the body carries the CSRF token instead: the session's own
    (``CookiePolicy.csrf_token``), never a value read from the request."""
    body: dict[str, Any] = {"token_type": "Bearer", "expires_in": pair.expires_in}
    if pair.scope:
        body["scope"] = pair.scope
    if not cookie_mode:
        body["access_token"] = pair.access_token
        body["refresh_token"] = pair.refresh_token
        return token_response(body)
    csrf = runtime.cookies.csrf_token(pair.session_id)
    if not runtime.cookies.access_cookie:
        body["access_token"] = pair.access_token
    body["csrf_token"] = csrf
    response = token_response(body)
    runtime.cookies.set_session(
        response,
        refresh_token=pair.refresh_token,
        refresh_max_age=runtime.settings.refresh_idle_ttl,
        access_token=pair.access_token,
        access_max_age=pair.expires_in,
        csrf_token=csrf,
    )
    return response
