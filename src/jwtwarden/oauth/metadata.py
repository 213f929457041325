"""The OAuth 2.0 Authorization Server Metadata document (RFC 8414 2), listing only what the
server has enabled.

``response_types_supported`` is REQUIRED by RFC 8414 2 but names response types of the
authorization endpoint: it is ``["code"]`` when that endpoint exists (``authorization_endpoint``
given) and empty before, when no response type is supported at all.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

__all__ = ["authorization_server_metadata", "metadata_paths"]

WELL_KNOWN = "/.well-known/oauth-authorization-server"


def authorization_server_metadata(
    *,
    issuer: str,
    grant_types: Collection[str],
    auth_methods: Collection[str],
    assertion_algorithms: Collection[str],
    scopes: Collection[str],
    access_token_algorithms: Collection[str],
    authorization_endpoint: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The RFC 8414 document for ``issuer``; endpoints live under the issuer URL.

    ``auth_methods`` are the token endpoint's (``none`` included when public clients exist);
    revocation and introspection take the same confidential methods (RFC 8414 2), ``none``
    too for revocation (a public client revokes its own tokens, RFC 7009 5).
    """
    base = issuer.rstrip("/")
    confidential = sorted(m for m in auth_methods if m != "none")
    body: dict[str, Any] = {
        "issuer": issuer,
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "grant_types_supported": sorted(grant_types),
        "response_types_supported": ["code"] if authorization_endpoint else [],
        "token_endpoint_auth_methods_supported": sorted(auth_methods),
        "revocation_endpoint_auth_methods_supported": sorted(auth_methods),
        "introspection_endpoint_auth_methods_supported": confidential,
        "scopes_supported": sorted(scopes),
        # RFC 7636 4.2 / OAuth 2.1: S256 only; "plain" is never accepted.
        "code_challenge_methods_supported": ["S256"],
        # RFC 9207 3: every authorization response carries iss.
        "authorization_response_iss_parameter_supported": True,
        "access_token_signing_alg_values_supported": sorted(access_token_algorithms),
    }
    if "private_key_jwt" in auth_methods:
        algorithms = sorted(assertion_algorithms)
        body["token_endpoint_auth_signing_alg_values_supported"] = algorithms
        body["revocation_endpoint_auth_signing_alg_values_supported"] = algorithms
        body["introspection_endpoint_auth_signing_alg_values_supported"] = algorithms
    if authorization_endpoint:
        body["authorization_endpoint"] = authorization_endpoint
    if extra:
        body.update((key, value) for key, value in extra.items() if key not in body)
    return body


def metadata_paths(issuer: str) -> tuple[str, ...]:
    """Where the document is served: RFC 8414 3.1 inserts the well-known segment between the
    host and the issuer's path (``https://h/t`` -> ``https://h/.well-known/...-server/t``);
    the plain path too (a proxy that strips the issuer's path forwards that one)."""
    path = urlsplit(issuer).path.rstrip("/")
    return (WELL_KNOWN, WELL_KNOWN + path) if path else (WELL_KNOWN,)
