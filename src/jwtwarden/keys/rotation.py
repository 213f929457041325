"""``KeyRing``: per-use signing keys over a ``KeyStore``, rotated on a schedule.

Each token use (``access``, ``id``, ``reset``, ...) has its own keys, so a key that signs ID
tokens never verifies an access token (cross-JWT confusion, RFC 8725 section 2.8). A key
moves through ``pending -> active -> retiring -> retired``:

- a new key is *published* ``publish_ahead`` seconds before it signs, so every verifier whose
  JWKS cache is at most that old has it when the first token arrives (``jwks_max_age()``);
- when it activates, its predecessor stops signing (``retire_at``) but stays published until
  every token it signed has expired: ``remove_at = retire_at + max_token_ttl[use] + leeway +
  refresh_interval`` (the last term covers a process that has not re-read the store yet);
- ``revoke`` removes a key at once (an emergency), and activates a replacement.

The state at any moment is *computed from the recorded dates* (``status()``), so every process
sharing a store agrees without a coordinator, and nothing breaks if ``tick()`` runs late:
``tick()`` only writes the computed states back, deletes removed keys, and schedules the next
key. Call it from a scheduler (every few minutes; at least once per ``publish_ahead``).

Example:
    >>> ring = KeyRing(DirectoryKeyStore("keys", environment="development"))  # doctest: +SKIP
    >>> ring.ensure()                       # one active key per use  # doctest: +SKIP
    >>> ring.tick()                         # from a scheduler        # doctest: +SKIP
    >>> jwks, max_age = ring.jwks(), ring.jwks_max_age()               # doctest: +SKIP

The ring owns the lock and the reads (``signing_key``, ``verification_keys``, ``jwks`` share
one cached computation of the states); the writes of ``ensure``, ``tick``, ``rotate`` and
``revoke`` are decided in ``_changes.py`` from the states the ring hands them, and the date
arithmetic both sides share is in ``_lifecycle.py``.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext

from .._jose.algorithms import RSA_MIN_BITS, spec_for
from ..clock import SYSTEM_CLOCK, Clock, check_seconds
from ..errors import InvalidKeyError, KeyEnvironmentError, NoSigningKeyError
from ._changes import RingChanges
from ._lifecycle import LIVE, KeyChange, View, active_view, effective_views
from .generate import DEFAULT_RSA_BITS, generate_key
from .key import Key
from .keyset import KeySet
from .records import KeyRecord, KeyStore, LockableKeyStore

__all__ = [
    "DEFAULT_ALGORITHMS",
    "DEFAULT_MAX_TOKEN_TTL",
    "FALLBACK_MAX_TOKEN_TTL",
    "KeyChange",
    "KeyRing",
]

DAY = 86400.0
DEFAULT_ALGORITHMS: Mapping[str, str] = {"access": "ES256", "id": "ES256", "reset": "ES256"}
# The issuer's hard caps (issue.py): no token of these uses can live longer.
DEFAULT_MAX_TOKEN_TTL: Mapping[str, float] = {"access": 3600.0, "id": 3600.0, "reset": 3600.0}
FALLBACK_MAX_TOKEN_TTL = DAY  # a use with no configured lifetime keeps its old keys a day


class _States:
    """The key states computed at ``since`` from the records loaded at ``loaded_at``; they
    hold until ``until``, the next recorded instant at which some key changes state, and
    while the load is fresh. ``signing`` and ``verifying`` remember answers derived from them
    (the same for every caller, so filling them without a lock is harmless)."""

    __slots__ = ("loaded_at", "signing", "since", "until", "verifying", "views")

    def __init__(
        self, views: dict[str, View], since: float, until: float, loaded_at: float
    ) -> None:
        self.views = views
        self.since = since
        self.until = until
        self.loaded_at = loaded_at
        self.signing: dict[str, View | None] = {}
        self.verifying: dict[str | None, KeySet] = {}

    def holds(self, now: float, refresh: float) -> bool:
        # A clock that stepped back to before the load counts as due for a re-read.
        return self.since <= now < self.until and 0 <= now - self.loaded_at < refresh


class KeyRing:
    """Signing and verification keys per token use, over a ``KeyStore``.

    Parameters:
        store: where records live (``DirectoryKeyStore``, ``EnvKeyStore``, a SQL store...).
        clock: where "now" comes from.
        algorithms: the algorithm of new keys per use (default ES256 for access, id, reset).
        rotation_period: how long a key signs before the next one takes over (default 30 days).
        publish_ahead: how long a new key is published before it signs (default 1 hour); also
            the JWKS ``Cache-Control: max-age``.
        max_token_ttl: the longest lifetime of a token per use (default 1 hour; other uses 1
            day); a retiring key stays published that long after its last signature.
        leeway: the verifiers' clock-skew allowance (default 30 s).
        refresh_interval: how often the store is re-read (default 60 s; at most
            ``publish_ahead``), so processes sharing a store converge.
        rsa_bits: size of generated RSA keys (default 3072, never under 2048).

    Raises:
        ValueError, TypeError: an inconsistent configuration.
    """

    def __init__(
        self,
        store: KeyStore,
        *,
        clock: Clock = SYSTEM_CLOCK,
        algorithms: Mapping[str, str] = DEFAULT_ALGORITHMS,
        rotation_period: float = 30 * DAY,
        publish_ahead: float = 3600.0,
        max_token_ttl: Mapping[str, float] = DEFAULT_MAX_TOKEN_TTL,
        leeway: float = 30.0,
        refresh_interval: float = 60.0,
        rsa_bits: int = DEFAULT_RSA_BITS,
    ) -> None:
        if not isinstance(store, KeyStore):
            raise TypeError("store must implement the KeyStore protocol (load, save, delete)")
        for use, alg in algorithms.items():
            if not isinstance(use, str) or not use:
                raise ValueError("token uses must be non-empty strings")
            spec_for(alg)  # ValueError for unknown algorithms and "none"
        self._store = store
        self._clock = clock
        self._algorithms = dict(algorithms)
        self._period = check_seconds("rotation_period", rotation_period)
        self._ahead = check_seconds("publish_ahead", publish_ahead, zero_ok=True)
        self._ttl = {u: check_seconds(f"max_token_ttl[{u!r}]", t) for u, t in max_token_ttl.items()}
        self._leeway = check_seconds("leeway", leeway, zero_ok=True)
        self._refresh = check_seconds("refresh_interval", refresh_interval, zero_ok=True)
        if self._ahead >= self._period:
            raise ValueError("publish_ahead must be shorter than rotation_period")
        if self._refresh > self._ahead:
            # A process that re-reads the store less often than a new key is published ahead
            # could meet a token signed by a key it has never seen.
            raise ValueError("refresh_interval must not exceed publish_ahead")
        if rsa_bits < RSA_MIN_BITS:
            raise ValueError(f"rsa_bits must be at least {RSA_MIN_BITS}")
        self._rsa_bits = rsa_bits
        self._mutex = threading.RLock()
        self._records: dict[str, KeyRecord] = {}
        self._loaded_at: float | None = None
        self._keysets: dict[tuple[str | None, tuple[str, ...]], KeySet] = {}
        self._keysets_lock = threading.Lock()
        # What signing_key, verification_keys and jwks answer from: replaced whole (never
        # changed in place) by reload and when it goes stale, and read without the mutex, so
        # a request never waits for a store read another thread is doing under the mutex.
        self._states: _States | None = None
        self._changes = RingChanges(
            store=store,
            new_key=self._new_key,
            slack=self._slack,
            period=self._period,
            ahead=self._ahead,
        )

    # --- reading ----------------------------------------------------------------------------

    @property
    def environment(self) -> str:
        return self._store.environment

    def reload(self) -> None:
        """Re-read the store now (other processes' rotations and revocations)."""
        with self._mutex:
            records = {}
            for record in self._store.load():
                if record.key.environment != self._store.environment:
                    raise KeyEnvironmentError(
                        f"the store returned key {record.kid[:64]!r} of environment "
                        f"{record.key.environment!r}, not {self._store.environment!r}"
                    )
                records[record.kid] = record
            self._records = records
            self._loaded_at = now = self._clock.now()
            self._states = self._compute_states(now)

    def _current(self, now: float) -> list[KeyRecord]:
        with self._mutex:
            if self._loaded_at is None or not 0 <= now - self._loaded_at < self._refresh:
                self.reload()
            return list(self._records.values())

    def _compute_states(self, now: float) -> _States:
        assert self._loaded_at is not None
        views = self._views(self._records.values(), now)
        changes = (
            instant
            for v in views.values()
            for instant in (v.record.activate_at, v.retire_at, v.remove_at)
            if instant is not None and instant > now
        )
        return _States(views, now, min(changes, default=math.inf), self._loaded_at)

    def _live(self, now: float) -> _States:
        """The states at ``now``: the published ones while they hold (no lock taken), else
        computed again under the mutex (re-reading the store if it is due)."""
        states = self._states
        if states is not None and states.holds(now, self._refresh):
            return states
        with self._mutex:
            if self._loaded_at is None or not 0 <= now - self._loaded_at < self._refresh:
                self.reload()
            states = self._states
            if states is None or not states.holds(now, self._refresh):
                states = self._states = self._compute_states(now)
            return states

    def max_token_ttl(self, use: str) -> float:
        """The longest lifetime a token of ``use`` may have (the issuer refuses longer)."""
        return self._ttl.get(use, FALLBACK_MAX_TOKEN_TTL)

    def _slack(self, use: str | None) -> float:
        ttl = self._ttl.get(use, FALLBACK_MAX_TOKEN_TTL) if use else FALLBACK_MAX_TOKEN_TTL
        return ttl + self._leeway + self._refresh

    def _views(self, records: Iterable[KeyRecord], now: float) -> dict[str, View]:
        return effective_views(records, now, self._slack)

    def status(self) -> list[KeyRecord]:
        """Every stored record with its state and dates as of now, by use and activation."""
        now = self._clock.now()
        views = self._views(self._current(now), now)
        out = [
            v.record.moved(state=v.state, retire_at=v.retire_at, remove_at=v.remove_at)
            for v in views.values()
        ]
        out.sort(key=lambda r: (r.key.token_use or "", r.activate_at, r.kid))
        return out

    def signing_key(self, use: str) -> Key:
        """The active private key of ``use``.

        Raises:
            NoSigningKeyError: no key of ``use`` is active (none generated yet, or revoked).
        """
        states = self._live(self._clock.now())
        try:
            view = states.signing[use]
        except KeyError:
            view = states.signing[use] = active_view(states.views, use)
        if view is None or not view.record.key.is_private:
            raise NoSigningKeyError(
                f"no active signing key for use {use!r} in environment {self.environment!r}; "
                f"call KeyRing.ensure() or run: jwtwarden keys generate --use {use}"
            )
        return view.record.key

    def verification_keys(self, use: str | None = None) -> KeySet:
        """The keys that verify tokens now: pending, active and retiring (public halves;
        HMAC keys as they are, since they verify with the secret).

        Raises:
            ValueError: ``use`` is ``None`` and the ring mixes HMAC and asymmetric uses.
        """
        states = self._live(self._clock.now())
        known = states.verifying.get(use)
        if known is not None:
            return known
        views = states.views
        live = sorted(
            (
                v.record.key
                for v in views.values()
                if v.state in LIVE and (use is None or v.record.key.token_use == use)
            ),
            key=lambda k: k.kid,
        )
        cache_key = (use, tuple(k.kid for k in live))
        with self._keysets_lock:  # not the mutex: a store read may be holding that one
            keyset = self._keysets.get(cache_key)
            if keyset is None:
                try:
                    keyset = KeySet(k.public_key() for k in live)
                except InvalidKeyError:
                    raise ValueError(
                        "the ring mixes HMAC and asymmetric keys; ask per use"
                    ) from None
                if len(self._keysets) > 64:
                    self._keysets.clear()
                self._keysets[cache_key] = keyset
        states.verifying[use] = keyset
        return keyset

    def jwks(self) -> dict[str, list[dict[str, object]]]:
        """The public JWK Set: public members, ``kid``, ``alg``, ``use`` only; no HMAC key."""
        now = self._clock.now()
        views = sorted(
            (v for v in self._live(now).views.values() if v.state in LIVE),
            key=lambda v: (v.record.key.token_use or "", -v.record.activate_at, v.record.kid),
        )
        return {"keys": [v.record.key.public_jwk() for v in views if not v.record.key.is_symmetric]}

    def jwks_max_age(self) -> int:
        """The ``Cache-Control`` max-age for the JWKS: ``publish_ahead``, so a cache never
        misses a key that signs (manual ``immediate`` rotation and ``revoke`` excepted)."""
        return int(self._ahead)

    # --- changing ---------------------------------------------------------------------------

    def _locked(self) -> AbstractContextManager[None]:
        store = self._store
        return store.lock() if isinstance(store, LockableKeyStore) else nullcontext()

    def _new_key(self, use: str, algorithm: str | None, fallback: Key | None) -> Key:
        alg = algorithm or self._algorithms.get(use) or (fallback.alg if fallback else None)
        if alg is None:
            raise ValueError(
                f"no algorithm configured for use {use!r}; name one (algorithm=, --alg)"
            )
        return generate_key(
            alg, token_use=use, environment=self.environment, rsa_bits=self._rsa_bits
        )

    def _views_now(self) -> tuple[dict[str, View], float]:
        # Under the mutex and the store lock: the records as stored now, and their states.
        self.reload()
        now = self._clock.now()
        return self._views(self._records.values(), now), now

    def ensure(self, uses: Collection[str] | None = None) -> list[KeyChange]:
        """Make sure each use (default: every configured use) has an active key.

        A pending key is activated early if there is one; otherwise a key is generated and
        activated at once (no verifier can hold a token of a use that had no key).
        """
        wanted = list(self._algorithms if uses is None else uses)
        with self._mutex, self._locked():
            views, now = self._views_now()
            changes = self._changes.ensure(views, wanted, now)
            self.reload()
        return changes

    def tick(self) -> list[KeyChange]:
        """Apply the schedule: record state changes, delete removed keys, and create the next
        key ``publish_ahead`` before the active key's rotation is due."""
        with self._mutex, self._locked():
            views, now = self._views_now()
            changes = self._changes.tick(views, self._algorithms, now)
            self.reload()
        return changes

    def rotate(
        self, use: str, *, immediate: bool = False, algorithm: str | None = None
    ) -> KeyRecord:
        """Start a rotation of ``use`` now: a new key, published at once, signing after
        ``publish_ahead`` (or at once with ``immediate=True``; verifiers with a cached JWKS
        then meet an unknown kid and must refetch). Returns the new (or already pending) key.

        Idempotent: if a key of the same algorithm is already pending it is returned (and
        activated at once when ``immediate``).
        """
        with self._mutex, self._locked():
            views, now = self._views_now()
            record = self._changes.rotate(
                views, use, immediate=immediate, algorithm=algorithm, now=now
            )
            self.reload()
            return record

    def revoke(self, kid: str) -> list[KeyChange]:
        """Remove a key at once (compromise): gone from the JWKS and from verification.

        If it was the active key of its use, the next pending key (or a new one) activates
        immediately. Other processes sharing the store drop it at their next reload.

        Raises:
            ValueError: no such key in the store.
        """
        with self._mutex, self._locked():
            views, now = self._views_now()
            record = self._records.get(kid)
            if record is None:
                raise ValueError(f"no key {kid[:64]!r} in the {self.environment!r} store")
            if record.revoked:
                return []
            changes = self._changes.revoke(views, record, now)
            self.reload()
        return changes

    def __repr__(self) -> str:
        return (
            f"KeyRing({self._store!r}, uses={sorted(self._algorithms)}, "
            f"rotation_period={self._period:g}, publish_ahead={self._ahead:g})"
        )
