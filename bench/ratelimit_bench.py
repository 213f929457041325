"""Per-attempt cost of the in-process login rate limiter with 100,000 buckets in the window.

Run against any checkout to compare (the figures in docs/security.md come from this script):

    PYTHONPATH=src python bench/ratelimit_bench.py

Fills one window with 100,000 fresh account buckets (the review's flood of fresh emails), then
times 2,000 more attempts with fresh emails, one at a time, as a server worker would.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from jwtwarden import FixedClock
from jwtwarden.stores.memory import MemoryRateLimiter

FILL = 100_000
ATTEMPTS = 2_000


async def main() -> None:
    clock = FixedClock(1_800_000_000.0)
    limiter = MemoryRateLimiter(clock=clock)
    cold = []
    for i in range(FILL + ATTEMPTS):
        start = time.perf_counter()
        await limiter.hit(f"login:acct:{i:032x}", limit=10, window=60)
        if i < 2_000:
            cold.append(time.perf_counter() - start)
    warm = []
    for i in range(ATTEMPTS):
        start = time.perf_counter()
        await limiter.hit(f"login:acct:fresh{i:027x}", limit=10, window=60)
        warm.append(time.perf_counter() - start)
    size = len(getattr(limiter, "_counts", ()))
    print(f"first 2,000 attempts: median {statistics.median(cold) * 1e6:8.1f} us")
    print(
        f"at {FILL:,}+ buckets: median {statistics.median(warm) * 1e6:8.1f} us, "
        f"max {max(warm) * 1e6:8.1f} us, table size {size:,}"
    )


if __name__ == "__main__":
    asyncio.run(main())
