"""The OpenID Provider Metadata (OpenID Connect Discovery 1.0 section 3): the RFC 8414
document plus the OpenID members, listing only what the server does.

Served only once the authorization endpoint exists: a provider without it cannot
authenticate anyone, and a client reading this document would believe otherwise.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from .metadata import authorization_server_metadata
from .userinfo import SCOPE_CLAIMS

__all__ = [
    "ID_TOKEN_ALGORITHMS",
    "ID_TOKEN_CLAIMS",
    "OIDC_WELL_KNOWN",
    "openid_configuration",
    "openid_configuration_paths",
]

OIDC_WELL_KNOWN = "/.well-known/openid-configuration"
# Discovery 1.0 3: RS256 MUST be listed. ID tokens are signed RS256: it is also the default
# id_token_signed_response_alg of a client that registered none (Registration 1.0 2).
ID_TOKEN_ALGORITHMS = ("RS256",)
# What an ID token carries (Core 2, 3.1.3.6; sid: Front-Channel Logout 1.0 3).
ID_TOKEN_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp")


def openid_configuration(
    *,
    issuer: str,
    authorization_endpoint: str,
    grant_types: Collection[str],
    auth_methods: Collection[str],
    assertion_algorithms: Collection[str],
    scopes: Collection[str],
    access_token_algorithms: Collection[str],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Discovery 1.0 section 3 document for ``issuer``."""
    base = issuer.rstrip("/")
    body = authorization_server_metadata(
        issuer=issuer,
        grant_types=grant_types,
        auth_methods=auth_methods,
        assertion_algorithms=assertion_algorithms,
        scopes=sorted({*scopes, *SCOPE_CLAIMS}),
        access_token_algorithms=access_token_algorithms,
        authorization_endpoint=authorization_endpoint,
    )
    claims = {"sid", *ID_TOKEN_CLAIMS, *(c for cs in SCOPE_CLAIMS.values() for c in cs)}
    body.update(
        {
            "userinfo_endpoint": f"{base}/oauth/userinfo",
            "end_session_endpoint": f"{base}/oauth/logout",
            "response_modes_supported": ["query"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(ID_TOKEN_ALGORITHMS),
            "claims_supported": sorted(claims),
            # Discovery 3: these default to true (request_uri) or mean support when absent
            # only for false ones; each is stated so no client guesses.
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "frontchannel_logout_supported": False,
            "backchannel_logout_supported": False,
        }
    )
    if extra:
        body.update((key, value) for key, value in extra.items() if key not in body)
    return body


def openid_configuration_paths(issuer: str) -> tuple[str, ...]:
    """Where the document is served: Discovery 1.0 4 appends the well-known path to the
    issuer (``https://h/t`` -> ``https://h/t/.well-known/openid-configuration``); RFC 8414 5
    notes the inserted form (``/.well-known/openid-configuration/t``) that RFC 8414 clients
    try; and the plain path for a proxy that strips the issuer's path."""
    path = urlsplit(issuer).path.rstrip("/")
    if not path:
        return (OIDC_WELL_KNOWN,)
    return (path + OIDC_WELL_KNOWN, OIDC_WELL_KNOWN + path, OIDC_WELL_KNOWN)
