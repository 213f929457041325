"""Redis adapters: the access-token denylist and fixed-window rate-limit counters.

One connection pool per process serves both (``redis_client(url)``). Keys (with a configurable
prefix, ``jwtwarden:`` by default)::

    {prefix}deny:j:{jti}            "1", expiring at the token's exp + leeway (PXAT)
    {prefix}deny:s:{sid}            "1", expiring when the session's last access token would
    {prefix}rl:{bucket}:{window}    INCR counter, EXPIRE at the end of its window

Redis errors become ``RevocationUnavailableError`` (denylist) or ``StoreUnavailableError``
(rate limits), which the edge answers with 503: a denylist that cannot answer never passes a
token silently.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import RevocationUnavailableError, StoreUnavailableError
from ._redis_exists import ReaderError, reader_for

__all__ = [
    "RedisDenylist",
    "RedisRateLimiter",
    "SyncRedisDenylist",
    "redis_client",
]

_TIMEOUT = 0.5  # seconds; a denylist check that takes longer is failing, not slow
_HEALTH_CHECK_INTERVAL = 2.0  # seconds idle before a pooled connection is PINGed
_SEEDED = "seeded"  # the marker key: the denylist was seeded from the database
_SEED_BATCH = 500


def redis_client(
    url: str,
    *,
    timeout: float = _TIMEOUT,
    max_connections: int = 64,
    health_check_interval: float = _HEALTH_CHECK_INTERVAL,
) -> Any:
    """An asyncio Redis client with one connection pool and short timeouts.

    It recovers from a Redis restart by itself: a pooled connection idle for longer than
    ``health_check_interval`` seconds is checked with ``PING`` before use, and a command that
    finds its connection dead (``ConnectionError``: reset, closed) is sent once more on a new
    one, at once. Every command jwtwarden sends may be repeated: ``SET NX`` + ``PEXPIREAT
    GT`` is idempotent, and a repeated ``INCR`` only counts one attempt twice (the stricter
    side). A timeout is not retried: a stalled Redis stays an error (503) within ``timeout``.
    """
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        max_connections=max_connections,
        retry_on_timeout=False,
        retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        # Named twice on purpose: redis-py before 6 resends a command (and a pipeline) only when
        # its error is also in ``retry_on_error``, whatever the Retry supports; without it the
        # first command after a Redis restart failed (a 503 at login: tests/reliability).
        retry_on_error=[RedisConnectionError],
        health_check_interval=health_check_interval,
    )


def _until_ms(until: float) -> int:
    return math.ceil(until * 1000)


class RedisDenylist:
    """The ``Denylist`` port on Redis (``SET ... NX PXAT`` + ``PEXPIREAT ... GT``).

    ``fast_reads=True`` answers ``is_denied`` through a lean pipelined reader instead of
    redis-py (same answers, same fail-closed errors; plain TCP or Unix-socket clients only):
    call ``aclose()`` when done with it.

    Example:
        >>> denylist = RedisDenylist(redis_client("redis://127.0.0.1:6379/0"))  # doctest: +SKIP
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "jwtwarden:",
        clock: Clock = SYSTEM_CLOCK,
        fast_reads: bool = False,
    ):
        self.client = client
        self.prefix = prefix + "deny:"
        self.clock = clock
        # fast_reads: lookups (every verified request) go through a pipelined reader on one
        # connection of its own when the client allows it (redis-py costs several times the
        # round trip in CPU); that connection is closed by ``aclose()``. The server uses it.
        timeout = float(client.connection_pool.connection_kwargs.get("socket_timeout") or _TIMEOUT)
        self._reader = reader_for(client, timeout=timeout) if fast_reads else None

    async def _add(self, key: str, until: float) -> None:
        if until <= self.clock.now():
            return
        at = _until_ms(until)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(key, b"1", nx=True, pxat=at)
                pipe.pexpireat(key, at, gt=True)  # denying twice keeps the later expiry
                await pipe.execute()
        except (RedisError, OSError) as exc:
            raise RevocationUnavailableError(
                f"the denylist (Redis) could not record a revocation ({type(exc).__name__})"
            ) from None

    async def deny_token(self, jti: str, *, until: float) -> None:
        await self._add(self.prefix + "j:" + jti, until)

    async def deny_session(self, sid: str, *, until: float) -> None:
        await self._add(self.prefix + "s:" + sid, until)

    async def is_denied(self, *, jti: str | None, sid: str | None) -> bool:
        keys = _keys(self.prefix, jti, sid)
        if not keys:
            return False
        return bool(await self._count(keys))

    async def is_denied_if_seeded(self, *, jti: str | None, sid: str | None) -> bool | None:
        """``is_denied`` in the same round trip, or ``None`` when the seeded marker is gone:
        Redis restarted empty, was flushed or evicted it, so its answer cannot be trusted.

        ``EXISTS`` counts a key named three times three times: with the marker thrice
        before the (at most two) denylist keys, a count of three or more says the marker is
        there, and anything above three that the token is denied.
        """
        keys = [self.marker] * 3 + _keys(self.prefix, jti, sid)
        count = await self._count(keys)
        if count < 3:
            return None
        return count > 3

    @property
    def marker(self) -> str:
        return self.prefix + _SEEDED

    async def is_seeded(self) -> bool:
        """Whether the seeded marker is there (``False``: seed before trusting Redis)."""
        return await self._count([self.marker]) == 1

    async def seed(self, entries: Iterable[tuple[str, str, float]]) -> None:
        """Write ``(kind, value, until)`` entries (``kind`` ``j`` or ``s``), then the marker.

        The marker has no expiry (a ``volatile-*`` eviction policy never takes it) and is
        written last, so a crash half way leaves it missing and the next caller seeds again.
        """
        now_ms = _until_ms(self.clock.now())
        try:
            batch = []
            for kind, value, until in entries:
                if _until_ms(until) > now_ms:
                    batch.append((f"{self.prefix}{kind}:{value}", _until_ms(until)))
                if len(batch) >= _SEED_BATCH:
                    await self._write(batch)
                    batch = []
            await self._write(batch)
            await self.client.set(self.marker, b"1")
        except (RedisError, OSError) as exc:
            raise RevocationUnavailableError(
                f"the denylist (Redis) could not be seeded ({type(exc).__name__})"
            ) from None

    async def _write(self, batch: list[tuple[str, int]]) -> None:
        if not batch:
            return
        async with self.client.pipeline(transaction=False) as pipe:
            for key, at in batch:
                pipe.set(key, b"1", nx=True, pxat=at)
                pipe.pexpireat(key, at, gt=True)
            await pipe.execute()

    async def _count(self, keys: list[str]) -> int:
        try:
            if self._reader is not None:
                return await self._reader.exists(keys)
            return int(await self.client.exists(*keys))
        except ReaderError as exc:
            raise RevocationUnavailableError(
                f"the denylist (Redis) could not answer: {exc}"
            ) from None
        except (RedisError, OSError) as exc:
            raise RevocationUnavailableError(
                f"the denylist (Redis) could not answer ({type(exc).__name__})"
            ) from None

    async def aclose(self) -> None:
        """Close the lookup connection (the redis-py client is the caller's to close)."""
        if self._reader is not None:
            await self._reader.aclose()

    def __repr__(self) -> str:
        return f"RedisDenylist(prefix={self.prefix!r})"


class SyncRedisDenylist:
    """The read side (``SyncDenylist``) with a synchronous client, for Flask and the like."""

    def __init__(self, client: redis.Redis, *, prefix: str = "jwtwarden:") -> None:
        self.client = client
        self.prefix = prefix + "deny:"

    def contains(self, *, jti: str | None, sid: str | None) -> bool:
        keys = _keys(self.prefix, jti, sid)
        if not keys:
            return False
        try:
            return bool(self.client.exists(*keys))
        except (RedisError, OSError) as exc:
            raise RevocationUnavailableError(
                f"the denylist (Redis) could not answer ({type(exc).__name__})"
            ) from None


def _keys(prefix: str, jti: str | None, sid: str | None) -> list[str]:
    keys = []
    if jti is not None:
        keys.append(prefix + "j:" + jti)
    if sid is not None:
        keys.append(prefix + "s:" + sid)
    return keys


class RedisRateLimiter:
    """Fixed-window counters shared by every process (``INCR`` + ``EXPIRE NX``).

    Each bucket is one key per window, created from unauthenticated input: the two commands
    run in one ``MULTI``/``EXEC``, so no key is ever left without its expiry (a counter that
    never expires would lock its account out for good and grow Redis without bound). ``NX``
    keeps the first expiry, so a busy bucket still ends with its window.
    """

    def __init__(self, client: Any, *, prefix: str = "jwtwarden:", clock: Clock = SYSTEM_CLOCK):
        self.client = client
        self.prefix = prefix + "rl:"
        self.clock = clock

    async def hit(self, bucket: str, *, limit: int, window: int) -> int | None:
        """Count one attempt; ``None`` if within ``limit``, else seconds until the window ends."""
        now = self.clock.now()
        index = int(now // window)
        key = f"{self.prefix}{bucket}:{index}"
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, window + 1, nx=True)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            name = type(exc).__name__
            raise StoreUnavailableError(
                f"the rate-limit store cannot answer: {name}", driver_error=name
            ) from None
        if int(count) <= limit:
            return None
        return max(1, math.ceil((index + 1) * window - now))
