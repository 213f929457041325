"""``RemoteJWKS``: the issuer's JWK Set, fetched through the SSRF guard, cached and refreshed.

Behaviour (the defaults follow panva/jose's remote JWK Set):

- **Cache**: a fetched set is fresh for ``Cache-Control: max-age``, clamped to
  ``[min_cache, max_cache]`` (10 minutes when the response says nothing); these bounds, the
  cooldown and ``max_stale`` are a ``CachePolicy``, the timeout and size cap ``FetchLimits``.
- **Stale while revalidate**: a stale set keeps serving while one refresh runs in the
  background (a daemon thread for ``select``, a task for ``aselect``).
- **Unknown kid**: triggers a refetch, at most one per ``cooldown`` (30 s), counted from the
  last attempt of any kind: a flood of tokens with random ``kid`` values cannot make this
  service hammer the issuer (nor be used to amplify traffic against it).
- **Single flight**: concurrent callers that need a fetch share one request, across threads and
  tasks alike (``_concurrency.SingleFlight``).
- **Issuer down**: the last good set keeps serving for ``max_stale`` after it went stale;
  after that, and before any set was ever fetched, ``select`` raises ``JWKSFetchError``.
- **Keys**: imported with the usual pinning and strength floors; a key the import refuses is
  dropped with a counted log line (``stats.dropped_keys``), while duplicate ``kid`` values, a
  mixed HMAC/asymmetric set or a set with no usable key refuse the whole document (see
  ``jwks._document``).

Size: past 400 lines because it is one state machine (snapshot, cooldown, flight) written as
sync and async twins side by side, which must change in step; its settings and counters
(``options.py``), the single-flight helper (``_concurrency.py``), the fetch (``_fetch.py``) and
the document rules (``_document.py``) already live apart.
"""

from __future__ import annotations

import asyncio
import logging
import math
import ssl
import threading
from collections.abc import Collection
from typing import Any, NamedTuple, Unpack

import httpx

from .._concurrency import Claim, SingleFlight
from ..clock import SYSTEM_CLOCK, Clock
from ..errors import FetchRefusedError, JWKSFetchError, UnknownKeyError
from ..keys.key import Key
from ..keys.keyset import KeySet
from ._document import cache_seconds, parse_jwks
from ._fetch import ACCEPT_JWKS, Fetched, FetchSettings, afetch, fetch
from .discovery import adiscover_jwks_uri, discover_jwks_uri
from .guard import SSRFGuard
from .options import (
    CachePolicy,
    FetchLimits,
    FlatOptions,
    JWKSStats,
    check_seams,
    checked_guard,
    split_flat_options,
)

__all__ = ["JWKSStats", "RemoteJWKS"]

log = logging.getLogger("jwtwarden.jwks")


class _Snapshot(NamedTuple):
    keys: KeySet | None
    fresh_until: float
    stale_until: float


class _Outcome(NamedTuple):
    keys: KeySet | None
    error: JWKSFetchError | None


_Claim = Claim[_Outcome]


def _copy(error: JWKSFetchError | None) -> JWKSFetchError:
    # One outcome is shared by every waiter: each raises its own exception object.
    if error is None:
        return JWKSFetchError("the key set could not be fetched")
    return type(error)(error.detail)


class RemoteJWKS:
    """A ``KeySource`` backed by a remote JWK Set (see the module docstring for behaviour).

    Parameters:
        url: the JWK Set URL (``https``; or use ``from_discovery``).
        guard: the ``SSRFGuard`` to use (shared across sources if you like); default a new one.
        allow_loopback_http: the development switch, for the default guard only.
        cache: a ``CachePolicy`` (freshness bounds, cooldown, ``max_stale``).
        limits: a ``FetchLimits`` (``timeout`` per network operation, ``max_bytes``).
        clock: the clock for freshness and cooldown (a ``FixedClock`` in tests).
        transport: an ``httpx`` transport (tests: ``httpx.MockTransport``); default real TCP.
        algorithm: the algorithm of keys that carry no ``alg`` (they are dropped otherwise):
            one, or the allowed ones, of which exactly one must fit each such key's type (a
            key that fits several, RSA with RS256 and PS256, is dropped as ambiguous).
        ssl_context: trust anchors for a private CA; default the ``certifi`` bundle.
        **flat: the fields of ``CachePolicy`` and ``FetchLimits`` as plain keywords, for short
            calls (``RemoteJWKS(url, cooldown=60)``); not together with the object they fill.

    Call ``select`` from threads and ``aselect`` from async code: ``select`` on an event
    loop's thread blocks that loop while it fetches.

    Attributes: ``stats`` (a ``JWKSStats``: fetches, refusals, failures, dropped keys,
    coalesced callers), also readable one by one (``fetches``, ``refusals``, ...).

    Raises:
        ValueError, TypeError: a configuration that can never be safe or work.

    Example:
        >>> jwks = RemoteJWKS("https://auth.example.com/.well-known/jwks.json",
        ...                   cache=CachePolicy(cooldown=60), limits=FetchLimits(timeout=2))
        >>> policy = VerificationPolicy.access_token(  # doctest: +SKIP
        ...     algorithms=["ES256"], issuer="https://auth.example.com", audience="api",
        ...     keys=jwks)
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        discovery_issuer: str | None = None,
        guard: SSRFGuard | None = None,
        allow_loopback_http: bool = False,
        cache: CachePolicy | None = None,
        limits: FetchLimits | None = None,
        clock: Clock = SYSTEM_CLOCK,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
        algorithm: str | Collection[str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        **flat: Unpack[FlatOptions],
    ) -> None:
        guard = checked_guard(guard, allow_loopback_http)
        if (url is None) == (discovery_issuer is None):
            raise ValueError("give the JWK Set url, or use RemoteJWKS.from_discovery(issuer)")
        guard.validate(url if url is not None else str(discovery_issuer))
        self._cache, limits = split_flat_options(cache, limits, flat)
        check_seams(clock, transport, algorithm)
        self._jwks_url = url
        self._issuer = discovery_issuer
        self._algorithm = (
            algorithm
            if algorithm is None or isinstance(algorithm, str)
            else (tuple(sorted(algorithm)))
        )
        self._clock = clock
        self._settings = FetchSettings(
            guard=guard,
            timeout=limits.timeout,
            max_bytes=limits.max_bytes,
            transport=transport,
            ssl_context=ssl_context,
        )
        # Discovery and the set, each within 2 x timeout (_fetch.FETCH_BUDGET), plus name
        # resolution, which only the system resolver bounds: a generous margin.
        self._wait_limit = limits.timeout * 12 + 1
        self._lock = threading.Lock()
        self._flights: SingleFlight[_Outcome] = SingleFlight(self._lock)
        self._snapshot = _Snapshot(None, -math.inf, -math.inf)
        self._last_attempt: float | None = None
        self._last_error: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._refusals = 0
        self._failures = 0
        self._dropped = 0

    @classmethod
    def from_discovery(cls, issuer_url: str, **options: Any) -> RemoteJWKS:
        """A source whose JWK Set URL comes from the issuer's OpenID configuration.

        The discovery document is fetched (through the guard) with the first key set; its
        ``issuer`` must equal ``issuer_url`` exactly and its ``jwks_uri`` passes the guard.

        Example:
            >>> jwks = RemoteJWKS.from_discovery("https://auth.example.com")  # doctest: +SKIP
        """
        return cls(discovery_issuer=issuer_url, **options)

    # --- what callers see -------------------------------------------------------------------

    @property
    def url(self) -> str | None:
        """The JWK Set URL (``None`` until discovery has found it)."""
        return self._jwks_url

    @property
    def issuer(self) -> str | None:
        """The issuer used for discovery, if any."""
        return self._issuer

    @property
    def guard(self) -> SSRFGuard:
        return self._settings.guard

    @property
    def keys(self) -> KeySet | None:
        """The last good key set, fresh or not (``None`` before the first fetch)."""
        return self._snapshot.keys

    @property
    def cache(self) -> CachePolicy:
        return self._cache

    @property
    def limits(self) -> FetchLimits:
        return FetchLimits(timeout=self._settings.timeout, max_bytes=self._settings.max_bytes)

    @property
    def stats(self) -> JWKSStats:
        """The counters, read together (see ``JWKSStats``)."""
        with self._lock:
            return JWKSStats(
                fetches=self._flights.started,
                refusals=self._refusals,
                failures=self._failures,
                dropped_keys=self._dropped,
                coalesced=self._flights.joined,
            )

    # One counter each, for a quick look (``stats`` reads them all at one moment).
    @property
    def fetches(self) -> int:
        return self._flights.started

    @property
    def refusals(self) -> int:
        return self._refusals

    @property
    def failures(self) -> int:
        return self._failures

    @property
    def dropped_keys(self) -> int:
        return self._dropped

    @property
    def coalesced(self) -> int:
        """Callers that joined a fetch already in flight instead of starting their own."""
        return self._flights.joined

    def select(self, kid: str | None, alg: str) -> Key:
        """The key for ``kid``/``alg``, fetching or refetching as the rules above allow.

        Raises:
            UnknownKeyError: no such key, even after the refetch the cooldown allowed.
            AlgorithmNotAllowedError: the key named by ``kid`` is pinned to another algorithm.
            JWKSFetchError: no usable key set (never fetched, or staler than ``max_stale``).
        """
        now = self._clock.now()
        snap = self._snapshot
        keys = snap.keys
        if keys is None or now >= snap.fresh_until:
            keys = self._stale_or_fetch(snap, now)
        try:
            return keys.select(kid, alg)
        except UnknownKeyError:
            claimed = self._claim(now)
            if claimed is None:
                raise
            outcome = self._complete(claimed)
        return self._after_refetch(outcome, kid, alg)

    async def aselect(self, kid: str | None, alg: str) -> Key:
        """Like ``select``, never blocking the event loop (``verify_async`` uses this)."""
        now = self._clock.now()
        snap = self._snapshot
        keys = snap.keys
        if keys is None or now >= snap.fresh_until:
            keys = await self._astale_or_fetch(snap, now)
        try:
            return keys.select(kid, alg)
        except UnknownKeyError:
            claimed = self._claim(now)
            if claimed is None:
                raise
            outcome = await self._acomplete(claimed)
        return self._after_refetch(outcome, kid, alg)

    def refresh(self) -> KeySet:
        """Fetch now, ignoring the cooldown (start-up warm-up); return the new set.

        Raises:
            JWKSFetchError: the fetch failed (the previous set, if any, stays in use).
        """
        claimed = self._claim(self._clock.now(), explicit=True)
        assert claimed is not None  # an explicit claim always gets a flight
        return self._keys_or_raise(self._complete(claimed))

    async def arefresh(self) -> KeySet:
        """The async twin of ``refresh``."""
        claimed = self._claim(self._clock.now(), explicit=True)
        assert claimed is not None
        return self._keys_or_raise(await self._acomplete(claimed))

    async def aclose(self) -> None:
        """Wait for background refresh tasks of the running loop (for orderly shutdowns)."""
        loop = asyncio.get_running_loop()
        pending = [t for t in tuple(self._tasks) if t.get_loop() is loop and not t.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    # --- the rules ---------------------------------------------------------------------------

    def _after_refetch(self, outcome: _Outcome, kid: str | None, alg: str) -> Key:
        if outcome.keys is None:
            raise UnknownKeyError(
                "no trusted key has the token's kid (and the key set could not be refreshed)"
            )
        return outcome.keys.select(kid, alg)

    @staticmethod
    def _keys_or_raise(outcome: _Outcome) -> KeySet:
        if outcome.keys is None:
            raise _copy(outcome.error)
        return outcome.keys

    def _unavailable(self) -> JWKSFetchError:
        where = self._jwks_url or f"the issuer {self._issuer!r}"
        last = self._last_error or "the key set is older than max_stale"
        return JWKSFetchError(
            f"no usable key set from {where} ({last}); the next attempt waits for the cooldown"
        )

    def _stale_or_fetch(self, snap: _Snapshot, now: float) -> KeySet:
        claimed = self._claim(now)
        if snap.keys is not None and now < snap.stale_until:
            if claimed is not None and claimed.owner:
                threading.Thread(
                    target=self._run, args=(claimed,), name="jwtwarden-jwks", daemon=True
                ).start()
            return snap.keys
        if claimed is None:
            raise self._unavailable()
        return self._keys_or_raise(self._complete(claimed))

    async def _astale_or_fetch(self, snap: _Snapshot, now: float) -> KeySet:
        claimed = self._claim(now)
        if snap.keys is not None and now < snap.stale_until:
            if claimed is not None and claimed.owner:
                self._spawn(claimed)
            return snap.keys
        if claimed is None:
            raise self._unavailable()
        return self._keys_or_raise(await self._acomplete(claimed))

    def _claim(self, now: float, *, explicit: bool = False) -> _Claim | None:
        """Join the fetch in flight, or start one if the cooldown allows; ``None`` if not."""

        def cooled_down() -> bool:  # under the lock, with no fetch in flight
            last = self._last_attempt
            # abs(): a wall clock stepped backwards must not open the gate either.
            if not explicit and last is not None and abs(now - last) < self._cache.cooldown:
                return False
            self._last_attempt = now
            return True

        return self._flights.claim(start_if=cooled_down)

    def _complete(self, claim: _Claim) -> _Outcome:
        if claim.owner:
            self._run(claim)
        try:
            return claim.wait(self._wait_limit)
        except TimeoutError:
            return _Outcome(None, JWKSFetchError("timed out waiting for the key set fetch"))

    async def _acomplete(self, claim: _Claim) -> _Outcome:
        if claim.owner:
            # A task of its own: if this caller is cancelled, the flight still lands for the
            # others (and wait_async shields the shared future from this caller's cancel).
            self._spawn(claim)
        try:
            return await claim.wait_async(self._wait_limit)
        except TimeoutError:
            return _Outcome(None, JWKSFetchError("timed out waiting for the key set fetch"))

    def _spawn(self, claim: _Claim) -> None:
        task = asyncio.get_running_loop().create_task(self._arun(claim), name="jwtwarden-jwks")
        self._tasks.add(task)  # a strong reference, or the task may be collected mid-flight
        task.add_done_callback(self._tasks.discard)

    # --- one fetch ---------------------------------------------------------------------------

    def _run(self, claim: _Claim) -> None:
        outcome = _Outcome(None, JWKSFetchError("the key set fetch was interrupted"))
        try:
            url = self._jwks_url
            if url is None:
                url = self._discovered(discover_jwks_uri(str(self._issuer), self._settings))
            outcome = self._installed(url, fetch(url, self._settings, accept=ACCEPT_JWKS))
        except Exception as exc:
            outcome = self._failed(exc)
        finally:
            self._flights.finish(claim, outcome)  # always: waiters must never hang

    async def _arun(self, claim: _Claim) -> None:
        outcome = _Outcome(None, JWKSFetchError("the key set fetch was interrupted"))
        try:
            url = self._jwks_url
            if url is None:
                url = self._discovered(await adiscover_jwks_uri(str(self._issuer), self._settings))
            outcome = self._installed(url, await afetch(url, self._settings, accept=ACCEPT_JWKS))
        except Exception as exc:
            outcome = self._failed(exc)
        finally:
            self._flights.finish(claim, outcome)

    def _discovered(self, uri: str) -> str:
        self._settings.guard.parse(uri)  # form check now; addresses are checked by the fetch
        self._jwks_url = uri
        return uri

    def _installed(self, url: str, fetched: Fetched) -> _Outcome:
        parsed = parse_jwks(fetched.body, algorithm=self._algorithm, source=url)
        now = self._clock.now()
        fresh = cache_seconds(
            fetched.headers,
            default=self._cache.default_cache,
            minimum=self._cache.min_cache,
            maximum=self._cache.max_cache,
        )
        with self._lock:
            self._dropped += parsed.dropped
            self._last_error = None
            self._snapshot = _Snapshot(
                parsed.keys, now + fresh, now + fresh + self._cache.max_stale
            )
        return _Outcome(parsed.keys, None)

    def _failed(self, exc: Exception) -> _Outcome:
        if not isinstance(exc, JWKSFetchError):  # a bug must not leave waiters hanging
            log.exception("jwks: unexpected error while fetching")
            exc = JWKSFetchError(f"unexpected {type(exc).__name__}")
        with self._lock:
            if isinstance(exc, FetchRefusedError):
                self._refusals += 1
            else:
                self._failures += 1
            self._last_error = f"{exc.code}: {exc.detail}"
        where = self._jwks_url or self._issuer
        log.warning("jwks %s: fetch failed: %s: %s", where, exc.code, exc.detail)
        return _Outcome(None, exc)

    def __repr__(self) -> str:
        where = self._jwks_url or f"discovery:{self._issuer}"
        count = len(self._snapshot.keys) if self._snapshot.keys is not None else 0
        return f"RemoteJWKS({where!r}, keys={count}, fetches={self._flights.started})"
