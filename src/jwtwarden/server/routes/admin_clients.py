"""The admin API for OAuth clients (``/admin/clients``): the operations of ``jwtwarden
clients``, for administrators only (the same check as the other admin routes).

A new client's secret (and a rotated one) is in the answer once, with ``Cache-Control:
no-store``; no other answer ever holds a secret.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...oauth.registry import ClientRegistry
from .. import openapi as api
from ..errors import InvalidRequest
from ..parsing import json_body, path_id
from ..responses import private_response
from .admin import _admin, _bounded_int

router = APIRouter(prefix="/admin")
_S = {"type": "string"}
_LIST = {"type": "array", "items": _S}
_INT = {"type": "integer"}
_CLIENT = {
    "type": "object",
    "required": ["client_id", "client_name"],
    "properties": {"client_id": _S, "client_name": _S},
}
_OBJECT: dict[str, Any] = {"type": "object"}

_LISTS = ("redirect_uris", "post_logout_redirect_uris", "grant_types", "scopes", "audiences")
_TTLS = ("access_token_ttl", "refresh_idle_ttl", "refresh_absolute_ttl")
_KNOWN = {
    "client_name",
    "client_type",
    "token_endpoint_auth_method",
    "jwks",
    "jwks_uri",
    *_LISTS,
    *_TTLS,
}


def _strings(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidRequest(f"{name} must be a list of strings")
    if len(value) > 50:
        raise InvalidRequest(f"{name} has too many items")
    return value


def _optional(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise InvalidRequest(f"{name} must be a {kind.__name__}")
    return value


@router.post(
    "/clients",
    responses=api.responses(201, _CLIENT, *api.BEARER, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.json_body(
        {
            "client_name": _S,
            "client_type": _S,
            "token_endpoint_auth_method": _S,
            "jwks": _OBJECT,
            "jwks_uri": _S,
            **{name: _LIST for name in _LISTS},
            **{name: _INT for name in _TTLS},
        },
        ("client_name",),
    ),
)
async def create_client(request: Request) -> Response:
    """Register a client (RFC 7591 member names); 201 with ``client_secret`` once."""
    runtime = await _admin(request)
    data = await json_body(request)
    unknown = set(data) - _KNOWN
    if unknown:
        raise InvalidRequest(f"unknown members: {', '.join(sorted(unknown))[:200]}")
    name = data.get("client_name")
    if not isinstance(name, str):
        raise InvalidRequest("client_name is required")
    grants = _strings(data, "grant_types") if "grant_types" in data else None
    try:
        created = await runtime.registry.create(
            name=name,
            type=_optional(data, "client_type", str) or "confidential",
            redirect_uris=_strings(data, "redirect_uris"),
            post_logout_redirect_uris=_strings(data, "post_logout_redirect_uris"),
            grant_types=grants,
            scopes=_strings(data, "scopes"),
            audiences=_strings(data, "audiences"),
            token_endpoint_auth_method=_optional(data, "token_endpoint_auth_method", str),
            jwks=_optional(data, "jwks", dict),
            jwks_uri=_optional(data, "jwks_uri", str),
            **{ttl: _optional(data, ttl, int) for ttl in _TTLS},
        )
    except ValueError as exc:
        raise InvalidRequest(str(exc)[:300]) from None
    body = ClientRegistry.view(created.client)
    if created.client_secret is not None:
        body["client_secret"] = created.client_secret
    return private_response(body, status=201)


@router.get(
    "/clients",
    responses=api.responses(200, _OBJECT, *api.BEARER, 404, *api.STORE),
    openapi_extra={
        "parameters": [
            {"name": "limit", "in": "query", "required": False, "schema": _INT},
            {"name": "after", "in": "query", "required": False, "schema": _S},
        ]
    },
)
async def list_clients(request: Request) -> Response:
    runtime = await _admin(request)
    limit = _bounded_int(request, "limit", 100, 1000) or 1
    after = request.query_params.get("after")
    clients = await runtime.registry.list(limit=limit, after=path_id(after) if after else None)
    return private_response({"clients": [ClientRegistry.view(c) for c in clients]})


@router.get(
    "/clients/{client_id}", responses=api.responses(200, _CLIENT, *api.BEARER, 404, *api.STORE)
)
async def show_client(request: Request, client_id: str) -> Response:
    runtime = await _admin(request)
    client = await runtime.registry.get(path_id(client_id))
    return private_response(ClientRegistry.view(client))


@router.post(
    "/clients/{client_id}/disable",
    responses=api.responses(200, _CLIENT, *api.BEARER, 404, *api.EDGE, *api.STORE),
)
@router.post(
    "/clients/{client_id}/enable",
    responses=api.responses(200, _CLIENT, *api.BEARER, 404, *api.EDGE, *api.STORE),
)
async def set_disabled(request: Request, client_id: str) -> Response:
    runtime = await _admin(request)
    disabled = request.url.path.endswith("/disable")
    client = await runtime.registry.set_disabled(path_id(client_id), disabled)
    return private_response(ClientRegistry.view(client))


@router.post(
    "/clients/{client_id}/rotate-secret",
    responses=api.responses(200, _CLIENT, *api.BEARER, 404, *api.EDGE, 415, *api.STORE),
    openapi_extra=api.json_body({"overlap": _INT}, (), optional=True),
)
async def rotate_secret(request: Request, client_id: str) -> Response:
    """A new secret, once; ``{"overlap": seconds}`` keeps the previous one that long."""
    runtime = await _admin(request)
    data = await json_body(request) if await request.body() else {}
    overlap = _optional(data, "overlap", int)
    client_id = path_id(client_id)
    try:
        secret = await runtime.registry.rotate_secret(client_id, overlap=overlap)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    body = ClientRegistry.view(await runtime.registry.get(client_id))
    body["client_secret"] = secret
    return private_response(body)


@router.delete(
    "/clients/{client_id}", responses=api.responses(200, _OBJECT, *api.BEARER, 404, *api.STORE)
)
async def delete_client(request: Request, client_id: str) -> Response:
    runtime = await _admin(request)
    client_id = path_id(client_id)
    await runtime.registry.delete(client_id)
    return private_response({"client_id": client_id, "deleted": True})
