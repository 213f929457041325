"""One refresh per session, and the answer of the last minute for a second tab.

A rotated refresh token is single-use, and a provider with reuse detection (RFC 6819 5.2.2.3)
revokes the whole grant when it sees one twice. So every request of one session that finds its
access token due joins one refresh in flight (``_concurrency.SingleFlight``, keyed by a digest
of the refresh token), across threads and tasks; and for ``RECENT_SECONDS`` after it lands, a
request still carrying the *old* cookie is handed the refreshed session (or the ended one)
instead of spending the old token again. ``RelyingParty`` supplies the refresh itself.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from .._concurrency import Claim, SingleFlight
from ..errors import ProviderUnavailableError, SessionEndedError, WebSessionError
from .session import WebSession

__all__ = ["RECENT_SECONDS", "Outcome", "Refreshes"]

RECENT_SECONDS = 60.0
_RECENT_MAX = 4096
Outcome = WebSession | WebSessionError


def _copy(outcome: Outcome) -> WebSession:
    if isinstance(outcome, WebSessionError):
        raise type(outcome)(outcome.detail)  # one exception object per waiter
    return outcome


def _unfinished() -> ProviderUnavailableError:
    return ProviderUnavailableError("the refresh did not complete")


def _timed_out() -> ProviderUnavailableError:
    return ProviderUnavailableError("timed out waiting for the session's refresh")


class Refreshes:
    """The refresh flights per refresh token, and the outcomes of the last minute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, SingleFlight[Outcome]] = {}
        self._recent: OrderedDict[str, tuple[float, Outcome]] = OrderedDict()

    @staticmethod
    def key(session: WebSession) -> str:
        return hashlib.sha256((session.refresh_token or session.sid).encode("utf-8")).hexdigest()

    def refresh(
        self, session: WebSession, run: Callable[[], Outcome], wait_limit: float
    ) -> WebSession:
        """The session refreshed once for every caller: ``run`` by the first, shared."""
        claimed = self._claim(session)
        if not isinstance(claimed, tuple):
            return _copy(claimed)
        key, flight, claim = claimed
        if claim.owner:
            outcome: Outcome = _unfinished()
            try:
                outcome = run()
            finally:
                # Always land, even when interrupted: the waiters must not hang on it.
                self._land(key, flight, claim, outcome)
            return _copy(outcome)
        try:
            return _copy(claim.wait(wait_limit))
        except TimeoutError:
            raise _timed_out() from None

    async def arefresh(
        self, session: WebSession, run: Callable[[], Awaitable[Outcome]], wait_limit: float
    ) -> WebSession:
        """The async twin of ``refresh``."""
        claimed = self._claim(session)
        if not isinstance(claimed, tuple):
            return _copy(claimed)
        key, flight, claim = claimed
        if claim.owner:
            outcome: Outcome = _unfinished()
            try:
                outcome = await run()
            finally:
                # Always land, even when cancelled: the waiters must not hang on it.
                self._land(key, flight, claim, outcome)
            return _copy(outcome)
        try:
            return _copy(await claim.wait_async(wait_limit))
        except TimeoutError:
            raise _timed_out() from None

    def _claim(
        self, session: WebSession
    ) -> Outcome | tuple[str, SingleFlight[Outcome], Claim[Outcome]]:
        """A recent outcome to hand out, or this caller's share of the session's flight (with
        the key ``_land`` needs)."""
        key = self.key(session)
        recent = self._recent_outcome(key)
        if recent is not None:
            return recent
        flight = self._flight(key)
        claim = flight.claim(start_if=lambda: self._recent_outcome(key) is None)
        if claim is None:
            return self._recent_outcome(key) or ProviderUnavailableError("refresh lost")
        return key, flight, claim

    def _recent_outcome(self, key: str) -> Outcome | None:
        with self._lock:
            entry = self._recent.get(key)
        if entry is None or time.monotonic() > entry[0]:
            return None
        return entry[1]

    def _flight(self, key: str) -> SingleFlight[Outcome]:
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = SingleFlight()
            return flight

    def _land(
        self, key: str, flight: SingleFlight[Outcome], claim: Claim[Outcome], outcome: Outcome
    ) -> None:
        """Drop the flight; remember a new session or an ended one (a provider that failed
        is asked again by the next request); then hand ``outcome`` to the waiters."""
        now = time.monotonic()
        with self._lock:
            if isinstance(outcome, WebSession | SessionEndedError):
                self._recent[key] = (now + RECENT_SECONDS, outcome)
                self._recent.move_to_end(key)
            while self._recent and (
                len(self._recent) > _RECENT_MAX or next(iter(self._recent.values()))[0] < now
            ):
                self._recent.popitem(last=False)
            self._flights.pop(key, None)
        flight.finish(claim, outcome)
