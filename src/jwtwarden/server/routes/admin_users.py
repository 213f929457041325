"""The admin API's account operations beyond ``admin.py``: role assignments, deletion and a
password set by an administrator (``accounts.admin.AccountAdmin``, which the CLI calls too)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...accounts.roles import RoleAssignment
from .. import openapi as api
from ..errors import InvalidRequest
from ..parsing import json_body, optional_string, path_id, required_string
from ..responses import private_response
from .admin import _admin

router = APIRouter(prefix="/admin")
_S = {"type": "string"}
_ROLES_BODY = {
    "type": "object",
    "required": ["id", "roles"],
    "properties": {"id": _S, "roles": {"type": "array", "items": {"type": "object"}}},
}
_OBJECT: dict[str, Any] = {"type": "object"}
_NAMES = {"type": "array", "items": _S}
_MAX_CHANGES = 64


def _assignments(user_id: str, assignments: list[RoleAssignment]) -> dict[str, Any]:
    return {
        "id": user_id,
        "roles": [{"role": a.role, "client_id": a.client_id} for a in assignments],
    }


def _names(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or len(value) > _MAX_CHANGES:
        raise InvalidRequest(f"{name} must be a list of at most {_MAX_CHANGES} role names")
    if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value):
        raise InvalidRequest(f"{name} must hold role names (strings of 1-64 characters)")
    return list(value)


@router.get(
    "/users/{user_id}/roles",
    responses=api.responses(200, _ROLES_BODY, *api.BEARER, 404, *api.STORE),
)
async def get_roles(request: Request, user_id: str) -> Response:
    """The account's role assignments (``client_id`` null: for every client)."""
    runtime = await _admin(request)
    user_id = path_id(user_id)
    return private_response(_assignments(user_id, await runtime.accounts.roles_of(user_id)))


@router.post(
    "/users/{user_id}/roles",
    responses=api.responses(200, _ROLES_BODY, *api.BEARER, 404, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.json_body({"add": _NAMES, "remove": _NAMES, "client_id": _S}),
)
async def change_roles(request: Request, user_id: str) -> Response:
    """Add and remove roles: ``{"add": [...], "remove": [...], "client_id": optional}``."""
    runtime = await _admin(request)
    user_id = path_id(user_id)
    data = await json_body(request)
    add, remove = _names(data, "add"), _names(data, "remove")
    client_id = optional_string(data, "client_id", max_length=128)
    changed = await runtime.accounts.change_roles(
        user_id, add=add, remove=remove, client_id=client_id
    )
    return private_response(_assignments(user_id, changed))


@router.post(
    "/users/{user_id}/password",
    responses=api.responses(200, _OBJECT, *api.BEARER, 404, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.json_body({"password": _S}, ("password",)),
)
async def set_password(request: Request, user_id: str) -> Response:
    """Set the account's password; every session ends and every access token stops."""
    runtime = await _admin(request)
    user_id = path_id(user_id)
    password = required_string(await json_body(request), "password", max_length=4096)
    version = await runtime.accounts.set_password(user_id, password)
    return private_response({"id": user_id, "auth_version": version})


@router.delete(
    "/users/{user_id}",
    responses=api.responses(200, _OBJECT, *api.BEARER, 404, *api.STORE),
)
async def delete_user(request: Request, user_id: str) -> Response:
    """Delete the account: its sessions end, its tokens stop, its data is removed."""
    runtime = await _admin(request)
    user_id = path_id(user_id)
    ended = await runtime.accounts.delete_user(user_id)
    return private_response({"id": user_id, "deleted": True, "sessions_ended": ended})
