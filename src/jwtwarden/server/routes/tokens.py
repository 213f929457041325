"""Rendering tokens, in a body (RFC 6749 5.1) or (cookie mode) in cookies."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ...oauth.grants import TokenResult
from ...sessions.service import TokenPair
from ..responses import token_response
from ..runtime import Runtime

__all__ = ["render_tokens"]


def render_tokens(
    runtime: Runtime, pair: TokenPair | TokenResult, *, cookie_mode: bool
) -> Response:
    """RFC 6749 5.1 body; in cookie mode the refresh token (and optionally the access token)
    goes only in cookies and the body carries the CSRF token instead: the session's own
    (``CookiePolicy.csrf_token``), never a value read from the request. A grant's ``extra``
    members (``id_token``, later) never override the standard ones."""
    body: dict[str, Any] = {"token_type": "Bearer", "expires_in": pair.expires_in}
    if pair.scope:
        body["scope"] = pair.scope
    extra = pair.extra if isinstance(pair, TokenResult) else {}
    if not cookie_mode or pair.refresh_token is None or pair.session_id is None:
        body["access_token"] = pair.access_token
        if pair.refresh_token is not None:
            body["refresh_token"] = pair.refresh_token
        body.update((k, v) for k, v in extra.items() if k not in body)
        return token_response(body)
    csrf = runtime.cookies.csrf_token(pair.session_id)
    if not runtime.cookies.access_cookie:
        body["access_token"] = pair.access_token
    body["csrf_token"] = csrf
    body.update((k, v) for k, v in extra.items() if k not in body)
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
