"""The verified-token cache: skip the signature check for a token already verified.

A resource server sees the same access token on every request of a session; verifying its
signature each time is most of the cost of authentication. ``CachedVerifier`` wraps a
``Verifier`` with a bounded LRU keyed by the exact token string (Envoy's ``jwt_authn`` and
fast-jwt keep the same kind of cache). The cache is invisible in results:

- a hit returns what a cold ``verify`` of the same token returns at that moment (equal header,
  claims and the same ``Key``), as fresh objects the caller may mutate without poisoning it;
- the time claims are re-checked on every hit with the verifier's clock and leeway and the
  verifier's own comparisons, so an entry is never served past its ``exp`` (plus leeway),
  before its ``nbf`` (minus leeway), or past ``max_age``;
- the revocation hooks (``policy.checks``: denylist, auth version) run on every hit;
- the key that verified the entry must still be the one the key source selects for the token's
  ``kid`` and ``alg``: a key removed from the set (or replaced, as after a JWKS refresh) drops
  the entry and the token is verified cold again, which gives the cold answer;
- errors are never cached: a refused token is verified cold every time, so a refusal that can
  change (a key not yet published, a revocation service down) never sticks.

Only tokens of at most ``max_token_bytes`` (4 KiB by default) are cached, so the cache holds at
most ``max_entries`` times that. Thread-safe: one lock guards the LRU, held for a dictionary
operation only, never across a hook or a key lookup.

    >>> cached = CachedVerifier(Verifier(policy))     # doctest: +SKIP
    >>> cached.verify(token).claims["sub"]            # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, NamedTuple

from ._key_sources import KeySelector
from .keys.key import Key
from .verify import VerifiedToken, Verifier

__all__ = ["CacheStats", "CachedVerifier"]


class CacheStats(NamedTuple):
    """Counters of a ``CachedVerifier``.

    ``hits``: tokens answered from the cache (a hit may still be refused by the time check
    or a revocation hook). ``misses``: tokens verified cold (absent, too long, or an entry
    dropped because its key changed).
    """

    hits: int
    misses: int
    entries: int
    max_entries: int


def _copy_json(value: Any) -> Any:
    """A deep copy of a parsed JSON value (dicts, lists, immutable scalars); much cheaper than
    ``copy.deepcopy`` because JSON has no cycles and no other containers."""
    kind = type(value)
    if kind is dict:
        return {name: _copy_json(item) for name, item in value.items()}
    if kind is list:
        return [_copy_json(item) for item in value]
    return value


def _containers(obj: dict[str, Any]) -> tuple[str, ...]:
    """Names of the members whose values are containers (copied afresh on every hit)."""
    return tuple(name for name, value in obj.items() if type(value) is dict or type(value) is list)


def _fresh(obj: dict[str, Any], containers: tuple[str, ...]) -> dict[str, Any]:
    out = obj.copy()
    for name in containers:
        out[name] = _copy_json(out[name])
    return out


class _Entry:
    """One verified token: private copies of its header and claims, and what re-checks need."""

    __slots__ = (
        "alg",
        "claims",
        "claims_containers",
        "exp",
        "header",
        "header_containers",
        "iat",
        "key",
        "kid",
        "nbf",
        "selector",
    )

    def __init__(self, result: VerifiedToken, selector: KeySelector) -> None:
        self.header = _copy_json(result.header)
        self.claims = _copy_json(result.claims)
        self.header_containers = _containers(self.header)
        self.claims_containers = _containers(self.claims)
        self.key: Key = result.key
        self.kid: str | None = result.header.get("kid")
        self.alg: str = result.header["alg"]
        self.selector = selector
        # The verifier already checked these are finite numbers (RFC 7519 2 NumericDate).
        self.exp: float | None = result.claims.get("exp")
        self.nbf: float | None = result.claims.get("nbf")
        self.iat: float | None = result.claims.get("iat")

    def result(self) -> VerifiedToken:
        return VerifiedToken(
            _fresh(self.header, self.header_containers),
            _fresh(self.claims, self.claims_containers),
            self.key,
        )


class CachedVerifier:
    """A ``Verifier`` with a bounded LRU cache of verified tokens; same calls, same results.

    Args:
        verifier: the verifier whose answers are cached.
        max_entries: the most tokens kept (least recently used evicted first).
        max_token_bytes: longer tokens are always verified cold (bounds the memory).

    Raises:
        TypeError: ``verifier`` is not a ``Verifier``.
        ValueError: a bound is not a positive integer.

    Example:
        >>> cached = CachedVerifier(Verifier(policy), max_entries=50_000)  # doctest: +SKIP
        >>> cached.verify(token).claims["sub"]                            # doctest: +SKIP
    """

    __slots__ = (
        "_clock",
        "_entries",
        "_full_recheck",
        "_hits",
        "_leeway",
        "_lock",
        "_max_age",
        "_max_entries",
        "_max_token_bytes",
        "_misses",
        "_verifier",
    )

    def __init__(
        self, verifier: Verifier, *, max_entries: int = 10_000, max_token_bytes: int = 4096
    ) -> None:
        if not isinstance(verifier, Verifier):
            raise TypeError("CachedVerifier wraps a Verifier")
        for name, value in (("max_entries", max_entries), ("max_token_bytes", max_token_bytes)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a positive integer")
        policy = verifier.policy
        self._verifier = verifier
        self._max_entries = max_entries
        self._max_token_bytes = max_token_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._clock = policy.clock
        # Same float the verifier compares with, so a hit and a cold verify agree to the bit.
        self._leeway = float(policy.leeway)
        self._max_age = policy.max_age
        # A subject_exists callback asks live state (a deleted account): re-run every claim
        # check on a hit, exactly as a cold verify would, rather than the time window only.
        self._full_recheck = policy.subject_exists is not None

    @property
    def verifier(self) -> Verifier:
        """The wrapped verifier."""
        return self._verifier

    @property
    def stats(self) -> CacheStats:
        """Hit and miss counters and the current size."""
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._entries), self._max_entries)

    def clear(self) -> None:
        """Drop every entry (for instance after an emergency key revocation)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return (
            f"CachedVerifier(entries={len(self._entries)}, max_entries={self._max_entries}, "
            f"max_token_bytes={self._max_token_bytes})"
        )

    # --- the two calls ----------------------------------------------------------------------

    def verify(self, token: str | bytes) -> VerifiedToken:
        """Verify ``token`` as ``Verifier.verify`` does, from the cache when it can.

        Raises:
            InvalidTokenError: a subclass per stable code, exactly as ``Verifier.verify``.
            RevocationUnavailableError: a revocation hook could not answer (fail closed).
        """
        cache_key = self._cache_key(token)
        if cache_key is None:
            self._count_uncacheable()
        else:
            entry = self._lookup(cache_key)
            if entry is not None:
                try:
                    selected = self._select(entry)
                except Exception:  # the key left the set: the cold path says how
                    selected = None
                if selected is entry.key and self._still_valid(entry):
                    result = entry.result()
                    self._verifier.run_hooks(result)
                    return result
                self._drop(cache_key, entry)
        result = self._verifier.verify(token)
        if cache_key is not None:
            self._store(cache_key, result)
        return result

    async def verify_async(self, token: str | bytes) -> VerifiedToken:
        """Like ``verify``, awaiting async key sources (``aselect``) and async hooks."""
        cache_key = self._cache_key(token)
        if cache_key is None:
            self._count_uncacheable()
        else:
            entry = self._lookup(cache_key)
            if entry is not None:
                try:
                    selected = await self._aselect(entry)
                except Exception:  # the key left the set: the cold path says how
                    selected = None
                if selected is entry.key and self._still_valid(entry):
                    result = entry.result()
                    await self._verifier.run_hooks_async(result)
                    return result
                self._drop(cache_key, entry)
        result = await self._verifier.verify_async(token)
        if cache_key is not None:
            self._store(cache_key, result)
        return result

    # --- internals --------------------------------------------------------------------------

    def _cache_key(self, token: object) -> str | None:
        if type(token) is str:
            text = token
        elif type(token) is bytes:
            try:
                text = token.decode("ascii")
            except UnicodeDecodeError:
                return None
        else:
            return None
        if len(text) > self._max_token_bytes:
            return None
        return text

    # Key selection through the verifier's own KeySelector of the token's issuer: a hit asks
    # the source exactly as Verifier.verify / verify_async do (with the protected header for a
    # HeaderKeySource when the policy allows such headers, by kid and alg otherwise).

    def _select(self, entry: _Entry) -> Key:
        return entry.selector.select(entry.header, entry.kid, entry.alg)

    async def _aselect(self, entry: _Entry) -> Key:
        return await entry.selector.aselect(entry.header, entry.kid, entry.alg)

    def _count_uncacheable(self) -> None:
        with self._lock:
            self._misses += 1

    def _lookup(self, cache_key: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(cache_key)
            if entry is None:
                self._misses += 1
                return None
            self._entries.move_to_end(cache_key)
            self._hits += 1
            return entry

    def _still_valid(self, entry: _Entry) -> bool:
        """The time claims, checked with the verifier's clock, leeway and comparisons.

        Returns ``False`` to send the token down the cold path; raises the verifier's own
        error when a time claim refuses it (the cold path would raise the same: every check
        before the claims is deterministic for the same token and key).
        """
        if self._full_recheck:
            self._verifier.check_claims(VerifiedToken(entry.header, entry.claims, entry.key))
            return True
        now = self._clock.now()
        leeway = self._leeway
        exp, nbf, iat = entry.exp, entry.nbf, entry.iat
        max_age = self._max_age
        # The same expressions as Verifier._check_claims (RFC 7519 4.1.4, 4.1.5, 4.1.6).
        if (
            (exp is not None and now >= exp + leeway)
            or (nbf is not None and now + leeway < nbf)
            or (iat is not None and iat > now + leeway)
            or (max_age is not None and iat is not None and now - iat > max_age + leeway)
        ):
            # Raise exactly the cold path's error, in the cold path's order of checks.
            self._verifier.check_claims(VerifiedToken(entry.header, entry.claims, entry.key))
            return False  # only if the two disagree: then the cold path decides
        return True

    def _drop(self, cache_key: str, entry: _Entry) -> None:
        with self._lock:
            # Only the entry we judged: another thread may have stored a fresh one meanwhile.
            if self._entries.get(cache_key) is entry:
                del self._entries[cache_key]
            self._hits -= 1
            self._misses += 1

    def _store(self, cache_key: str, result: VerifiedToken) -> None:
        iss = result.claims.get("iss")
        selector = self._verifier.key_selector(iss) if type(iss) is str else None
        if selector is None:  # cannot happen for a verified token; never cache the unexplained
            return
        entry = _Entry(result, selector)
        with self._lock:
            entries = self._entries
            entries[cache_key] = entry
            entries.move_to_end(cache_key)
            while len(entries) > self._max_entries:
                entries.popitem(last=False)
