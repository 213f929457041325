"""``POST /oauth/token`` (RFC 6749 3.2 and 6, grants in ``oauth/grants/``), ``/oauth/revoke``
(RFC 7009) and ``/oauth/introspect`` (RFC 7662), each authenticating its client."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidClientError, InvalidGrantError, InvalidTokenError
from ...oauth.authentication import AUTHENTICATION_PARAMETERS, AuthenticatedClient
from ...oauth.grants import TokenRequest
from ...sessions.ports import SessionRecord
from ...sessions.tokens import REFRESH_TOKEN_PREFIX, refresh_token_hash
from .. import openapi as api
from ..errors import NO_STORE, InvalidRequest, UnauthorizedClient, UnsupportedGrantType
from ..parsing import basic_credentials, form_body, required_string
from ..responses import json_response
from ..runtime import Runtime
from . import runtime_of
from .tokens import render_tokens

router = APIRouter()
_S = {"type": "string"}
# RFC 6749 2.3.1 and RFC 7523 2.2: the client authentication members of a form.
_CLIENT = {
    "client_id": _S,
    "client_secret": _S,
    "client_assertion": _S,
    "client_assertion_type": _S,
}

_INTROSPECTED = ("scope", "client_id", "sub", "exp", "iat", "nbf", "iss", "aud", "jti", "sid")


@router.post(
    "/oauth/token",
    responses=api.responses(200, api.TOKENS, 400, 401, 403, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.form_body(
        {
            "grant_type": _S,
            "code": _S,
            "redirect_uri": _S,
            "code_verifier": _S,
            "refresh_token": _S,
            "scope": _S,
            "resource": _S,
            **_CLIENT,
        },
        ("grant_type",),
    ),
)
async def token(request: Request) -> Response:
    runtime = runtime_of(request)
    form = await form_body(request)
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise InvalidRequest("grant_type is required")
    grant = runtime.grants.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType()
    from_cookie, session = False, None
    if grant_type == "refresh_token":
        form, from_cookie, session = await _refresh_token_source(request, runtime, form)
    authenticated = await _client(
        request, runtime, form, anonymous_ok=grant_type == "refresh_token"
    )
    client = authenticated.client
    if not client.allows_grant(grant_type):
        raise UnauthorizedClient(f"this client may not use {grant_type}")
    parameters = {
        name: value
        for name, value in form.items()
        if name not in AUTHENTICATION_PARAMETERS and name != "grant_type"
    }
    result = await grant.exchange(
        TokenRequest(
            grant_type=grant_type,
            parameters=parameters,
            client=client,
            authentication_method=authenticated.method,
            from_cookie=from_cookie,
            session=session,
        )
    )
    return render_tokens(runtime, result, cookie_mode=from_cookie)


async def _refresh_token_source(
    request: Request, runtime: Runtime, form: dict[str, str]
) -> tuple[dict[str, str], bool, SessionRecord | None]:
    """The form with the refresh token from the body, or (first-party browsers) from the
    session cookie after the Origin and CSRF checks; whether it came from the cookie; and then
    its session, read for the CSRF check (the refresh reuses it instead of reading it again)."""
    if "refresh_token" in form:
        if runtime.settings.cookie_mode:
            raise InvalidRequest("this server takes refresh tokens from its cookie only")
        return form, False, None
    refresh_token = runtime.cookies.refresh_cookie(request)
    if refresh_token is None:
        raise InvalidRequest("refresh_token is required")
    # The CSRF token must be the one of the cookie's session, checked before the refresh
    # token is spent: a refused request leaves the session as it was.
    runtime.cookies.check_origin(request)
    session = await runtime.service.session_for(refresh_token)
    runtime.cookies.check_csrf(request, None if session is None else session.id)
    return {**form, "refresh_token": refresh_token}, True, session


async def _client(
    request: Request, runtime: Runtime, form: dict[str, str], *, anonymous_ok: bool
) -> AuthenticatedClient:
    return await runtime.client_auth.authenticate(
        authorization=request.headers.get("authorization"), form=form, anonymous_ok=anonymous_ok
    )


@router.post(
    "/oauth/revoke",
    response_class=Response,  # RFC 7009 2.2: a 200 with no body (FastAPI would document JSON)
    responses=api.responses(200, None, 400, 401, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.form_body({"token": _S, "token_type_hint": _S, **_CLIENT}, ("token",)),
)
async def revoke(request: Request) -> Response:
    """RFC 7009: the client authenticates (2.1; a public client names itself, a request naming
    none is the first-party client, as before clients were registered); a token of another
    client is refused with ``invalid_grant`` (2.1, as Authlib does) and left alone; any other
    token, valid or not, gets 200 (2.2)."""
    runtime = runtime_of(request)
    form = await form_body(request)
    value = required_string(form, "token", max_length=8192)
    client_id = (await _client(request, runtime, form, anonymous_ok=True)).client.client_id
    if value.startswith(REFRESH_TOKEN_PREFIX):
        digest = refresh_token_hash(value)
        session = None if digest is None else await runtime.sessions.session_by_token(digest)
        if session is not None:
            if not _same_client(runtime, session.client_id, client_id):
                raise InvalidGrantError("the token was issued to another client")
            await runtime.service.revoke_refresh_token(value)
    else:
        try:
            verified = await runtime.verify_access_token(value, hooks=False)
        except InvalidTokenError:
            pass  # RFC 7009 2.2: an invalid token is not an error
        else:
            if not _same_client(runtime, verified.claims.get("client_id"), client_id):
                raise InvalidGrantError("the token was issued to another client")
            await runtime.service.revoke_access_token(verified.claims)
    return Response(status_code=200, headers=NO_STORE)


def _same_client(runtime: Runtime, issued_to: object, requester: str) -> bool:
    # The first-party ids (settings.client_id and the names /auth/login accepts) are one
    # unauthenticated client: any of them revokes a first-party token, as before.
    settings = runtime.settings
    first_party = (settings.client_id, *settings.client_ids)
    return issued_to == requester or (issued_to in first_party and requester in first_party)


async def _introspecting_client(request: Request, runtime: Runtime, form: dict[str, str]) -> None:
    """RFC 7662 2.1: the settings' introspection client (HTTP Basic, as before), or any
    registered confidential client, authenticated by its own method."""
    settings = runtime.settings
    configured_id = settings.introspection_client_id
    configured = settings.introspection_client_secret
    header = request.headers.get("authorization")
    if configured_id is not None and configured is not None and header is not None:
        credentials = basic_credentials(request)
        if configured_id in (credentials.raw_id, credentials.form_id):
            # Raw and form-urlencoded forms, each compared in constant time.
            if not credentials.matches(configured_id, configured.get_secret_value()):
                raise InvalidClientError("wrong introspection secret", header_used=True)
            return
    authenticated = await _client(request, runtime, form, anonymous_ok=False)
    if authenticated.client.is_public:
        raise InvalidClientError("introspection is for confidential clients")


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
    openapi_extra=api.form_body({"token": _S, "token_type_hint": _S, **_CLIENT}, ("token",)),
)
async def introspect(request: Request) -> Response:
    """RFC 7662 for access tokens. Inactive is just ``{"active": false}``; a denylist that
    cannot answer is a 503, never an ``active`` answer."""
    runtime = runtime_of(request)
    form = await form_body(request)
    await _introspecting_client(request, runtime, form)
    value = required_string(form, "token", max_length=8192)
    try:
        verified = await runtime.verify_access_token(value)
    except InvalidTokenError:
        return json_response({"active": False}, headers=NO_STORE)
    claims = verified.claims
    body: dict[str, Any] = {"active": True, "token_type": "Bearer"}
    body.update((name, claims[name]) for name in _INTROSPECTED if name in claims)
    return json_response(body, headers=NO_STORE)
