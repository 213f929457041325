"""``POST /auth/login``, ``POST /auth/logout``, ``POST /auth/password``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidCredentialsError, InvalidTokenError, RateLimitedError
from ...sessions.service import normalize_email
from .. import openapi as api
from ..errors import NO_STORE, InvalidGrant, InvalidRequest, InvalidToken
from ..parsing import (
    bearer_token,
    client_address,
    form_body,
    json_body,
    optional_string,
    required_string,
)
from ..responses import json_response
from ..runtime import Runtime
from . import authenticate, check_password_guess, runtime_of
from .tokens import render_tokens

router = APIRouter()
_S = {"type": "string"}


def _cookie_mode(request: Request, runtime: Runtime) -> bool:
    """Which way a login answers (see ``server.cookies``)."""
    mode = request.query_params.get("mode")
    if mode not in (None, "cookie", "body"):
        raise InvalidRequest("mode must be 'cookie' or 'body'")
    if runtime.settings.cookie_mode:
        if mode == "body":
            # Else an injected script could simply ask for the refresh token in a body.
            raise InvalidRequest("this server answers logins in cookie mode only")
        return True
    if mode == "cookie":
        if not runtime.settings.allowed_origins:
            raise InvalidRequest("cookie mode is not configured (allowed_origins)")
        return True
    return False


@router.post(
    "/auth/login",
    responses=api.responses(200, api.TOKENS, 400, 403, *api.EDGE, 415, 429, *api.STORE),
    openapi_extra=api.json_body(
        {"email": _S, "password": _S, "client_id": _S, "scope": _S}, ("email", "password")
    ),
)
async def login(request: Request) -> Response:
    runtime = runtime_of(request)
    cookie_mode = _cookie_mode(request, runtime)
    if cookie_mode:
        # Login CSRF: a cross-site page must not log the browser into another account.
        runtime.cookies.check_origin(request)
    data = await json_body(request)
    email = required_string(data, "email", max_length=320)
    password = required_string(data, "password", max_length=4096)
    client_id = optional_string(data, "client_id", max_length=128)
    scope = optional_string(data, "scope", max_length=1024)
    settings = runtime.settings
    if client_id is not None and client_id not in (settings.client_id, *settings.client_ids):
        raise InvalidRequest("unknown client_id")
    account = normalize_email(email) or email.strip().lower()
    try:
        await runtime.limiter.check(account=account, address=client_address(request))
    except RateLimitedError:
        runtime.metrics.logins.labels("rate_limited").inc()
        runtime.metrics.rate_limited.labels("login").inc()
        raise
    pair = await runtime.service.login(email, password, client_id=client_id, scope=scope)
    return render_tokens(runtime, pair, cookie_mode=cookie_mode)


async def _optional_body(request: Request) -> dict[str, Any]:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "application/json":
        return await json_body(request)
    return dict(await form_body(request, allow_empty=True))


async def _session_of_access_token(request: Request, runtime: Runtime) -> tuple[str | None, bool]:
    """The ``sid`` of the caller's access token, ``None`` when the token does not verify (its
    session already ended, revoked, expired, not ours); and whether it came from the cookie.

    Logout follows RFC 7009 2.2: ending a session is idempotent, so a token that no longer
    verifies is answered like a live one (200), not 401: the client's goal, no session, holds.
    The cross-site checks still refuse (403), and a denylist that cannot answer is a 503."""
    from_cookie = bearer_token(request) is None
    try:
        verified, from_cookie = await authenticate(request, runtime)
    except (InvalidToken, InvalidTokenError):
        return None, from_cookie
    sid = verified.claims.get("sid")
    return (sid if isinstance(sid, str) else None), from_cookie


@router.post(
    "/auth/logout",
    # 400 and 403 of BEARER (a malformed header, CSRF); never 401 (RFC 7009 2.2 semantics)
    responses=api.responses(200, api.STATUS, 400, 403, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.json_body({"refresh_token": _S}, optional=True),
)
async def logout(request: Request) -> Response:
    """End the session of a refresh token (body or cookie) or of a bearer access token."""
    runtime = runtime_of(request)
    data = await _optional_body(request)
    token = optional_string(data, "refresh_token", max_length=256)
    from_cookie = False
    if token is None:
        token = runtime.cookies.refresh_cookie(request)
        if token is not None:
            runtime.cookies.check_origin(request)
            runtime.cookies.check_csrf(request, await runtime.service.session_of(token))
            from_cookie = True
    session_id = None
    if token is None:
        if bearer_token(request) is None and runtime.cookies.access_cookie_value(request) is None:
            raise InvalidRequest("send a refresh token, the session cookie or an access token")
        session_id, from_cookie = await _session_of_access_token(request, runtime)
    await runtime.service.logout(refresh_token=token, session_id=session_id)
    response = json_response({"status": "logged_out"}, headers=dict(NO_STORE))
    if from_cookie:
        runtime.cookies.clear(response)
    return response


@router.post(
    "/auth/password",
    responses=api.responses(200, api.STATUS, *api.BEARER, *api.EDGE, 415, 429, *api.STORE),
    openapi_extra=api.json_body(
        {"current_password": _S, "new_password": _S}, ("current_password", "new_password")
    ),
)
async def change_password(request: Request) -> Response:
    """Change the caller's password: bumps the auth version, ends every session."""
    runtime = runtime_of(request)
    verified, from_cookie = await authenticate(request, runtime)
    data = await json_body(request)
    current = required_string(data, "current_password", max_length=4096)
    new = required_string(data, "new_password", max_length=4096)
    user_id = str(verified.claims["sub"])
    # A current-password check is a password guess: it spends the same per-account and
    # per-address budget as a login (the bucket of the account's email), so a stolen access
    # token cannot add its own budget of guesses to the attacker's logins.
    await check_password_guess(request, runtime, user_id, metric="password")
    try:
        await runtime.service.change_password(user_id, current, new)
    except InvalidCredentialsError:
        raise InvalidGrant("the current password is wrong") from None
    response = json_response({"status": "password_changed"}, headers=dict(NO_STORE))
    if from_cookie:
        runtime.cookies.clear(response)
    return response
