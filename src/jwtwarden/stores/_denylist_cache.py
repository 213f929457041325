"""``CachedDenylist``: the SQL denylist is the record of every revocation, Redis a cache of it.

Redis without persistence forgets every denial when it restarts, and a write that cannot
reach it (Redis down or stalled) is lost; the database is where the session's revocation is
recorded anyway. So:

- a denial (logout, RFC 7009 revocation, refresh-token reuse, password change, disabled
  account) is written to ``jw_denylist`` first, and only then to Redis; if Redis cannot take
  it, it is kept in memory and retried in the background until Redis does (and this process
  answers "denied" for it meanwhile);
- a lookup asks Redis, with the seeded marker in the same ``EXISTS`` (``RedisDenylist.
  is_denied_if_seeded``). A missing marker means Redis lost its data: the live rows of
  ``jw_denylist`` are written back (single flight per process), then the marker, and the
  lookup is answered from the database. No token the database knows is denied is accepted
  once Redis answers again;
- the server's chores check the marker every round too, so resource servers reading Redis
  directly get the entries back without waiting for a lookup here.

A database that cannot record a denial raises (the request answers 503 and is retried by
the client); a Redis that cannot answer a lookup raises ``RevocationUnavailableError``
(fail closed) as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import RevocationUnavailableError
from .redis import RedisDenylist
from .sql.denylist import SQLDenylist

__all__ = ["CachedDenylist"]

_log = logging.getLogger("jwtwarden.server")
_RETRY_FIRST, _RETRY_MAX = 0.2, 5.0  # seconds between tries to bring pending denials to Redis


class CachedDenylist:
    """The ``Denylist`` port over a durable ``SQLDenylist`` with a ``RedisDenylist`` cache."""

    def __init__(
        self, record: SQLDenylist, cache: RedisDenylist, *, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.record = record
        self.cache = cache
        self.clock = clock
        self._pending: dict[tuple[str, str], float] = {}
        self._retrier: asyncio.Task[None] | None = None
        self._seeding: asyncio.Lock | None = None
        self._seeding_loop: asyncio.AbstractEventLoop | None = None

    # --- the port ---------------------------------------------------------------------------

    async def deny_token(self, jti: str, *, until: float) -> None:
        await self.record.deny_token(jti, until=until)
        await self._cache("j", jti, until)

    async def deny_session(self, sid: str, *, until: float) -> None:
        await self.record.deny_session(sid, until=until)
        await self._cache("s", sid, until)

    async def is_denied(self, *, jti: str | None, sid: str | None) -> bool:
        if jti is None and sid is None:
            return False
        if self._pending and self._pending_denies(jti, sid):
            return True
        answer = await self.cache.is_denied_if_seeded(jti=jti, sid=sid)
        if answer is not None:
            return answer
        await self.reseed()
        return await self.record.is_denied(jti=jti, sid=sid)

    # --- keeping Redis in step --------------------------------------------------------------

    @property
    def pending(self) -> int:
        """How many denials have not reached Redis yet."""
        return len(self._pending)

    async def ensure_seeded(self) -> None:
        """Seed Redis if its marker is gone; push pending denials (the chores call this)."""
        if not await self.cache.is_seeded():
            await self.reseed()
        await self.flush()

    async def reseed(self) -> None:
        """Write every live database entry to Redis, then the marker (single flight).

        Raises:
            RevocationUnavailableError: the database or Redis could not take part.
        """
        lock = self._lock()
        if lock.locked():  # another lookup of this process is seeding: wait for it
            async with lock:
                return
        async with lock:
            before = dict(self._pending)  # all already in the database: covered by the read
            try:
                entries = [entry async for entry in self.record.live_entries()]
            except Exception as exc:
                raise RevocationUnavailableError(
                    f"the denylist database could not answer ({type(exc).__name__})"
                ) from None
            await self.cache.seed(entries)
            for key, until in before.items():
                if self._pending.get(key) == until:
                    del self._pending[key]
            _log.warning(
                "denylist cache seeded from the database",
                extra={"event": "denylist_seeded", "count": len(entries)},
            )

    async def flush(self) -> None:
        """Bring the pending denials to Redis.

        Raises:
            RevocationUnavailableError: Redis still cannot take them (they stay pending).
        """
        for (kind, value), until in list(self._pending.items()):
            await self._write(kind, value, until)
            if self._pending.get((kind, value)) == until:
                del self._pending[(kind, value)]

    async def purge(self) -> int:
        """Delete expired database entries (Redis expires its own); how many."""
        return await self.record.purge()

    async def aclose(self) -> None:
        if self._retrier is not None:
            self._retrier.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._retrier
        await self.cache.aclose()

    def __repr__(self) -> str:
        return f"CachedDenylist(cache={self.cache!r}, pending={self.pending})"

    # --- helpers ----------------------------------------------------------------------------

    async def _cache(self, kind: str, value: str, until: float) -> None:
        try:
            await self._write(kind, value, until)
        except RevocationUnavailableError:
            # Recorded in the database: the client is answered; Redis gets it on a retry.
            key = (kind, value)
            self._pending[key] = max(until, self._pending.get(key, 0.0))
            _log.error(
                "a denial could not reach Redis; retrying in the background",
                extra={"event": "deny_pending", "pending": len(self._pending)},
            )
            self._start_retrier()

    async def _write(self, kind: str, value: str, until: float) -> None:
        if kind == "j":
            await self.cache.deny_token(value, until=until)
        else:
            await self.cache.deny_session(value, until=until)

    def _pending_denies(self, jti: str | None, sid: str | None) -> bool:
        now = self.clock.now()
        if jti is not None and self._pending.get(("j", jti), 0.0) > now:
            return True
        return sid is not None and self._pending.get(("s", sid), 0.0) > now

    def _start_retrier(self) -> None:
        if self._retrier is None or self._retrier.done():
            self._retrier = asyncio.get_running_loop().create_task(
                self._retry(), name="jwtwarden-denylist-retry"
            )

    async def _retry(self) -> None:
        delay = _RETRY_FIRST
        while self._pending:
            await asyncio.sleep(delay)
            try:
                await self.ensure_seeded()
            except RevocationUnavailableError:
                delay = min(delay * 2, _RETRY_MAX)
        _log.info("pending denials reached Redis", extra={"event": "deny_pending_flushed"})

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._seeding is None or self._seeding_loop is not loop:
            self._seeding, self._seeding_loop = asyncio.Lock(), loop
        return self._seeding
