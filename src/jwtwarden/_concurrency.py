"""``SingleFlight``: one operation in flight, shared by every caller, threads and tasks alike.

Two components need "if a fetch is already running, wait for it instead of starting another":
``RemoteJWKS`` (one JWK Set fetch per flight, so a burst of unknown ``kid`` values cannot
hammer the issuer) and ``RefreshingAuth`` (one refresh per flight, since a rotated refresh
token is single-use and a second use is treated as theft). Both are used from threads and from
event loops, so the flight is a ``concurrent.futures.Future``: a thread waits on it with a
timeout, a task awaits it through ``asyncio.wrap_future`` without blocking its loop.

The protocol, for one caller:

1. ``claim(start_if=...)``: join the flight in flight (``owner=False``), or, if none runs and
   ``start_if()`` agrees (it runs under the lock, so a cooldown or "already done" test and the
   start are one step), start one (``owner=True``); ``None`` when no flight runs and
   ``start_if`` said no.
2. The owner does the work and **always** calls ``finish`` (in a ``finally``): a waiter must
   never hang on a flight whose owner failed or was cancelled.
3. Everyone reads the shared result with ``Claim.wait`` or ``Claim.wait_async``; both raise
   ``TimeoutError`` after ``timeout`` seconds. A cancelled waiter never cancels the flight
   (``asyncio.shield``), so the others still get their result.

The component passes its own lock in when its state and the flight must change together
(``start_if`` reads that state), so there is one lock, never two to order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Claim", "SingleFlight"]

T = TypeVar("T")


def _always() -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Claim(Generic[T]):
    """A caller's share of one flight: the shared future, and whether this caller runs it."""

    future: concurrent.futures.Future[T]
    owner: bool

    def wait(self, timeout: float) -> T:
        """Block this thread until the flight lands. Raises ``TimeoutError``."""
        return self.future.result(timeout=timeout)

    async def wait_async(self, timeout: float) -> T:
        """Await the flight without blocking the loop. Raises ``TimeoutError``."""
        # shield(): a cancelled waiter must not cancel the future the others wait on.
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self.future)), timeout)


class SingleFlight(Generic[T]):
    """At most one flight at a time; see the module docstring for the protocol.

    ``started`` counts flights begun, ``joined`` the callers that shared one instead.
    """

    __slots__ = ("_current", "_joined", "_lock", "_started")

    def __init__(self, lock: threading.Lock | None = None) -> None:
        self._lock = lock if lock is not None else threading.Lock()
        self._current: concurrent.futures.Future[T] | None = None
        self._started = 0
        self._joined = 0

    @property
    def started(self) -> int:
        return self._started

    @property
    def joined(self) -> int:
        return self._joined

    def claim(self, *, start_if: Callable[[], bool] = _always) -> Claim[T] | None:
        """Join the flight in flight, or start one if ``start_if()`` allows; else ``None``.

        ``start_if`` runs under the lock and only when no flight runs; it may raise, and
        then nothing starts.
        """
        with self._lock:
            current = self._current
            if current is not None:
                self._joined += 1
                return Claim(current, owner=False)
            if not start_if():
                return None
            future: concurrent.futures.Future[T] = concurrent.futures.Future()
            self._current = future
            self._started += 1
            return Claim(future, owner=True)

    def finish(self, claim: Claim[T], result: T) -> None:
        """Land the owner's flight with ``result`` (the next ``claim`` starts a new one)."""
        with self._lock:
            if self._current is claim.future:
                self._current = None
        claim.future.set_result(result)
