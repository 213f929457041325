"""What the session service is built from and what it returns: ``SessionConfig`` (lifetimes,
names, the retry window), ``TokenPair``, the ``AccessTokenMinter`` it needs from the issuer, and
the normalisation of emails and scopes."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import InvalidScopeError
from .rotation import MAX_RETRY_WINDOW

__all__ = [
    "MAX_EMAIL_LENGTH",
    "AccessTokenMinter",
    "SessionConfig",
    "SessionLimits",
    "TokenPair",
    "granted_scope",
    "narrow_scope",
    "normalize_email",
    "scope_items",
]

MAX_EMAIL_LENGTH = 254  # RFC 5321 4.5.3.1.3 path limit
# Control, format (zero-width, bidi), surrogate, private-use and unassigned code points.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


class AccessTokenMinter(Protocol):
    """What the service needs from ``jwtwarden.issue.Issuer``."""

    def mint_with_claims(
        self,
        profile: str = "access",
        *,
        sub: str,
        audience: str | Sequence[str],
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> tuple[str, dict[str, Any]]: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionConfig:
    """Lifetimes and names for the session service.

    Parameters:
        audience: the ``aud`` of every access token (the APIs that accept them).
        client_id: the default ``client_id`` claim (first-party client).
        access_token_ttl: access-token lifetime, 300..900 s (default 10 min; RFC 9068
            tokens are short-lived, and the issuer's access profile caps them there).
        refresh_idle_ttl: a refresh token unused this long expires (default 14 days).
        refresh_absolute_ttl: a session ends this long after login whatever happens
            (default 30 days).
        retry_window: seconds after a refresh during which the same request (the spent
            token, whose successor has not been used yet) gets the same successor again: a
            lost response or concurrent refreshes do not end the session. 0 turns retries off
            (every spent token is reuse); at most 300; default 30.
        deny_leeway: added to denylist expiries, covering verifiers' clock leeway.
        scopes: the scopes a login may ask for; empty means no scopes.
        client_ids: client ids a login may name (the default one is always allowed).
    """

    audience: tuple[str, ...]
    client_id: str = "jwtwarden"
    access_token_ttl: int = 600
    refresh_idle_ttl: int = 14 * 86400
    refresh_absolute_ttl: int = 30 * 86400
    retry_window: float = 30.0
    deny_leeway: float = 60.0
    scopes: frozenset[str] = field(default_factory=frozenset)
    client_ids: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if isinstance(self.audience, str) or not self.audience:
            raise ValueError("audience must be a non-empty tuple of strings")
        if not 300 <= self.access_token_ttl <= 900:
            raise ValueError("access_token_ttl must be between 300 and 900 seconds")
        if not 60 <= self.refresh_idle_ttl <= self.refresh_absolute_ttl:
            raise ValueError("refresh_idle_ttl must be at least 60 s and at most the absolute ttl")
        if not 0 <= self.retry_window <= MAX_RETRY_WINDOW:
            raise ValueError(f"retry_window must be between 0 and {MAX_RETRY_WINDOW:g} seconds")
        if not 0 <= self.deny_leeway <= 300:
            raise ValueError("deny_leeway must be between 0 and 300 seconds")


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionLimits:
    """A client's own audiences and lifetimes for one session (issue 14: per-client lifetimes
    within the server's caps). ``None`` / empty: the server's. The service applies the
    shorter of each lifetime and the server's, so a limit can only shorten."""

    audience: tuple[str, ...] = ()
    access_token_ttl: int | None = None
    refresh_idle_ttl: int | None = None
    refresh_absolute_ttl: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenPair:
    """What a login or a refresh returns. The refresh token appears here once, and is
    stored only as its hash."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    session_id: str
    user_id: str
    scope: str
    claims: dict[str, Any] = field(repr=False)


def normalize_email(email: object) -> str | None:
    """The stored form of an email (NFKC, trimmed, lower case), or ``None`` if it cannot be
    one. Only the shape is checked; ownership is the application's business.

    NFKC folds compatibility look-alikes (fullwidth ``a``, U+FF41, is ``a``), and invisible or
    control characters (zero-width space, bidi overrides, lone surrogates) are refused: two
    accounts whose addresses look the same on screen would be an account-spoofing vector.
    """
    if not isinstance(email, str):
        return None
    value = unicodedata.normalize("NFKC", email).strip().lower()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or len(value) > MAX_EMAIL_LENGTH:
        return None
    if not value.isascii() and any(
        unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in value
    ):
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    return value


def scope_items(scope: str | None) -> set[str]:
    """The scopes of a ``scope`` parameter; ``InvalidScopeError`` if it is malformed."""
    # RFC 6749 3.3: space-delimited, case-sensitive; each token is %x21 / %x23-5B / %x5D-7E.
    if scope is None or scope == "":
        return set()
    items = scope.split(" ")
    for item in items:
        if not item or any(ch in '"\\' or not 0x21 <= ord(ch) <= 0x7E for ch in item):
            raise InvalidScopeError("the scope is malformed")
    return set(items)


def granted_scope(scope: str | None, available: frozenset[str]) -> str:
    """The scope a login is granted: every requested scope must be configured."""
    items = scope_items(scope)
    unknown = items - available
    if unknown and not available:
        raise InvalidScopeError(
            "this server has no scopes configured (JWTWARDEN_SCOPES): ask for none"
        )
    if unknown:
        raise InvalidScopeError(
            # The names are public (RFC 8414 scopes_supported): saying which are offered is
            # safe. RFC 6749 5.2: error_description has no '"' or '\\' (nor has a scope).
            f"the requested scope '{' '.join(sorted(unknown))[:200]}' is not available; "
            f"this server offers '{' '.join(sorted(available))[:200]}'"
        )
    return " ".join(sorted(items))


def narrow_scope(granted: str, requested: str | None) -> str:
    """A refresh's scope (RFC 6749 6): the session's, or a part of it, never more."""
    if requested is None:
        return granted
    items = scope_items(requested)
    if not items <= set(granted.split()):
        raise InvalidScopeError("the requested scope exceeds the session's scope")
    return " ".join(sorted(items))
