"""The settings and counters of a ``RemoteJWKS``.

Two frozen value objects (after httpx's ``Timeout`` and ``Limits``): ``CachePolicy`` (how
long a set is trusted, how often the issuer is asked) and ``FetchLimits`` (how long and how
large one fetch may be). Both are validated when built, so a configuration that can never be
safe fails at start-up, not at the first token. Also the ``JWKSStats`` counters and the
checks of the other constructor arguments.

    >>> jwks = RemoteJWKS(  # doctest: +SKIP
    ...     url, cache=CachePolicy(cooldown=60), limits=FetchLimits(timeout=2))
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TypedDict, TypeVar

import httpx

from .._jose.algorithms import ALGORITHMS, unknown_algorithm_message
from ..clock import Clock, check_seconds
from .guard import SSRFGuard

__all__ = [
    "CachePolicy",
    "FetchLimits",
    "FlatOptions",
    "JWKSStats",
    "check_seams",
    "checked_guard",
    "split_flat_options",
]

_T = TypeVar("_T")
_CACHE_FIELDS = ("min_cache", "max_cache", "default_cache", "cooldown", "max_stale")
_LIMIT_FIELDS = ("timeout", "max_bytes")


@dataclass(frozen=True, slots=True, kw_only=True)
class CachePolicy:
    """How long a fetched JWK Set is used, and how often the issuer may be asked.

    Parameters:
        min_cache, max_cache: bounds for the response's ``max-age`` (default 60 s and 1 day).
        default_cache: freshness when the response says nothing (10 minutes).
        cooldown: least time between two fetch attempts of any kind (30 s): a flood of
            random ``kid`` values cannot make the service hammer the issuer.
        max_stale: how long a stale set keeps serving while the issuer is down (1 day).

    Raises:
        TypeError: a value that is not a finite number. ValueError: out of range.
    """

    min_cache: float = 60.0
    max_cache: float = 86400.0
    default_cache: float = 600.0
    cooldown: float = 30.0
    max_stale: float = 86400.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "min_cache", check_seconds("min_cache", self.min_cache, zero_ok=True))
        set_(self, "max_cache", check_seconds("max_cache", self.max_cache))
        if self.min_cache > self.max_cache:
            raise ValueError("min_cache must not exceed max_cache")
        set_(self, "default_cache", check_seconds("default_cache", self.default_cache))
        set_(self, "cooldown", check_seconds("cooldown", self.cooldown, zero_ok=True))
        set_(self, "max_stale", check_seconds("max_stale", self.max_stale, zero_ok=True))


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchLimits:
    """The bounds of one fetch.

    Parameters:
        timeout: seconds per network operation (default 5, at most 60); a whole fetch,
            connect, TLS, headers and body of every address tried, ends within twice that.
        max_bytes: the largest document accepted (512 KiB; 1 KiB to 16 MiB).

    Raises:
        TypeError: a value of the wrong type. ValueError: out of range.
    """

    timeout: float = 5.0
    max_bytes: int = 512 * 1024

    def __post_init__(self) -> None:
        timeout = check_seconds("timeout", self.timeout)
        if timeout > 60:
            raise ValueError("timeout must be at most 60 seconds (a short timeout is the point)")
        object.__setattr__(self, "timeout", timeout)
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int):
            raise TypeError("max_bytes must be an int")
        if not 1024 <= self.max_bytes <= 16 * 1024 * 1024:
            raise ValueError("max_bytes must be between 1 KiB and 16 MiB")


class FlatOptions(TypedDict, total=False):
    """The fields of ``CachePolicy`` and ``FetchLimits`` as plain keywords of ``RemoteJWKS``
    (the convenience form: ``RemoteJWKS(url, cooldown=60)``)."""

    min_cache: float
    max_cache: float
    default_cache: float
    cooldown: float
    max_stale: float
    timeout: float
    max_bytes: int


def split_flat_options(
    cache: CachePolicy | None, limits: FetchLimits | None, flat: FlatOptions
) -> tuple[CachePolicy, FetchLimits]:
    """The two value objects from either form; both forms for one object is a bad call.

    Raises:
        TypeError: an unknown keyword, a value object of the wrong type, or both forms.
    """
    unknown = set(flat) - {*_CACHE_FIELDS, *_LIMIT_FIELDS}
    if unknown:
        raise TypeError(f"RemoteJWKS() got unexpected keyword arguments {sorted(unknown)}")
    return (
        _merged("cache", CachePolicy, cache, _CACHE_FIELDS, flat),
        _merged("limits", FetchLimits, limits, _LIMIT_FIELDS, flat),
    )


def _merged(
    name: str, kind: type[_T], given: _T | None, fields: tuple[str, ...], flat: FlatOptions
) -> _T:
    values = {field: flat[field] for field in fields if field in flat}  # type: ignore[literal-required]
    if given is None:
        return kind(**values)
    if not isinstance(given, kind):
        raise TypeError(f"{name} must be a {kind.__name__}")
    if values:
        raise TypeError(f"pass {sorted(values)} inside {name}={kind.__name__}(...), not beside it")
    return given


def checked_guard(guard: SSRFGuard | None, allow_loopback_http: bool) -> SSRFGuard:
    if guard is None:
        return SSRFGuard(allow_loopback_http=allow_loopback_http)
    if not isinstance(guard, SSRFGuard):
        raise TypeError("guard must be an SSRFGuard")
    if allow_loopback_http and not guard.allow_loopback_http:
        raise ValueError("allow_loopback_http is off on the guard you passed; set it there")
    return guard


def check_seams(clock: Clock, transport: object, algorithm: str | Collection[str] | None) -> None:
    if not isinstance(clock, Clock):
        raise TypeError("clock must have a now() method")
    if transport is not None and not isinstance(
        transport, httpx.BaseTransport | httpx.AsyncBaseTransport
    ):
        raise TypeError("transport must be an httpx transport")
    names = () if algorithm is None else (algorithm,) if isinstance(algorithm, str) else algorithm
    for name in names:
        if name not in ALGORITHMS:
            raise ValueError(unknown_algorithm_message(name))


@dataclass(frozen=True, slots=True, kw_only=True)
class JWKSStats:
    """The counters of one ``RemoteJWKS``, read at one moment (``RemoteJWKS.stats``).

    ``fetches``: attempts started. ``refusals``: attempts the guard refused. ``failures``:
    other failed attempts. ``dropped_keys``: keys skipped at import. ``coalesced``: callers
    that shared a fetch already in flight instead of starting their own.
    """

    fetches: int
    refusals: int
    failures: int
    dropped_keys: int
    coalesced: int
