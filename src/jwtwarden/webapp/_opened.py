"""``OpenedCookies``: the session cookies already opened, so a live session costs a hash and a
dictionary lookup per request instead of base64, AES-GCM, JSON and the shape checks.

A sealed value is immutable: the same string always opens to the same session under the same
secrets, until the expiry sealed inside it. So the cache is keyed by the SHA-256 of the exact
cookie value (collision resistant: no other string, forged or not, finds an entry, and the
cache keeps no copy of the value) and an entry is served only before that expiry, read with
the sealer's clock at every hit: the answer is the one the cold path would give at that moment.
Bounded LRU (``max_entries``), one lock held for a dictionary operation only (Flask threads).
Failures are never cached: a value that does not open is opened cold every time.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from ..clock import Clock
from .session import WebSession, has_containers

__all__ = ["OpenedCookies"]


class OpenedCookies:
    """Opened session cookies by the digest of their value, until their sealed expiry."""

    __slots__ = ("_clock", "_entries", "_lock", "_max_entries")

    def __init__(self, clock: Clock, *, max_entries: int = 10_000) -> None:
        if type(max_entries) is not int or max_entries < 1:
            raise ValueError("max_entries must be a positive integer")
        self._clock = clock
        self._max_entries = max_entries
        # digest -> (session, sealed expiry, whether a claim is a list or an object)
        self._entries: OrderedDict[bytes, tuple[WebSession, float, bool]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(value: str) -> bytes:
        """The cache key of a cookie value."""
        return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()

    def get(self, key: bytes) -> WebSession | None:
        """The session opened from the value of ``key``, if it is still within its expiry."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if self._clock.now() >= entry[1]:
                del self._entries[key]  # the cold path refuses it now: so does the cache
                return None
            self._entries.move_to_end(key)
        return entry[0].copy() if entry[2] else entry[0]

    def put(self, key: bytes, session: WebSession, until: float) -> None:
        """Keep ``session``, opened from the value of ``key``, until ``until`` (epoch s)."""
        with self._lock:
            entries = self._entries
            entries[key] = (session.copy(), until, has_containers(session.claims))
            entries.move_to_end(key)
            while len(entries) > self._max_entries:
                entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"OpenedCookies(entries={len(self._entries)}, max_entries={self._max_entries})"
