"""Login rate limiting: fixed windows per account and per client address, with Retry-After.

Counters live in Redis when configured (``jwtwarden.stores.redis.RedisRateLimiter``, shared
by every process) and in this process otherwise (``MemoryRateLimiter``). Every attempt counts,
successful or not, and an unknown email is counted like a known one (no enumeration through
the limiter). Account buckets are keyed by a hash of the normalised email.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
from typing import Protocol

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import RateLimitedError

__all__ = ["LoginLimiter", "MemoryRateLimiter", "RateLimiter", "address_bucket"]


class RateLimiter(Protocol):
    """Fixed-window counters.

    ``hit(bucket, limit=, window=)`` counts one attempt in the current window of ``window``
    seconds and returns ``None`` while the count is at most ``limit``, else the seconds until
    the window ends. A backend failure raises (the edge answers 503).
    """

    async def hit(self, bucket: str, *, limit: int, window: int) -> int | None: ...


class MemoryRateLimiter:
    """Counters in this process (the embedded default)."""

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    async def hit(self, bucket: str, *, limit: int, window: int) -> int | None:
        now = self.clock.now()
        index = int(now // window)
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= index}
            count = self._counts.get((bucket, index), 0) + 1
            self._counts[(bucket, index)] = count
        if count <= limit:
            return None
        return max(1, math.ceil((index + 1) * window - now))


def address_bucket(address: str) -> str:
    """The rate-limit bucket of a client address: IPv4 as is, IPv6 by its /64.

    One IPv6 subscriber holds a whole /64 (RFC 6177); counting each of its 2**64 addresses
    apart would let one client stuff credentials without ever reaching the limit.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class LoginLimiter:
    """The two login limits together; ``check`` raises ``RateLimitedError``."""

    def __init__(
        self, limiter: RateLimiter, *, per_account: int, per_address: int, window: int
    ) -> None:
        self.limiter = limiter
        self.per_account = per_account
        self.per_address = per_address
        self.window = window

    async def check(self, *, account: str, address: str, scope: str = "login") -> None:
        """Count an attempt for ``account`` from ``address``.

        Raises:
            RateLimitedError: either limit is exceeded (``retry_after`` set).
        """
        digest = hashlib.sha256(account.encode("utf-8", "replace")).hexdigest()[:32]
        waits = [
            await self.limiter.hit(
                f"{scope}:acct:{digest}", limit=self.per_account, window=self.window
            ),
            await self.limiter.hit(
                f"{scope}:addr:{address_bucket(address)}",
                limit=self.per_address,
                window=self.window,
            ),
        ]
        retry = max((w for w in waits if w is not None), default=None)
        if retry is not None:
            which = "account" if waits[0] is not None else "address"
            raise RateLimitedError(f"too many attempts for this {which}", retry_after=retry)
