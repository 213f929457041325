"""OpenID Connect: ``GET/POST /oauth/userinfo`` (Core 5.3) and
``/.well-known/openid-configuration`` (Discovery 1.0 3, 4). The end-session endpoint
(RP-Initiated Logout 1.0) is in ``routes/end_session.py``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidScopeError
from ...oauth.oidc_metadata import openid_configuration, openid_configuration_paths
from ...oauth.scopes import scope_items
from ...oauth.userinfo import userinfo_claims
from .. import openapi as api
from ..errors import NO_STORE, InsufficientScope, InvalidRequest, InvalidToken, NotFound
from ..parsing import bearer_token, form_body
from ..responses import json_response
from ..runtime import Runtime
from . import runtime_of
from .discovery import _what_the_server_does

__all__ = ["openid_configuration_routes", "router"]

router = APIRouter()
_OBJECT: dict[str, Any] = {"type": "object"}
_USERINFO = {"type": "object", "required": ["sub"], "properties": {"sub": {"type": "string"}}}
# RFC 6750 3: a request with no credentials at all gets the challenge without an error code.
_NO_CREDENTIALS = {"WWW-Authenticate": 'Bearer realm="jwtwarden"'}


@router.get("/oauth/userinfo", responses=api.responses(200, _USERINFO, 400, 401, 403, *api.STORE))
async def userinfo_get(request: Request) -> Response:
    return await _userinfo(request, runtime_of(request), bearer_token(request))


@router.post(
    "/oauth/userinfo",
    responses=api.responses(200, _USERINFO, 400, 401, 403, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.form_body({"access_token": {"type": "string", "maxLength": 8192}}),
)
async def userinfo_post(request: Request) -> Response:
    header = bearer_token(request)
    form = await form_body(request, allow_empty=True)
    in_body = form.get("access_token")
    if header is not None and in_body is not None:
        # RFC 6750 2: "Clients MUST NOT use more than one method to transmit the token".
        raise InvalidRequest("send the access token in one place: the header or the body")
    return await _userinfo(request, runtime_of(request), header or in_body)


async def _userinfo(request: Request, runtime: Runtime, token: str | None) -> Response:
    """Core 5.3.1: a user's access token (RFC 9068, every revocation check) granted
    ``openid``; the claims of its scope, read from the account now."""
    if token is None:
        raise InvalidToken("an access token is required", headers=_NO_CREDENTIALS)
    if len(token) > 8192:
        raise InvalidToken()
    # The access-token profile: an ID token (typ JWT, its own key, nonce) is refused here.
    verified = await runtime.verify_access_token(token)
    claims = verified.claims
    granted = claims.get("scope")
    try:
        scope = scope_items(granted) if isinstance(granted, str) else frozenset()
    except InvalidScopeError:
        scope = frozenset()
    if "openid" not in scope:
        raise InsufficientScope("openid", "the access token was not granted the openid scope")
    user = await runtime.users.user_by_id(str(claims["sub"]))
    if user is None or user.disabled:
        # The auth-version check refuses these already; a race with a deletion lands here.
        raise InvalidToken(log_detail="the token's user is disabled or gone")
    return json_response(userinfo_claims(user, scope), headers=dict(NO_STORE))


async def openid_configuration_document(request: Request) -> Response:
    """Discovery 1.0 3, only while the authorization endpoint exists (404 before: a client
    must not take this server for an OpenID Provider that cannot sign anyone in)."""
    runtime = runtime_of(request)
    if runtime.authorization_endpoint is None:
        raise NotFound()
    body = openid_configuration(
        **_what_the_server_does(runtime), authorization_endpoint=runtime.authorization_endpoint
    )
    return json_response(body, headers={"Cache-Control": "public, max-age=3600"})


def openid_configuration_routes(issuer: str) -> list[Any]:
    """The discovery route at each path of ``openid_configuration_paths``."""
    discovery_router = APIRouter()
    for path in openid_configuration_paths(issuer):
        discovery_router.add_api_route(
            path,
            openid_configuration_document,
            methods=["GET"],
            responses=api.responses(200, _OBJECT, 404),
        )
    return list(discovery_router.routes)
