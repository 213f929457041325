"""``WebAppSettings``: what a web application tells the SDK about itself and its provider.

A frozen, keyword-only value object validated when built (house rule 5), so a configuration
that can never be safe fails at start-up: an ``http`` base URL outside loopback, a secret under
32 bytes, a scope list without ``openid``, a margin longer than any access token.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..policy import check_algorithms
from .sealing import MIN_SECRET_BYTES

__all__ = ["WebAppSettings"]

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine (the only place plain ``http`` is tolerated)."""
    if host is None:
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _url(value: str, what: str, *, loopback_http: bool) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what} must be an absolute https URL, not {value!r}")
    if parts.scheme == "http" and not (loopback_http and is_loopback(parts.hostname)):
        raise ValueError(
            f"{what} must be https (plain http only to loopback, with allow_loopback_http)"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{what} must have no query, fragment or credentials")
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class WebAppSettings:
    """The web application's OpenID Connect client settings.

    Parameters:
        issuer: the provider's issuer URL, exactly as its discovery document names it.
        client_id, client_secret: the client registered at the provider; no secret for a
            public client (PKCE alone, RFC 7636; sent as ``client_id`` in the form).
        base_url: where the application is served (``https://app.example.com``); the
            redirect URI is ``base_url + callback_path``. Plain ``http`` only on loopback,
            where Chromium and Firefox treat the origin as secure and keep ``Secure`` cookies.
        session_secrets: the secret sealing the cookies (>= 32 bytes), or a list, newest first.
        scopes: asked at sign-in; ``openid`` is required.
        audience: the API audience of the access tokens. Set, the access token must be an
            RFC 9068 JWT and is verified on sign-in and on every request (cached); unset, it is
            opaque to this application (its lifetime from ``expires_in``).
        algorithms: the signature algorithms accepted for ID and access tokens.
        user_claims: the ID token claims kept in the session for the application.
        keep_id_token: keep the ID token for RP-initiated logout's ``id_token_hint``.
        refresh_margin: refresh an access token this many seconds before it expires.
        session_lifetime: the absolute lifetime of a session in seconds (default 8 hours).
        sign_in_lifetime: how long a started sign-in may take (default 10 minutes).
        allow_loopback_http: the development switch: the provider and the application on
            ``http://127.0.0.1`` (the SSRF guard allows loopback too). Off in production.
        timeout: seconds per request to the provider.
        login_path, callback_path, logout_path, after_logout_path: the application's routes.

    Raises:
        ValueError, TypeError: the settings cannot be safe.
    """

    issuer: str
    client_id: str
    base_url: str
    session_secrets: str | bytes | Sequence[str | bytes]
    client_secret: str | None = None
    scopes: Collection[str] = ("openid", "email", "profile")
    audience: str | None = None
    algorithms: Collection[str] = ("ES256", "RS256")
    user_claims: Collection[str] = ("sub", "email", "email_verified", "name")
    keep_id_token: bool = True
    refresh_margin: float = 30.0
    session_lifetime: float = 8 * 3600.0
    sign_in_lifetime: float = 600.0
    allow_loopback_http: bool = False
    timeout: float = 5.0
    login_path: str = "/login"
    callback_path: str = "/callback"
    logout_path: str = "/logout"
    after_logout_path: str = "/"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        loopback = self.allow_loopback_http
        if not isinstance(loopback, bool):
            raise TypeError("allow_loopback_http must be a bool")
        set_(self, "issuer", _url(self.issuer, "issuer", loopback_http=loopback))
        set_(self, "base_url", _url(self.base_url, "base_url", loopback_http=loopback).rstrip("/"))
        if not isinstance(self.client_id, str) or not self.client_id:
            raise ValueError("client_id must be a non-empty string")
        if self.client_secret is not None and (
            not isinstance(self.client_secret, str) or not self.client_secret
        ):
            raise ValueError("client_secret must be a non-empty string, or None for public")
        secrets = (
            (self.session_secrets,)
            if isinstance(self.session_secrets, str | bytes)
            else tuple(self.session_secrets)
        )
        if not secrets or any(
            len(s.encode() if isinstance(s, str) else s) < MIN_SECRET_BYTES for s in secrets
        ):
            raise ValueError(f"every session secret must be at least {MIN_SECRET_BYTES} bytes")
        scopes = tuple(self.scopes)
        if "openid" not in scopes or not all(s and " " not in s for s in scopes):
            raise ValueError("scopes must include 'openid' and contain no spaces")
        set_(self, "scopes", scopes)
        set_(self, "algorithms", tuple(sorted(check_algorithms(self.algorithms))))
        if any(a.startswith("HS") for a in self.algorithms):
            # A client secret as an HMAC key would let anyone holding it mint ID tokens.
            raise ValueError("HMAC algorithms are not accepted for provider tokens")
        set_(self, "user_claims", tuple(dict.fromkeys(("sub", *self.user_claims))))
        for name, low, high in (
            ("refresh_margin", 0, 600),
            ("session_lifetime", 60, 90 * 86400),
            ("sign_in_lifetime", 30, 3600),
            ("timeout", 0.1, 60),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{name} must be a number of seconds")
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high} seconds")
        for name in ("login_path", "callback_path", "logout_path", "after_logout_path"):
            path = getattr(self, name)
            if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
                raise ValueError(f"{name} must be a path starting with one '/'")

    @property
    def redirect_uri(self) -> str:
        """The registered redirect URI (compared exactly by the provider, RFC 9700 2.1)."""
        return self.base_url + self.callback_path

    @property
    def origin(self) -> str:
        """The application's origin (RFC 6454), for the Origin check of state changes."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def provider_origin(self) -> str:
        """The provider's origin (the issuer's), for the pages' ``form-action``."""
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    def __repr__(self) -> str:
        # No secret in a repr (logs, tracebacks).
        return (
            f"WebAppSettings(issuer={self.issuer!r}, client_id={self.client_id!r}, "
            f"base_url={self.base_url!r}, audience={self.audience!r})"
        )
