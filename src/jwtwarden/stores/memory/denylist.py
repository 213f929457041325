"""``MemoryDenylist``: the in-process adapter of the ``Denylist`` and ``SyncDenylist`` ports
(``jwtwarden.revocation.denylist``)."""

from __future__ import annotations

import threading

from ...clock import SYSTEM_CLOCK, Clock

__all__ = ["MemoryDenylist"]


class MemoryDenylist:
    """An in-process denylist (one process only: the embedded default, tests).

    Thread-safe; expired entries are swept as new ones arrive.

    Example:
        >>> deny = MemoryDenylist()
        >>> deny.add_token("abc", until=4102444800)
        >>> deny.contains(jti="abc", sid=None)
        True
    """

    __slots__ = ("_clock", "_entries", "_lock", "_next_sweep")

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._clock = clock
        self._entries: dict[str, float] = {}
        self._lock = threading.Lock()
        self._next_sweep = 1024

    def _add(self, key: str, until: float) -> None:
        now = self._clock.now()
        if until <= now:
            return
        with self._lock:
            if until > self._entries.get(key, 0.0):
                self._entries[key] = until
            if len(self._entries) >= self._next_sweep:
                self._entries = {k: t for k, t in self._entries.items() if t > now}
                self._next_sweep = max(1024, 2 * len(self._entries))

    def add_token(self, jti: str, *, until: float) -> None:
        """Synchronous ``deny_token``."""
        self._add("j:" + jti, until)

    def add_session(self, sid: str, *, until: float) -> None:
        """Synchronous ``deny_session``."""
        self._add("s:" + sid, until)

    def contains(self, *, jti: str | None, sid: str | None) -> bool:
        now = self._clock.now()
        entries = self._entries
        if jti is not None and entries.get("j:" + jti, 0.0) > now:
            return True
        return sid is not None and entries.get("s:" + sid, 0.0) > now

    async def deny_token(self, jti: str, *, until: float) -> None:
        self.add_token(jti, until=until)

    async def deny_session(self, sid: str, *, until: float) -> None:
        self.add_session(sid, until=until)

    async def is_denied(self, *, jti: str | None, sid: str | None) -> bool:
        return self.contains(jti=jti, sid=sid)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"MemoryDenylist(entries={len(self._entries)})"
