"""Issuer discovery: from an issuer URL to its ``jwks_uri``.

OpenID Connect Discovery 1.0 section 4: the configuration lives at the issuer URL (without a
trailing ``/``) plus ``/.well-known/openid-configuration``, and its ``issuer`` must be
*identical* to the issuer URL used to find it (section 4.3). Otherwise a document served at one
issuer's address could vouch for another issuer's keys. The ``jwks_uri`` it names is fetched
through the same SSRF guard as any other URL.

An OAuth authorization server that is not an OpenID Provider (a jwtwarden server before
OpenID Connect) answers 404 there; its RFC 8414 metadata is then read instead, at the
well-known URI inserted before the issuer's path (RFC 8414 3.1), with the same exact
``issuer`` rule (3.3). Only a 404 falls back: any other failure is the answer.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from .._jose.strict_json import JSONRefused, loads_object
from ..errors import JWKSFetchError
from ._fetch import ACCEPT_JSON, FetchSettings, afetch, fetch

__all__ = [
    "OAUTH_WELL_KNOWN_PATH",
    "WELL_KNOWN_PATH",
    "adiscover_jwks_uri",
    "discover_jwks_uri",
    "discovery_url",
    "oauth_metadata_url",
]

WELL_KNOWN_PATH = "/.well-known/openid-configuration"
OAUTH_WELL_KNOWN_PATH = "/.well-known/oauth-authorization-server"
MAX_DISCOVERY_BYTES = 64 * 1024


def discovery_url(issuer: str) -> str:
    """The discovery document's URL for ``issuer`` (Discovery 1.0 section 4).

    Example:
        >>> discovery_url("https://auth.example.com/tenant/")
        'https://auth.example.com/tenant/.well-known/openid-configuration'
    """
    return issuer.rstrip("/") + WELL_KNOWN_PATH


def oauth_metadata_url(issuer: str) -> str:
    """The RFC 8414 metadata URL for ``issuer`` (3.1: the well-known segment goes between the
    host and the issuer's path).

    Example:
        >>> oauth_metadata_url("https://auth.example.com/tenant")
        'https://auth.example.com/.well-known/oauth-authorization-server/tenant'
    """
    parts = urlsplit(issuer)
    path = OAUTH_WELL_KNOWN_PATH + parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _not_found(exc: JWKSFetchError) -> bool:
    return exc.status == 404


def jwks_uri_from(body: bytes, *, issuer: str) -> str:
    """Read ``jwks_uri`` from a discovery document whose ``issuer`` must equal ``issuer``.

    Raises:
        JWKSFetchError: the document is not JSON, names another issuer, or has no jwks_uri.
    """
    try:
        document = loads_object(body, "the discovery document")
    except JSONRefused as exc:
        raise JWKSFetchError(f"{exc} (issuer {issuer!r})") from None
    named = document.get("issuer")
    if named != issuer:
        # Exact comparison, no normalisation: Discovery 1.0 section 4.3. Both values are public
        # (the document's and the caller's), so the message shows them.
        shown = repr(named)[:120] if isinstance(named, str) else "no issuer"
        hint = (
            " (they differ only by a trailing slash: use exactly the document's issuer)"
            if isinstance(named, str) and named.rstrip("/") == issuer.rstrip("/")
            else ""
        )
        raise JWKSFetchError(
            f"the discovery document at {discovery_url(issuer)!r} names another issuer, {shown}, "
            f"not {issuer!r}{hint}"
        )
    uri = document.get("jwks_uri")
    if not isinstance(uri, str) or not uri:
        raise JWKSFetchError(f"the discovery document of {issuer!r} has no jwks_uri")
    return uri


def _limited(settings: FetchSettings) -> FetchSettings:
    return FetchSettings(
        guard=settings.guard,
        timeout=settings.timeout,
        max_bytes=min(settings.max_bytes, MAX_DISCOVERY_BYTES),
        transport=settings.transport,
        ssl_context=settings.ssl_context,
    )


def discover_jwks_uri(issuer: str, settings: FetchSettings) -> str:
    """Fetch the discovery document of ``issuer`` (guarded) and return its ``jwks_uri``.

    Raises:
        FetchRefusedError: the guard refused the discovery URL.
        JWKSFetchError: the fetch or the document failed.
    """
    try:
        fetched = fetch(discovery_url(issuer), _limited(settings), accept=ACCEPT_JSON)
    except JWKSFetchError as exc:
        if not _not_found(exc):
            raise
        fetched = fetch(oauth_metadata_url(issuer), _limited(settings), accept=ACCEPT_JSON)
    return jwks_uri_from(fetched.body, issuer=issuer)


async def adiscover_jwks_uri(issuer: str, settings: FetchSettings) -> str:
    """The async twin of ``discover_jwks_uri``."""
    try:
        fetched = await afetch(discovery_url(issuer), _limited(settings), accept=ACCEPT_JSON)
    except JWKSFetchError as exc:
        if not _not_found(exc):
            raise
        fetched = await afetch(oauth_metadata_url(issuer), _limited(settings), accept=ACCEPT_JSON)
    return jwks_uri_from(fetched.body, issuer=issuer)
