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
from collections import OrderedDict
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
    """Counters in this process (the embedded default), at most ``max_buckets`` of them.

    Every bucket is created from unauthenticated input (an email, an address), so both the
    memory and the cost of an attempt must stay the same whatever an attacker sends: one
    ``OrderedDict`` in least-recently-counted order, a few O(1) operations per attempt.

    - A bucket of a past window is reset in place when it is counted again, and every attempt
      drops up to two buckets of past windows from the cold end (so the table drains as
      traffic goes on), never a scan of the table.
    - When the table is full the least recently counted bucket is evicted. A bucket that is
      being hammered (every attempt counts, refused or not) is the most recent one, so a flood
      of fresh buckets evicts idle ones first; to reset a live counter a flood must bring
      ``max_buckets`` fresh buckets between two of its attempts, which the per-address limit
      (checked first, see ``LoginLimiter``) makes cost that many addresses.

    ``operations`` counts the table's structural work (buckets created, reset, expired,
    evicted) for tests and metrics: it grows by a bounded amount per attempt.
    """

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK, max_buckets: int = 100_000) -> None:
        if type(max_buckets) is not int or max_buckets < 1:
            raise ValueError("max_buckets must be a positive integer")
        self.clock = clock
        self.max_buckets = max_buckets
        # (bucket, window) -> [window index, count]; oldest counted first.
        self._counts: OrderedDict[tuple[str, int], list[int]] = OrderedDict()
        self._lock = threading.Lock()
        self.operations = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._counts)

    async def hit(self, bucket: str, *, limit: int, window: int) -> int | None:
        now = self.clock.now()
        index = int(now // window)
        key = (bucket, window)
        with self._lock:
            self._expire_cold_end(now)
            counts = self._counts
            entry = counts.get(key)
            if entry is None:
                if len(counts) >= self.max_buckets:
                    counts.popitem(last=False)
                    self.evictions += 1
                    self.operations += 1
                entry = counts[key] = [index, 0]
                self.operations += 1
            else:
                counts.move_to_end(key)
                if entry[0] != index:
                    entry[0], entry[1] = index, 0
                    self.operations += 1
            entry[1] += 1
            count = entry[1]
        if count <= limit:
            return None
        return max(1, math.ceil((index + 1) * window - now))

    def _expire_cold_end(self, now: float) -> None:
        """Drop at most two buckets of past windows from the cold end (lock held)."""
        counts = self._counts
        for _ in range(2):
            if not counts:
                return
            (_, window), (index, _) = next(iter(counts.items()))
            if index >= int(now // window):
                return
            counts.popitem(last=False)
            self.operations += 1


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
        # The address first: a request its address already used up is refused before any
        # per-account state exists, so one client cannot fill the table with fresh emails.
        address_wait = await self.limiter.hit(
            f"{scope}:addr:{address_bucket(address)}", limit=self.per_address, window=self.window
        )
        if address_wait is not None:
            raise RateLimitedError("too many attempts for this address", retry_after=address_wait)
        digest = hashlib.sha256(account.encode("utf-8", "replace")).hexdigest()[:32]
        account_wait = await self.limiter.hit(
            f"{scope}:acct:{digest}", limit=self.per_account, window=self.window
        )
        if account_wait is not None:
            raise RateLimitedError("too many attempts for this account", retry_after=account_wait)
