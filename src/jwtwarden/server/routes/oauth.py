"""``POST /oauth/token`` (RFC 6749 section 6), ``/oauth/revoke`` (RFC 7009) and
``/oauth/introspect`` (RFC 7662)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidTokenError
from ...sessions.tokens import REFRESH_TOKEN_PREFIX
from .. import openapi as api
from ..errors import NO_STORE, InvalidClient, InvalidRequest, UnsupportedGrantType
from ..parsing import basic_credentials, form_body, optional_string, required_string
from ..responses import json_response
from . import runtime_of
from .tokens import render_tokens

router = APIRouter()
_S = {"type": "string"}

_INTROSPECTED = ("scope", "client_id", "sub", "exp", "iat", "nbf", "iss", "aud", "jti", "sid")


@router.post(
    "/oauth/token",
    responses=api.responses(200, api.TOKENS, 400, 403, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.form_body(
        {"grant_type": _S, "refresh_token": _S, "scope": _S, "client_id": _S}, ("grant_type",)
    ),
)
async def token(request: Request) -> Response:
    runtime = runtime_of(request)
    form = await form_body(request)
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise InvalidRequest("grant_type is required")
    if grant_type != "refresh_token":
        raise UnsupportedGrantType()
    refresh_token = optional_string(form, "refresh_token", max_length=256)
    from_cookie = False
    if refresh_token is None:
        refresh_token = runtime.cookies.refresh_cookie(request)
        if refresh_token is None:
            raise InvalidRequest("refresh_token is required")
        # The CSRF token must be the one of the cookie's session, checked before the refresh
        # token is spent: a refused request leaves the session as it was.
        runtime.cookies.check_origin(request)
        session_id = await runtime.service.session_of(refresh_token)
        runtime.cookies.check_csrf(request, session_id)
        from_cookie = True
    elif runtime.settings.cookie_mode:
        raise InvalidRequest("this server takes refresh tokens from its cookie only")
    pair = await runtime.service.refresh(
        refresh_token,
        scope=optional_string(form, "scope", max_length=1024),
        client_id=optional_string(form, "client_id", max_length=128),
    )
    return render_tokens(runtime, pair, cookie_mode=from_cookie)


@router.post(
    "/oauth/revoke",
    response_class=Response,  # RFC 7009 2.2: a 200 with no body (FastAPI would document JSON)
    responses=api.responses(200, None, 400, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.form_body({"token": _S, "token_type_hint": _S}, ("token",)),
)
async def revoke(request: Request) -> Response:
    """RFC 7009: 200 whether or not the token was valid (2.2); refresh tokens end their
    session, access tokens are denied by ``jti`` until they expire."""
    runtime = runtime_of(request)
    form = await form_body(request)
    value = required_string(form, "token", max_length=8192)
    if value.startswith(REFRESH_TOKEN_PREFIX):
        await runtime.service.revoke_refresh_token(value)
    else:
        try:
            verified = await runtime.verify_access_token(value, hooks=False)
        except InvalidTokenError:
            pass  # RFC 7009 2.2: an invalid token is not an error
        else:
            await runtime.service.revoke_access_token(verified.claims)
    return Response(status_code=200, headers=NO_STORE)


def _client_ok(request: Request, configured_id: str | None, configured: Any) -> None:
    credentials = basic_credentials(request)
    if configured_id is None or configured is None:
        raise InvalidClient("introspection is not configured on this server")
    # Raw and form-urlencoded forms, every comparison in constant time (see BasicCredentials).
    if not credentials.matches(configured_id, configured.get_secret_value()):
        raise InvalidClient()


@router.post(
    "/oauth/introspect",
    responses=api.responses(
        200,
        {"type": "object", "required": ["active"], "properties": {"active": {"type": "boolean"}}},
        400,
        401,
        *api.EDGE,
        415,
        *api.STORE,
    ),
    openapi_extra=api.form_body({"token": _S, "token_type_hint": _S}, ("token",)),
)
async def introspect(request: Request) -> Response:
    """RFC 7662 for access tokens. Inactive is just ``{"active": false}``; a denylist that
    cannot answer is a 503, never an ``active`` answer."""
    runtime = runtime_of(request)
    settings = runtime.settings
    _client_ok(request, settings.introspection_client_id, settings.introspection_client_secret)
    form = await form_body(request)
    value = required_string(form, "token", max_length=8192)
    try:
        verified = await runtime.verify_access_token(value)
    except InvalidTokenError:
        return json_response({"active": False}, headers=NO_STORE)
    claims = verified.claims
    body: dict[str, Any] = {"active": True, "token_type": "Bearer"}
    body.update((name, claims[name]) for name in _INTROSPECTED if name in claims)
    return json_response(body, headers=NO_STORE)
