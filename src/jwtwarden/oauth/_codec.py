"""The stored form of a client's registration (a JSON object), shared by the SQL adapter and
the registry's views. Secrets are never part of it: they are rows of their own."""

from __future__ import annotations

import json
from typing import Any

from .clients import Client, ClientSecretHash, ClientType

__all__ = ["client_from_stored", "registration_json", "registration_of"]

_LIST_FIELDS = ("redirect_uris", "post_logout_redirect_uris", "audiences")
_SET_FIELDS = ("grant_types", "scopes")
_OPTIONAL_FIELDS = (
    "access_token_ttl",
    "refresh_idle_ttl",
    "refresh_absolute_ttl",
    "jwks",
    "jwks_uri",
)


def registration_of(client: Client) -> dict[str, Any]:
    """The client's registration as JSON-ready values (no secrets, no identity columns)."""
    out: dict[str, Any] = {name: list(getattr(client, name)) for name in _LIST_FIELDS}
    out.update((name, sorted(getattr(client, name))) for name in _SET_FIELDS)
    out.update((name, getattr(client, name)) for name in _OPTIONAL_FIELDS)
    return out


def registration_json(client: Client) -> str:
    """``registration_of`` as compact, key-sorted JSON text."""
    return json.dumps(registration_of(client), separators=(",", ":"), sort_keys=True)


def client_from_stored(
    *,
    client_id: str,
    name: str,
    client_type: str,
    auth_method: str,
    disabled: bool,
    created_at: float,
    registration: str,
    secrets: tuple[ClientSecretHash, ...],
) -> Client:
    """A ``Client`` from its stored columns and registration text.

    Raises:
        ValueError: the stored registration is not one a ``Client`` accepts (a hand-edited
            row): refused rather than half-read.
    """
    data = json.loads(registration)
    if not isinstance(data, dict):
        raise ValueError(f"client {client_id!r}: the stored registration is not an object")
    return Client(
        client_id=client_id,
        name=name,
        type=ClientType(client_type),
        token_endpoint_auth_method=auth_method,
        disabled=disabled,
        created_at=created_at,
        secret_hashes=secrets,
        redirect_uris=tuple(data.get("redirect_uris", ())),
        post_logout_redirect_uris=tuple(data.get("post_logout_redirect_uris", ())),
        audiences=tuple(data.get("audiences", ())),
        grant_types=frozenset(data.get("grant_types", ())),
        scopes=frozenset(data.get("scopes", ())),
        access_token_ttl=data.get("access_token_ttl"),
        refresh_idle_ttl=data.get("refresh_idle_ttl"),
        refresh_absolute_ttl=data.get("refresh_absolute_ttl"),
        jwks=data.get("jwks"),
        jwks_uri=data.get("jwks_uri"),
    )
