"""Login rate limiting: fixed windows per account and per client address, with Retry-After.

The ``RateLimiter`` port and the login policy over it. Counters live in Redis when configured
(``jwtwarden.stores.redis.RedisRateLimiter``, shared by every process) and in this process
otherwise (``jwtwarden.stores.memory.MemoryRateLimiter``). Every attempt counts, successful or
not, and an unknown email is counted like a known one (no enumeration through the limiter). Account
buckets are keyed by a hash of the normalised email.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Protocol

from ..errors import RateLimitedError

__all__ = ["LoginLimiter", "RateLimiter", "address_bucket"]


class RateLimiter(Protocol):
    """Fixed-window counters.

    ``hit(bucket, limit=, window=)`` counts one attempt in the current window of ``window``
    seconds and returns ``None`` while the count is at most ``limit``, else the seconds until
    the window ends. A backend failure raises (the edge answers 503).
    """

    async def hit(self, bucket: str, *, limit: int, window: int) -> int | None: ...


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
