"""RFC 6750 bearer tokens, framework-free: reading ``Authorization``, scopes, and the answers.

Every integration turns a request into one of these outcomes, and a refusal into the same
status, ``WWW-Authenticate`` challenge and JSON body:

- no bearer credentials: 401 ``Bearer realm="..."`` with no error code (RFC 6750 3.1);
- a malformed ``Authorization`` header: 400 ``error="invalid_request"``;
- any refused token: 401 ``error="invalid_token"`` and one generic description, whatever the
  reason (expired, bad signature, unknown key, revoked...): the reason goes to the log, never
  to the client, who could otherwise use it to probe the verifier;
- a valid token without the scopes: 403 ``error="insufficient_scope"``, ``scope="..."``;
- a check that could not answer (revocation store, key set fetch): 503, fail closed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..cache import CachedVerifier
from ..errors import InvalidTokenError, JWTWardenError
from ..verify import VerifiedToken, Verifier

__all__ = [
    "BearerRefusal",
    "CacheOption",
    "MalformedAuthorization",
    "TokenVerifier",
    "aauthenticate",
    "authenticate",
    "bearer_token",
    "check_realm",
    "check_verifier",
    "granted_scopes",
    "insufficient_scope",
    "invalid_request",
    "missing_scopes",
    "missing_token",
    "normalize_scopes",
    "refusal_for",
    "with_cache",
]

log = logging.getLogger("jwtwarden.integrations")

# RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# An auth-scheme, the separator (checked to be spaces only for Bearer), the rest.
_CREDENTIALS = re.compile(r"(?P<scheme>[^ \t]*)(?P<gap>[ \t]*)(?P<credentials>.*)", re.DOTALL)
_REALM = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}")
MAX_AUTHORIZATION_LENGTH = 16 * 1024
GENERIC_DESCRIPTION = "The access token is not valid."


@runtime_checkable
class TokenVerifier(Protocol):
    """What integrations need: a ``Verifier``, a ``CachedVerifier``, or your own wrapper."""

    def verify(self, token: str | bytes) -> VerifiedToken: ...

    async def verify_async(self, token: str | bytes) -> VerifiedToken: ...


class MalformedAuthorization(Exception):
    """The ``Authorization`` header is not a well-formed single bearer credential."""


@dataclass(frozen=True, slots=True)
class BearerRefusal:
    """How to answer a refused request: status, headers and a JSON body."""

    status: int
    error: str | None
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, str] = field(default_factory=dict)


def check_realm(realm: str) -> str:
    """Validate a realm for the ``WWW-Authenticate`` challenge (a quoted-string, no escapes)."""
    if not isinstance(realm, str) or not _REALM.fullmatch(realm):
        raise ValueError("realm must be 1-100 printable ASCII characters without '\"' or '\\'")
    return realm


def normalize_scopes(scopes: str | Iterable[str]) -> frozenset[str]:
    """The required scopes as a set; each must be a valid RFC 6749 scope token.

    Raises:
        ValueError: a scope with spaces, quotes or backslashes (a bad call).
    """
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    for item in items:
        if not isinstance(item, str) or not _SCOPE_TOKEN.fullmatch(item):
            raise ValueError(f"invalid scope {item!r} (RFC 6749 3.3 scope-token)")
    return frozenset(items)


def bearer_token(values: Collection[str]) -> str | None:
    """The bearer token of a request's ``Authorization`` header values, or ``None``.

    ``None`` when there is no header, or it names another scheme (the request carries no
    bearer credentials). Scheme names are case-insensitive (RFC 9110 11.1).

    Raises:
        MalformedAuthorization: several headers, or a ``Bearer`` credential that is not one
            RFC 6750 ``b64token``.
    """
    if not values:
        return None
    if len(values) > 1:
        raise MalformedAuthorization("more than one Authorization header")
    value = next(iter(values))
    if len(value) > MAX_AUTHORIZATION_LENGTH:
        raise MalformedAuthorization("the Authorization header is too long")
    # RFC 9110 5.5: only SP and HTAB surround a field value (str.strip would also eat
    # control and Unicode spaces); 11.4: the scheme and its credentials are split by 1*SP.
    parts = _CREDENTIALS.fullmatch(value.strip(" \t"))
    if parts is None or parts["scheme"].lower() != "bearer":
        return None
    if "\t" in parts["gap"] or not _B64TOKEN.fullmatch(parts["credentials"]):
        raise MalformedAuthorization("the bearer credential is not a single b64token")
    return parts["credentials"]


def _space_separated(scope: str) -> frozenset[str]:
    # RFC 6749 3.3: scope-tokens are separated by SP only. Splitting on any whitespace would
    # read "read\tadmin", which an issuer may have let through as one odd token, as "admin".
    return frozenset(item for item in scope.split(" ") if item)


def granted_scopes(claims: dict[str, Any]) -> frozenset[str]:
    """Scopes a token grants: ``scope`` (space-separated, RFC 9068 / RFC 8693) or, when it is
    absent, ``scp`` (a list, as some issuers send). Anything malformed grants nothing.

    ``scope`` present with any value, JSON null included, decides alone: a ``"scope": null``
    must not fall through to an ``scp`` naming more.
    """
    if "scope" in claims:
        scope = claims["scope"]
        return _space_separated(scope) if type(scope) is str else frozenset()
    scp = claims.get("scp")
    if isinstance(scp, str):
        return _space_separated(scp)
    if isinstance(scp, list) and all(isinstance(s, str) for s in scp):
        return frozenset(scp)
    return frozenset()


def _challenge(realm: str, **params: str) -> dict[str, str]:
    parts = [f'realm="{realm}"', *(f'{name}="{value}"' for name, value in params.items())]
    return {"WWW-Authenticate": "Bearer " + ", ".join(parts)}


def missing_token(realm: str) -> BearerRefusal:
    return BearerRefusal(
        401,
        None,
        _challenge(realm),
        {"error": "unauthorized", "error_description": "A bearer token is required."},
    )


def invalid_request(realm: str) -> BearerRefusal:
    return BearerRefusal(
        400,
        "invalid_request",
        _challenge(realm, error="invalid_request"),
        {"error": "invalid_request", "error_description": "Malformed Authorization header."},
    )


def _invalid_token(realm: str) -> BearerRefusal:
    return BearerRefusal(
        401,
        "invalid_token",
        _challenge(realm, error="invalid_token"),
        {"error": "invalid_token", "error_description": GENERIC_DESCRIPTION},
    )


def insufficient_scope(realm: str, required: frozenset[str]) -> BearerRefusal:
    scope = " ".join(sorted(required))
    return BearerRefusal(
        403,
        "insufficient_scope",
        _challenge(realm, error="insufficient_scope", scope=scope),
        {"error": "insufficient_scope", "scope": scope},
    )


def _unavailable() -> BearerRefusal:
    return BearerRefusal(
        503,
        "temporarily_unavailable",
        {"Retry-After": "5"},
        {"error": "temporarily_unavailable", "error_description": "Try again shortly."},
    )


def refusal_for(exc: BaseException, realm: str) -> BearerRefusal:
    """The answer to an exception raised by ``verify``/``verify_async`` (logged here).

    A refused token (``InvalidTokenError``, ``RevokedTokenError`` included) gives 401; any other
    failure (``RevocationUnavailableError``, ``JWKSFetchError``, a bug) gives 503: the token
    may be fine, the service cannot tell, so it refuses without blaming the client.
    """
    if isinstance(exc, InvalidTokenError):
        log.info("bearer token refused: %s", exc.code)
        return _invalid_token(realm)
    if isinstance(exc, JWTWardenError):
        log.warning("bearer token could not be checked: %s: %s", exc.code, exc.detail)
    else:
        log.error("bearer token verification failed unexpectedly", exc_info=exc)
    return _unavailable()


def missing_scopes(result: VerifiedToken, required: frozenset[str]) -> bool:
    """Whether ``result`` lacks any of the ``required`` scopes."""
    return bool(required) and not required <= granted_scopes(result.claims)


def _read(values: Collection[str], realm: str) -> str | BearerRefusal:
    try:
        token = bearer_token(values)
    except MalformedAuthorization as exc:
        log.info("bearer token refused: %s", exc)
        return invalid_request(realm)
    return missing_token(realm) if token is None else token


def authenticate(
    verifier: TokenVerifier,
    values: Collection[str],
    *,
    realm: str,
    scopes: frozenset[str] = frozenset(),
) -> VerifiedToken | BearerRefusal:
    """Read, verify and scope-check one request's bearer token (sync frameworks).

    ``values`` are the request's ``Authorization`` header values. Returns the verified token,
    or the refusal to send; never raises for a bad request or token.
    """
    token = _read(values, realm)
    if isinstance(token, BearerRefusal):
        return token
    try:
        result = verifier.verify(token)
    except Exception as exc:  # every failure becomes an answer, never a 500
        return refusal_for(exc, realm)
    return insufficient_scope(realm, scopes) if missing_scopes(result, scopes) else result


async def aauthenticate(
    verifier: TokenVerifier,
    values: Collection[str],
    *,
    realm: str,
    scopes: frozenset[str] = frozenset(),
) -> VerifiedToken | BearerRefusal:
    """Like ``authenticate``, with ``verify_async`` (async key sources and hooks)."""
    token = _read(values, realm)
    if isinstance(token, BearerRefusal):
        return token
    try:
        result = await verifier.verify_async(token)
    except Exception as exc:
        return refusal_for(exc, realm)
    return insufficient_scope(realm, scopes) if missing_scopes(result, scopes) else result


def check_verifier(verifier: object) -> TokenVerifier:
    """Accept any ``TokenVerifier``: an object with callable ``verify`` and ``verify_async``
    (``Verifier``, ``CachedVerifier``, your own wrapper). Typed callers are checked by mypy;
    this catches untyped ones at setup, not as a 503 on every request of an async framework."""
    if not (
        isinstance(verifier, TokenVerifier)
        and callable(verifier.verify)
        and callable(verifier.verify_async)
    ):
        raise TypeError("verifier must have verify() and verify_async() (Verifier, CachedVerifier)")
    return verifier


CacheOption = bool | int | CachedVerifier


def with_cache(verifier: TokenVerifier, cache: CacheOption = True) -> TokenVerifier:
    """The verifier an integration uses: a plain ``Verifier`` behind a ``CachedVerifier``.

    The verified-token cache is on by default (issue 6): a resource server sees the same token
    on every request of a session, and a hit skips the signature, not the checks (the time
    claims, the revocation hooks and the key's presence are checked on every hit; see
    ``jwtwarden.cache``).

    Parameters:
        verifier: a ``Verifier`` (wrapped unless ``cache=False``), a ``CachedVerifier`` (used
            as is), or any other object with ``verify``/``verify_async``, subclasses of
            ``Verifier`` included (used as is: a hit would skip their overrides).
        cache: ``True`` (a ``CachedVerifier`` with its default bounds), ``False`` (no cache),
            a positive ``int`` (the cache's ``max_entries``), or a ``CachedVerifier`` of this
            very ``verifier``.

    Raises:
        TypeError: ``verifier`` has no ``verify``, or ``cache`` is of another type.
        ValueError: contradictory options (a cache size or ``cache=False`` with a
            ``CachedVerifier``, a size for an object that is not a ``Verifier``, a
            ``CachedVerifier`` of another verifier, a size below 1).

    Example:
        >>> with_cache(Verifier(policy), 50_000).stats.max_entries  # doctest: +SKIP
        50000
    """
    checked = check_verifier(verifier)
    if isinstance(cache, CachedVerifier):
        if verifier is not cache and verifier is not cache.verifier:
            raise ValueError("cache= is a CachedVerifier of another verifier")
        return cache
    if type(cache) is bool:
        if isinstance(verifier, CachedVerifier):
            if not cache:
                raise ValueError(
                    "cache=False with a CachedVerifier: pass its .verifier to turn the cache off"
                )
            return checked
        if cache and type(verifier) is Verifier:
            return CachedVerifier(verifier)
        return checked  # no cache asked, or an object of the caller's own (used as is)
    if type(cache) is int:
        if cache < 1:
            raise ValueError("the cache size (cache=) must be a positive number of entries")
        if isinstance(verifier, CachedVerifier):
            raise ValueError("a CachedVerifier has its own size; pass the Verifier with cache=N")
        if not isinstance(verifier, Verifier):
            raise ValueError("only a Verifier can be cached; this verifier is used as is")
        return CachedVerifier(verifier, max_entries=cache)
    raise TypeError("cache must be True, False, a number of entries or a CachedVerifier")
