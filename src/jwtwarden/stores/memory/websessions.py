"""``MemoryWebSessionStore`` and ``SyncMemoryWebSessionStore``: the in-process reference of the
web-app SDK's session store ports (``jwtwarden.webapp.store``). One process only: a revocation
is seen by this process alone; share sessions between processes with the Redis adapter."""

from __future__ import annotations

import threading

from ...clock import SYSTEM_CLOCK, Clock

__all__ = ["MemoryWebSessionStore", "SyncMemoryWebSessionStore"]


class SyncMemoryWebSessionStore:
    """Values by key until their time, in this process (the ``SyncWebSessionStore`` port).

    Thread-safe; expired records are swept as new ones arrive. ``replace`` (a refresh) writes
    only over a live record, under the lock.

    Example:
        >>> store = SyncMemoryWebSessionStore()
        >>> store.save("k", "sealed", until=4102444800)
        >>> store.load("k")
        'sealed'
        >>> store.delete("k")
        >>> store.replace("k", "refreshed", until=4102444800)
        False
    """

    __slots__ = ("_clock", "_lock", "_next_sweep", "_records")

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._clock = clock
        self._records: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = 1024

    def load(self, key: str) -> str | None:
        record = self._records.get(key)
        if record is None or self._clock.now() >= record[1]:
            return None
        return record[0]

    def save(self, key: str, value: str, *, until: float) -> None:
        now = self._clock.now()
        with self._lock:
            if until <= now:
                self._records.pop(key, None)
                return
            self._records[key] = (value, until)
            if len(self._records) >= self._next_sweep:
                self._records = {k: r for k, r in self._records.items() if r[1] > now}
                self._next_sweep = max(1024, 2 * len(self._records))

    def replace(self, key: str, value: str, *, until: float) -> bool:
        now = self._clock.now()
        with self._lock:  # the check and the write as one step: a delete cannot fall between
            record = self._records.get(key)
            if record is None or now >= record[1] or until <= now:
                self._records.pop(key, None)
                return False
            self._records[key] = (value, until)
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._records.pop(key, None)

    def __len__(self) -> int:
        now = self._clock.now()
        with self._lock:
            return sum(1 for _, until in self._records.values() if until > now)

    def __repr__(self) -> str:
        return f"SyncMemoryWebSessionStore(records={len(self._records)})"


class MemoryWebSessionStore:
    """The same records behind the awaited ``WebSessionStore`` port (Starlette, FastAPI).

    ``sync`` is the underlying sync store (tests read and write it directly).
    """

    __slots__ = ("sync",)

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.sync = SyncMemoryWebSessionStore(clock=clock)

    async def load(self, key: str) -> str | None:
        return self.sync.load(key)

    async def save(self, key: str, value: str, *, until: float) -> None:
        self.sync.save(key, value, until=until)

    async def replace(self, key: str, value: str, *, until: float) -> bool:
        return self.sync.replace(key, value, until=until)

    async def delete(self, key: str) -> None:
        self.sync.delete(key)

    def __len__(self) -> int:
        return len(self.sync)

    def __repr__(self) -> str:
        return f"MemoryWebSessionStore(records={len(self.sync)})"
