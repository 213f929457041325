"""``MemoryRateLimiter``: the in-process adapter of the ``RateLimiter`` port
(``jwtwarden.server.ratelimit``)."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

from ...clock import SYSTEM_CLOCK, Clock

__all__ = ["MemoryRateLimiter"]


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
