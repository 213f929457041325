"""``TrustedJKU``: opt-in support for the ``jku`` header, limited to trusted URLs.

``jku`` names the URL of the key set that verifies the token, so a verifier that follows it
lets the token choose its own key (and, as a bonus, hands out an SSRF primitive). jwtwarden
refuses it by default (``forbidden_header``). An application that must accept it uses this
source for the issuer, with ``allowed_headers={"jku"}`` in the policy:

- only a URL equal to an ``allowlist`` entry, or under a ``prefixes`` entry (which must end
  in ``/``; the rest may only be plain path characters, no ``..``), is ever fetched;
- the issuer was already checked by the verifier (the source belongs to one issuer);
- each trusted URL is a ``RemoteJWKS`` of its own: same guard, cache, cooldown, limits.

What a token names is remembered before its signature is checked, so the memory it can claim
is bounded and can never push out a trusted entry:

- exact allowlist URLs are built once, at construction, and never evicted;
- a new URL under a prefix starts *on probation*, in an LRU of ``max_sources`` entries that
  forged tokens with junk URLs can only churn among themselves (O(1) eviction);
- a URL is *proven* once its key set gave a key for a token (the issuer publishes keys
  there: a forger cannot make that happen); proven URLs live in an LRU of their own, which
  probation entries never touch, so a flood of junk URLs neither evicts the issuer's key URL
  nor refuses its next one (the old fixed table refused every new URL once full, until a
  restart);
- admitting a new URL costs an outbound fetch, so at most one new URL is admitted per
  ``new_url_interval`` (1 s): a flood makes at most one request a second to the issuer,
  known URLs are never delayed, and the issuer's next URL gets in as soon as a slot is free.

``x5u`` and ``x5c`` stay refused: certificate chains would need trust anchors and path
validation that jwtwarden does not offer.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Collection
from typing import Any

from .._key_sources import KeySelector, KeySource, key_selector
from ..clock import SYSTEM_CLOCK, Clock, check_seconds
from ..errors import ForbiddenHeaderError, MalformedTokenError, UnknownKeyError
from ..keys.key import Key
from .guard import SSRFGuard
from .remote import RemoteJWKS

__all__ = ["TrustedJKU"]

MAX_JKU_LENGTH = 2048
# What may follow a trusted prefix: plain path segments, nothing that re-parses the URL.
_PATH_TAIL = re.compile(r"(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*/?)*")


class TrustedJKU:
    """A key source following ``jku`` only to allowlisted URLs (see the module docstring).

    Parameters:
        allowlist: exact JWK Set URLs.
        prefixes: URL prefixes ending in ``/`` (for issuers that version their key URLs).
        guard, allow_loopback_http: as for ``RemoteJWKS`` (one guard for every URL).
        default: the source for tokens without ``jku`` (otherwise they are refused).
        max_sources: how many URLs under ``prefixes`` are remembered, on probation and
            proven each (least recently used evicted first).
        new_url_interval: least seconds between admitting two new URLs under ``prefixes``
            (each costs a fetch); default 1.
        options: passed to each ``RemoteJWKS`` (``timeout``, ``cooldown``, ``clock``, ...).

    Raises:
        ValueError: an allowlist entry or prefix that could never be safe.

    Example:
        >>> source = TrustedJKU(["https://auth.example.com/jwks.json"])  # doctest: +SKIP
        >>> policy = VerificationPolicy.access_token(  # doctest: +SKIP
        ...     algorithms=["ES256"], issuer="https://auth.example.com", audience="api",
        ...     keys=source, allowed_headers={"jku"})
    """

    def __init__(
        self,
        allowlist: Collection[str] = (),
        *,
        prefixes: Collection[str] = (),
        guard: SSRFGuard | None = None,
        allow_loopback_http: bool = False,
        default: KeySource | None = None,
        max_sources: int = 16,
        new_url_interval: float = 1.0,
        **options: Any,
    ) -> None:
        if isinstance(allowlist, str) or isinstance(prefixes, str):
            raise TypeError("allowlist and prefixes are collections of URLs, not one string")
        if not allowlist and not prefixes:
            raise ValueError("TrustedJKU needs at least one trusted URL or prefix")
        if guard is None:
            guard = SSRFGuard(allow_loopback_http=allow_loopback_http)
        for url in (*allowlist, *prefixes):
            guard.validate(url)
        for prefix in prefixes:
            if not prefix.endswith("/") or prefix.count("/") < 3:
                raise ValueError(f"prefix {prefix!r} must be an origin and path ending in '/'")
        if default is not None and not isinstance(default, KeySource):
            raise TypeError("default must be a key source")
        if type(max_sources) is not int or max_sources < 1:
            raise ValueError("max_sources must be a positive integer")
        clock = options.get("clock", SYSTEM_CLOCK)
        if not isinstance(clock, Clock):
            raise TypeError("clock must have a now() method")
        self._new_url_interval = check_seconds("new_url_interval", new_url_interval, zero_ok=True)
        self._prefixes = tuple(prefixes)
        self._guard = guard
        # The default source answers by kid and alg (async when it can), resolved once.
        self._default: KeySelector | None = (
            None if default is None else key_selector(default, by_header=False)
        )
        self._max_sources = max_sources
        self._options = options
        self._clock = clock
        # Built from configuration, not from tokens: fixed, never evicted. No fetch here.
        self._exact = {url: RemoteJWKS(url, guard=guard, **options) for url in allowlist}
        self._proven: OrderedDict[str, RemoteJWKS] = OrderedDict()
        self._probation: OrderedDict[str, RemoteJWKS] = OrderedDict()
        self._last_admitted: float | None = None
        self._lock = threading.Lock()

    @property
    def sources(self) -> dict[str, RemoteJWKS]:
        """The ``RemoteJWKS`` held now, by URL: exact, proven, then on probation."""
        with self._lock:
            return {**self._exact, **self._proven, **self._probation}

    @property
    def proven(self) -> tuple[str, ...]:
        """The URLs under ``prefixes`` whose key set has given a key, least recent first."""
        with self._lock:
            return tuple(self._proven)

    def _trusted(self, jku: str) -> bool:
        for prefix in self._prefixes:
            if jku.startswith(prefix):
                tail = jku[len(prefix) :]
                if _PATH_TAIL.fullmatch(tail) and ".." not in tail:
                    return True
        return False

    def _source_for(self, header: dict[str, Any]) -> tuple[RemoteJWKS | None, str | None]:
        """The source for the token's ``jku`` (``None``: no ``jku``, the default source
        answers) and, when it is on probation, its URL."""
        # "in", not get(): {"jku": null} is malformed, never "no jku" (the default key set).
        if "jku" not in header:
            if self._default is None:
                raise UnknownKeyError("the token names no jku, and there is no default key set")
            return None, None
        jku = header["jku"]
        if type(jku) is not str or not jku or len(jku) > MAX_JKU_LENGTH:
            raise MalformedTokenError(f"'jku' must be a URL of at most {MAX_JKU_LENGTH} chars")
        exact = self._exact.get(jku)
        if exact is not None:
            return exact, None
        if not self._trusted(jku):
            # Checked before anything touches the network: an untrusted jku costs nothing.
            raise ForbiddenHeaderError("the token's jku is not one of the trusted key set URLs")
        with self._lock:
            source = self._proven.get(jku)
            if source is not None:
                self._proven.move_to_end(jku)
                return source, None
            source = self._probation.get(jku)
            if source is not None:
                return source, jku
            now = self._clock.now()
            last = self._last_admitted
            # abs(): a wall clock stepped backwards must not open the gate either.
            if last is not None and abs(now - last) < self._new_url_interval:
                raise UnknownKeyError(
                    "a new jku URL was admitted less than "
                    f"{self._new_url_interval:g} s ago; refusing another one for now"
                )
            self._last_admitted = now
            source = RemoteJWKS(jku, guard=self._guard, **self._options)
            if len(self._probation) >= self._max_sources:
                self._probation.popitem(last=False)
            self._probation[jku] = source
        return source, jku

    def _promote(self, jku: str | None) -> None:
        """A probation URL gave a key: the issuer publishes keys there."""
        if jku is None:
            return
        with self._lock:
            source = self._probation.pop(jku, None)
            if source is None:
                return
            if len(self._proven) >= self._max_sources:
                self._proven.popitem(last=False)
            self._proven[jku] = source

    def select_for_header(self, header: dict[str, Any], kid: str | None, alg: str) -> Key:
        """The key for a token whose protected header is ``header`` (the verifier calls this).

        Raises:
            ForbiddenHeaderError: the ``jku`` is not trusted (nothing was fetched).
            UnknownKeyError: no such key, or a new URL came sooner than ``new_url_interval``.
            JWKSFetchError: as ``RemoteJWKS.select``.
        """
        source, probation = self._source_for(header)
        if source is None:
            assert self._default is not None  # _source_for refused the token otherwise
            return self._default.select(header, kid, alg)
        key = source.select(kid, alg)
        self._promote(probation)
        return key

    async def aselect_for_header(self, header: dict[str, Any], kid: str | None, alg: str) -> Key:
        """The async twin of ``select_for_header``."""
        source, probation = self._source_for(header)
        if source is None:
            assert self._default is not None  # _source_for refused the token otherwise
            return await self._default.aselect(header, kid, alg)
        key = await source.aselect(kid, alg)
        self._promote(probation)
        return key

    def select(self, kid: str | None, alg: str) -> Key:
        """Without a header only the ``default`` source can answer."""
        return self.select_for_header({}, kid, alg)

    async def aselect(self, kid: str | None, alg: str) -> Key:
        return await self.aselect_for_header({}, kid, alg)

    def __repr__(self) -> str:
        return f"TrustedJKU(exact={len(self._exact)}, prefixes={len(self._prefixes)})"
