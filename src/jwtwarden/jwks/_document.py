"""Reading a fetched JWK Set: which keys are kept, and how long the set stays fresh.

Decision (documented in ``RemoteJWKS``): a key the import refuses (a weak RSA modulus, an
unknown ``kty``, ``use`` ``enc``, no ``alg`` and no default algorithm, an HMAC secret, which
never belongs in a published set) is *dropped* with a counted log line, and the rest of the
set is used: issuers publish encryption keys and new key types next to their signing keys.
What makes the whole document ambiguous is refused as a whole: duplicate member names, two
keys with one ``kid``, a set mixing HMAC and asymmetric keys, a set with no usable key.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any, NamedTuple

import httpx

from .._jose.strict_json import JSONRefused, loads_object
from ..errors import JWKSFetchError, KeyRejectedError
from ..keys.key import Key, import_jwk
from ..keys.keyset import KeySet

__all__ = ["MAX_KEYS", "ParsedJWKS", "cache_seconds", "parse_jwks"]

log = logging.getLogger("jwtwarden.jwks")

MAX_KEYS = 100  # each RSA import costs real CPU; no issuer publishes this many


class ParsedJWKS(NamedTuple):
    keys: KeySet
    dropped: int


def _drop(index: int, item: dict[str, Any], source: str, why: str) -> None:
    kid = item.get("kid")
    kid_text = repr(kid[:64]) if isinstance(kid, str) else "none"
    log.warning("jwks %s: dropped key #%d (kid %s): %s", source, index, kid_text, why)


def _import(
    index: int, item: Any, algorithm: str | Collection[str] | None, source: str
) -> Key | None:
    if not isinstance(item, dict):
        log.warning("jwks %s: dropped key #%d: not a JSON object", source, index)
        return None
    if item.get("kty") == "oct":
        # A secret published at a URL is no secret; and a verifier holding an HMAC key next to
        # public keys is the algorithm-confusion set-up. Never imported from the network.
        _drop(index, item, source, "symmetric keys are never taken from a remote set")
        return None
    try:
        key = import_jwk(item, algorithm=None if "alg" in item else algorithm)
    except KeyRejectedError as exc:
        _drop(index, item, source, f"{exc.code}: {exc.detail}")
        return None
    if key.is_private:
        log.warning(
            "jwks %s: key #%d carries private material; only its public half is used", source, index
        )
        key = key.public_key()
    return key


def parse_jwks(body: bytes, *, algorithm: str | Collection[str] | None, source: str) -> ParsedJWKS:
    """Import a fetched JWK Set document; see the module docstring for what is dropped.

    Raises:
        JWKSFetchError: the document as a whole is refused.
    """
    try:
        data = loads_object(body, "the JWK Set")
    except JSONRefused as exc:
        raise JWKSFetchError(f"{exc} (from {source})") from None
    items = data.get("keys")
    if not isinstance(items, list):
        raise JWKSFetchError(f"the JWK Set from {source} has no 'keys' list")
    if len(items) > MAX_KEYS:
        raise JWKSFetchError(f"the JWK Set from {source} has over {MAX_KEYS} keys")
    keys = []
    for index, item in enumerate(items):
        key = _import(index, item, algorithm, source)
        if key is not None:
            keys.append(key)
    if not items:
        raise JWKSFetchError(
            f"the JWK Set from {source} holds no usable signing key: no keys at all (an empty list)"
        )
    if not keys:
        raise JWKSFetchError(
            f"the JWK Set from {source} holds no usable signing key ({len(items)} dropped; "
            "the log says why)"
        )
    try:
        keyset = KeySet(keys)
    except KeyRejectedError as exc:
        raise JWKSFetchError(f"the JWK Set from {source} is refused: {exc.detail}") from None
    return ParsedJWKS(keyset, len(items) - len(keys))


def cache_seconds(
    headers: httpx.Headers, *, default: float, minimum: float, maximum: float
) -> float:
    """How long a fetched set stays fresh: ``Cache-Control: max-age`` less ``Age``, clamped to
    the bounds.

    ``no-cache``/``no-store`` give the minimum (we must cache something, or every request
    would fetch); no header or an unreadable one (negative, not a number) gives the default.
    """
    seconds = default
    for directive in headers.get("cache-control", "").split(","):
        name, _, value = directive.strip().lower().partition("=")
        if name in ("no-cache", "no-store"):
            seconds = minimum
            break
        if name == "max-age":
            value = value.strip().strip('"')
            if value.isascii() and value.isdigit():
                # RFC 9111 4.2.3: a copy a cache held for ``Age`` seconds has that much less
                # freshness left; ignoring it would keep a removed key trusted for longer.
                age = headers.get("age", "").strip()
                held = int(age[:12]) if age.isascii() and age.isdigit() else 0
                seconds = float(int(value[:12]) - held)
    return min(max(seconds, minimum), maximum)
