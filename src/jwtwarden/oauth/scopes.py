"""What a client may be granted: scope (RFC 6749 3.3) and audience (RFC 9068 3, RFC 8707).

Shared by every grant so that ``client_credentials``, ``authorization_code`` and
``refresh_token`` narrow the same way.
"""

from __future__ import annotations

from collections.abc import Collection

from ..errors import InvalidScopeError
from .clients import Client

__all__ = ["client_audiences", "granted_scope", "scope_items"]


def scope_items(scope: str | None) -> frozenset[str]:
    """The scope-tokens of a ``scope`` parameter (RFC 6749 3.3: space-delimited,
    case-sensitive, each ``%x21 / %x23-5B / %x5D-7E``).

    Raises:
        InvalidScopeError: malformed (empty items, a double space, a quote or backslash).
    """
    if scope is None or scope == "":
        return frozenset()
    items = scope.split(" ")
    for item in items:
        if not item or any(ch in '"\\' or not 0x21 <= ord(ch) <= 0x7E for ch in item):
            raise InvalidScopeError("the scope is malformed")
    return frozenset(items)


def granted_scope(
    requested: str | None,
    client: Client,
    *,
    server_scopes: Collection[str],
    with_identity: bool,
) -> str:
    """The scope to grant: the request, which must lie within what the client may ask for
    (its scopes, plus the identity scopes for user flows) and what the server offers.
    Without a ``scope`` parameter, everything the client may have (RFC 6749 3.3 lets the
    server apply a pre-defined default), sorted and space-separated.

    Raises:
        InvalidScopeError: a scope beyond the client's or the server's (RFC 6749 5.2).
    """
    allowed = client.requestable_scopes(with_identity=with_identity) & frozenset(server_scopes)
    if requested is None:
        return " ".join(sorted(allowed))
    items = scope_items(requested)
    if not items <= allowed and not server_scopes:
        raise InvalidScopeError(
            "this server has no scopes configured (JWTWARDEN_SCOPES): ask for none"
        )
    if not items <= allowed:
        raise InvalidScopeError("the requested scope is beyond what this client may have")
    return " ".join(sorted(items))


def client_audiences(client: Client, server_audiences: tuple[str, ...]) -> tuple[str, ...]:
    """The ``aud`` of the client's access tokens: its registered audiences (each one of the
    server's, checked at registration), or the server's when it registered none."""
    return client.audiences or server_audiences
