"""``TrustedJKU``: opt-in support for the ``jku`` header, limited to trusted URLs.

``jku`` names the URL of the key set that verifies the token, so a verifier that follows it
lets the token choose its own key (and, as a bonus, hands out an SSRF primitive). jwtwarden
refuses it by default (``forbidden_header``). An application that must accept it uses this
source for the issuer, with ``allowed_headers={"jku"}`` in the policy:

- only a URL equal to an ``allowlist`` entry, or under a ``prefixes`` entry (which must end
  in ``/``; the rest may only be plain path characters, no ``..``), is ever fetched;
- the issuer was already checked by the verifier (the source belongs to one issuer);
- each trusted URL is a ``RemoteJWKS`` of its own: same guard, cache, cooldown, limits.

``x5u`` and ``x5c`` stay refused: certificate chains would need trust anchors and path
validation that jwtwarden does not offer.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from typing import Any

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
        max_sources: how many distinct URLs under ``prefixes`` may be remembered.
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
        default: Any = None,
        max_sources: int = 16,
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
        if default is not None and not hasattr(default, "select"):
            raise TypeError("default must be a key source")
        self._exact = frozenset(allowlist)
        self._prefixes = tuple(prefixes)
        self._guard = guard
        self._default = default
        self._max_sources = max_sources
        self._options = options
        self._sources: dict[str, RemoteJWKS] = {}
        self._lock = threading.Lock()

    @property
    def sources(self) -> dict[str, RemoteJWKS]:
        """The ``RemoteJWKS`` created so far, by URL (for metrics and tests)."""
        return dict(self._sources)

    def _trusted(self, jku: str) -> bool:
        if jku in self._exact:
            return True
        for prefix in self._prefixes:
            if jku.startswith(prefix):
                tail = jku[len(prefix) :]
                if _PATH_TAIL.fullmatch(tail) and ".." not in tail:
                    return True
        return False

    def _source_for(self, header: dict[str, Any]) -> Any:
        # "in", not get(): {"jku": null} is malformed, never "no jku" (the default key set).
        if "jku" not in header:
            if self._default is None:
                raise UnknownKeyError("the token names no jku, and there is no default key set")
            return self._default
        jku = header["jku"]
        if type(jku) is not str or not jku or len(jku) > MAX_JKU_LENGTH:
            raise MalformedTokenError(f"'jku' must be a URL of at most {MAX_JKU_LENGTH} chars")
        if not self._trusted(jku):
            # Checked before anything touches the network: an untrusted jku costs nothing.
            raise ForbiddenHeaderError("the token's jku is not one of the trusted key set URLs")
        with self._lock:
            source = self._sources.get(jku)
            if source is None:
                if len(self._sources) >= self._max_sources:
                    raise UnknownKeyError("too many distinct jku URLs; refusing a new one")
                source = RemoteJWKS(jku, guard=self._guard, **self._options)
                self._sources[jku] = source
        return source

    def select_for_header(self, header: dict[str, Any], kid: str | None, alg: str) -> Key:
        """The key for a token whose protected header is ``header`` (the verifier calls this).

        Raises:
            ForbiddenHeaderError: the ``jku`` is not trusted (nothing was fetched).
            UnknownKeyError, JWKSFetchError: as ``RemoteJWKS.select``.
        """
        source = self._source_for(header)
        key: Key = source.select(kid, alg)
        return key

    async def aselect_for_header(self, header: dict[str, Any], kid: str | None, alg: str) -> Key:
        """The async twin of ``select_for_header``."""
        source = self._source_for(header)
        aselect = getattr(source, "aselect", None)
        key: Key = await aselect(kid, alg) if aselect is not None else source.select(kid, alg)
        return key

    def select(self, kid: str | None, alg: str) -> Key:
        """Without a header only the ``default`` source can answer."""
        return self.select_for_header({}, kid, alg)

    async def aselect(self, kid: str | None, alg: str) -> Key:
        return await self.aselect_for_header({}, kid, alg)

    def __repr__(self) -> str:
        return f"TrustedJKU(exact={len(self._exact)}, prefixes={len(self._prefixes)})"
