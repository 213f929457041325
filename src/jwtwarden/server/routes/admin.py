"""The admin API (``/admin/...``): users and signing keys. Only for users whose account has
``is_admin`` (read fresh from the database on every request, not from the token)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...accounts.admin import account_fields
from .. import openapi as api
from ..errors import AccessDenied, InvalidRequest, NotFound
from ..parsing import json_body, path_id, required_string
from ..responses import private_response
from ..runtime import Runtime
from . import authenticate, runtime_of

router = APIRouter(prefix="/admin")
_S = {"type": "string"}
_OBJECT: dict[str, Any] = {"type": "object"}
_USER = {"type": "object", "required": ["id", "email"], "properties": {"id": _S, "email": _S}}


def _query_int(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "integer"}}


async def _admin(request: Request) -> Runtime:
    runtime = runtime_of(request)
    verified, _ = await authenticate(request, runtime)
    user = await runtime.users.user_by_id(str(verified.claims["sub"]))
    if user is None or user.disabled or not user.is_admin:
        raise AccessDenied("administrators only")
    return runtime


def _bounded_int(request: Request, name: str, default: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # str.isdigit() is true for "²" and "٣" too: ASCII digits only, and few of them.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10) or not 0 <= int(raw) <= high:
        raise InvalidRequest(f"{name} must be an integer between 0 and {high}")
    return int(raw)


@router.post(
    "/users",
    responses=api.responses(201, _USER, *api.BEARER, 409, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.json_body(
        {"email": _S, "password": _S, "is_admin": {"type": "boolean"}}, ("email", "password")
    ),
)
async def create_user(request: Request) -> Response:
    runtime = await _admin(request)
    data = await json_body(request)
    email = required_string(data, "email", max_length=320)
    password = required_string(data, "password", max_length=4096)
    is_admin = data.get("is_admin", False)
    if not isinstance(is_admin, bool):
        raise InvalidRequest("is_admin must be a boolean")
    try:
        user = await runtime.service.create_user(email, password, is_admin=is_admin)
    except ValueError:
        raise InvalidRequest("email is not an email address") from None
    return private_response(account_fields(user), status=201)


@router.get(
    "/users",
    responses=api.responses(200, _OBJECT, *api.BEARER, *api.STORE),
    openapi_extra={"parameters": [_query_int("limit"), _query_int("offset")]},
)
async def list_users(request: Request) -> Response:
    runtime = await _admin(request)
    limit = _bounded_int(request, "limit", 100, 1000)
    offset = _bounded_int(request, "offset", 0, 10**9)
    users = await runtime.users.list_users(limit=limit, offset=offset)
    return private_response({"users": [account_fields(u) for u in users]})


@router.get("/users/{user_id}", responses=api.responses(200, _USER, *api.BEARER, 404, *api.STORE))
async def get_user(request: Request, user_id: str) -> Response:
    runtime = await _admin(request)
    user = await runtime.users.user_by_id(path_id(user_id))
    if user is None:
        raise NotFound("no such user")
    return private_response(account_fields(user))


@router.post(
    "/users/{user_id}/disable",
    responses=api.responses(200, _OBJECT, *api.BEARER, 404, *api.EDGE, *api.STORE),
)
@router.post(
    "/users/{user_id}/enable",
    responses=api.responses(200, _OBJECT, *api.BEARER, 404, *api.EDGE, *api.STORE),
)
async def set_disabled(request: Request, user_id: str) -> Response:
    runtime = await _admin(request)
    user_id = path_id(user_id)
    disabled = request.url.path.endswith("/disable")
    if not await runtime.service.set_disabled(user_id, disabled):
        raise NotFound("no such user")
    return private_response({"id": user_id, "disabled": disabled})


@router.post(
    "/users/{user_id}/sessions/revoke",
    responses=api.responses(200, _OBJECT, *api.BEARER, 404, *api.EDGE, *api.STORE),
)
async def end_sessions(request: Request, user_id: str) -> Response:
    runtime = await _admin(request)
    user_id = path_id(user_id)
    # The hosted sign-in sessions too, as the account page's "sign out everywhere": a browser
    # still signed in at jwtwarden would otherwise get new codes from /oauth/authorize
    # without a password, and the apps' sessions would come back at the next sign-in.
    signins = await runtime.authorization_store.revoke_user_signins(
        user_id, now=runtime.clock.now()
    )
    count = await runtime.service.end_all_sessions(user_id, reason="admin")
    return private_response({"id": user_id, "sessions_ended": count, "signins_ended": signins})


@router.get("/keys", responses=api.responses(200, _OBJECT, *api.BEARER, *api.STORE))
async def keys(request: Request) -> Response:
    runtime = await _admin(request)
    records = await asyncio.to_thread(runtime.ring.status)
    body = [
        {
            "kid": r.kid,
            "alg": r.key.alg,
            "use": r.key.token_use,
            "state": r.state.value,
            "publish_at": r.publish_at,
            "activate_at": r.activate_at,
            "retire_at": r.retire_at,
            "remove_at": r.remove_at,
        }
        for r in records
    ]
    return private_response({"keys": body})


@router.post(
    "/keys/rotate",
    responses=api.responses(200, _OBJECT, *api.BEARER, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.json_body({"immediate": {"type": "boolean"}}),
)
async def rotate(request: Request) -> Response:
    """Start a rotation of the access-token key (``{"immediate": true}`` to sign at once)."""
    runtime = await _admin(request)
    data = await json_body(request)
    immediate = data.get("immediate", False)
    if not isinstance(immediate, bool):
        raise InvalidRequest("immediate must be a boolean")
    record = await asyncio.to_thread(runtime.ring.rotate, "access", immediate=immediate)
    runtime.refresh_jwks()
    return private_response(
        {"kid": record.kid, "state": record.state.value, "activate_at": record.activate_at}
    )
