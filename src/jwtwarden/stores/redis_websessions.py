"""Redis adapters of the web-app SDK's session store ports (``jwtwarden.webapp.store``):
server-side sessions shared by every process of the application, revocable at once.

One key per session (``{prefix}web:{store key}``, the store key being a SHA-256 of the session
id), its value the sealed session, expiring with the session (``SET ... PXAT``): Redis drops
an ended session by itself. A refresh replaces a record with ``SET ... XX PXAT``, one command
that writes only over an existing key: a session signed out meanwhile (its key deleted by
any process) is not brought back. Redis errors become ``StoreUnavailableError`` (the SDK answers
503 and the browser keeps its cookie), never a driver's exception.

    >>> from jwtwarden.stores.redis import redis_client                   # doctest: +SKIP
    >>> store = RedisWebSessionStore(redis_client("redis://127.0.0.1:6379/0"))  # doctest: +SKIP
    >>> rp = RelyingParty(settings, store=store)                          # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any

from redis.exceptions import RedisError

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import StoreUnavailableError

__all__ = ["RedisWebSessionStore", "SyncRedisWebSessionStore"]


def _unavailable(exc: Exception) -> StoreUnavailableError:
    name = type(exc).__name__
    return StoreUnavailableError(
        f"the session store (Redis) cannot answer: {name}", driver_error=name
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            return None  # not a value we sealed: no session
    return str(value)


class RedisWebSessionStore:
    """The ``WebSessionStore`` port on an asyncio Redis client (``redis_client(url)``).

    Parameters:
        client: a ``redis.asyncio.Redis``; closing it is the caller's.
        prefix: the key prefix (``jwtwarden:`` by default; ``web:`` is added).
        clock: "now", to drop a record whose time has already passed.
    """

    def __init__(self, client: Any, *, prefix: str = "jwtwarden:", clock: Clock = SYSTEM_CLOCK):
        self.client = client
        self.prefix = prefix + "web:"
        self.clock = clock

    async def load(self, key: str) -> str | None:
        try:
            value = await self.client.get(self.prefix + key)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from None
        return _text(value)

    async def save(self, key: str, value: str, *, until: float) -> None:
        try:
            if until <= self.clock.now():
                await self.client.delete(self.prefix + key)
            else:
                await self.client.set(self.prefix + key, value, pxat=math.ceil(until * 1000))
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from None

    async def replace(self, key: str, value: str, *, until: float) -> bool:
        try:
            if until <= self.clock.now():
                await self.client.delete(self.prefix + key)
                return False
            # XX: only over an existing (so unexpired) key, in the same command as the write.
            pxat = math.ceil(until * 1000)
            return bool(await self.client.set(self.prefix + key, value, xx=True, pxat=pxat))
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from None

    async def delete(self, key: str) -> None:
        try:
            await self.client.delete(self.prefix + key)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from None

    def __repr__(self) -> str:
        return f"RedisWebSessionStore(prefix={self.prefix!r})"


class SyncRedisWebSessionStore:
    """The ``SyncWebSessionStore`` port on a synchronous ``redis.Redis`` client (Flask)."""

    def __init__(self, client: Any, *, prefix: str = "jwtwarden:", clock: Clock = SYSTEM_CLOCK):
        self.client = client
        self.prefix = prefix + "web:"
        self.clock = clock

    def load(self, key: str) -> str | None:
        try:
            value = self.client.get(self.prefix + key)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from None
        return _text(value)

    def save(self, key: str, value: str, *, until: float) -> None:
        try:
            if until <= self.clock.now():
                self.client.delete(self.prefix + key)
            else:
                self.client.set(self.prefix + key, value, pxat=math.ceil(until * 1000))
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from None

    def replace(self, key: str, value: str, *, until: float) -> bool:
        try:
            if until <= self.clock.now():
                self.client.delete(self.prefix + key)
                return False
            # XX: only over an existing (so unexpired) key, in the same command as the write.
            pxat = math.ceil(until * 1000)
            return bool(self.client.set(self.prefix + key, value, xx=True, pxat=pxat))
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from None

    def delete(self, key: str) -> None:
        try:
            self.client.delete(self.prefix + key)
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from None

    def __repr__(self) -> str:
        return f"SyncRedisWebSessionStore(prefix={self.prefix!r})"
