"""Redis adapters: the access-token denylist and fixed-window rate-limit counters.

One connection pool per process serves both (``redis_client(url)``). Keys (with a configurable
prefix, ``jwtwarden:`` by default)::

    {prefix}deny:j:{jti}            "1", expiring at the token's exp + leeway (PXAT)
    {prefix}deny:s:{sid}            "1", expiring when the session's last access token would
    {prefix}rl:{bucket}:{window}    INCR counter, EXPIRE at the end of its window

Redis errors become ``RevocationUnavailableError`` (denylist) or ``RateLimitUnavailable``,
which the edge answers with 503: a denylist that cannot answer never passes a token silently.
"""

from __future__ import annotations

import math
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import RevocationUnavailableError
from ._redis_exists import ReaderError, reader_for

__all__ = [
    "RateLimitUnavailable",
    "RedisDenylist",
    "RedisRateLimiter",
    "SyncRedisDenylist",
    "redis_client",
]

_TIMEOUT = 0.5  # seconds; a denylist check that takes longer is failing, not slow


class RateLimitUnavailable(Exception):
    """The rate-limit store cannot answer (the edge answers 503)."""


def redis_client(url: str, *, timeout: float = _TIMEOUT, max_connections: int = 64) -> Any:
    """An asyncio Redis client with one connection pool and short timeouts."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        max_connections=max_connections,
        retry_on_timeout=False,
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
        try:
            if self._reader is not None:
                return bool(await self._reader.exists(keys))
            return bool(await self.client.exists(*keys))
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
            raise RateLimitUnavailable(type(exc).__name__) from None
        if int(count) <= limit:
            return None
        return max(1, math.ceil((index + 1) * window - now))
