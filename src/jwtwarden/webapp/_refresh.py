"""One refresh per session: the flights per refresh token and the outcomes of the last minute.

A rotated refresh token is single-use, and a provider with reuse detection (RFC 6819
5.2.2.3) revokes the whole grant when it sees one twice. So every request of one session that
finds the access token due joins one refresh in flight (``_concurrency.SingleFlight``, keyed by
a digest of the refresh token), across threads and tasks; and for ``RECENT_SECONDS`` after it
lands, a request still carrying the *old* session (a second tab that sent its request just
before the first tab's response arrived) is handed the refreshed session instead of spending
the old token again. Within one process: several processes behind a balancer need sticky
sessions (or the server-side store, where the refreshed session is saved under the same id).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from .._concurrency import SingleFlight
from ..errors import JWTWardenError, ProviderUnavailableError, SessionEndedError, WebSessionError
from .session import WebSession

__all__ = ["RECENT_SECONDS", "Refreshes"]

RECENT_SECONDS = 60.0
_RECENT_MAX = 4096
_Outcome = WebSession | WebSessionError


def _copy(outcome: _Outcome) -> WebSession:
    if isinstance(outcome, WebSessionError):
        raise type(outcome)(outcome.detail)  # one exception object per waiter
    return outcome


def _failed(exc: JWTWardenError) -> _Outcome:
    if isinstance(exc, WebSessionError):
        return exc
    return ProviderUnavailableError(f"the refresh failed: {exc.detail}")


class Refreshes:
    """The refresh flights per refresh token, and the outcomes of the last minute.

    ``count`` is how many refreshes were started (each one a request to the provider).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[str, SingleFlight[_Outcome]] = {}
        self._recent: OrderedDict[str, tuple[float, _Outcome]] = OrderedDict()
        self.count = 0

    @staticmethod
    def key(session: WebSession) -> str:
        return hashlib.sha256((session.refresh_token or session.sid).encode()).hexdigest()

    def recent(self, key: str) -> _Outcome | None:
        with self._lock:
            entry = self._recent.get(key)
        if entry is None or time.monotonic() > entry[0]:
            return None
        return entry[1]

    def _flight(self, key: str) -> SingleFlight[_Outcome]:
        with self._lock:
            flight = self._flights.get(key)
            if flight is None:
                flight = self._flights[key] = SingleFlight()
            return flight

    def _land(self, key: str, outcome: _Outcome) -> None:
        """Drop the flight; remember a new session or an ended one (a provider that failed
        is asked again by the next request)."""
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

    def run(
        self, session: WebSession, refresh: Callable[[], WebSession], timeout: float
    ) -> WebSession:
        """The session refreshed by ``refresh()``, run once for every caller of this session."""
        key = self.key(session)
        recent = self.recent(key)
        if recent is not None:
            return _copy(recent)
        flight = self._flight(key)
        claim = flight.claim(start_if=lambda: self.recent(key) is None)
        if claim is None:
            return _copy(self.recent(key) or ProviderUnavailableError("refresh lost"))
        if claim.owner:
            outcome: _Outcome = ProviderUnavailableError("the refresh did not complete")
            try:
                self.count += 1
                outcome = refresh()
            except JWTWardenError as exc:
                outcome = _failed(exc)
            finally:
                # Always land, even when interrupted: the waiters must not hang on it.
                self._land(key, outcome)
                flight.finish(claim, outcome)
            return _copy(outcome)
        try:
            return _copy(claim.wait(timeout))
        except TimeoutError:
            raise ProviderUnavailableError("timed out waiting for the session's refresh") from None

    async def arun(
        self, session: WebSession, refresh: Callable[[], Awaitable[WebSession]], timeout: float
    ) -> WebSession:
        """The async twin of ``run``."""
        key = self.key(session)
        recent = self.recent(key)
        if recent is not None:
            return _copy(recent)
        flight = self._flight(key)
        claim = flight.claim(start_if=lambda: self.recent(key) is None)
        if claim is None:
            return _copy(self.recent(key) or ProviderUnavailableError("refresh lost"))
        if claim.owner:
            outcome: _Outcome = ProviderUnavailableError("the refresh did not complete")
            try:
                self.count += 1
                outcome = await refresh()
            except JWTWardenError as exc:
                outcome = _failed(exc)
            finally:
                # Always land, even when cancelled: the waiters must not hang on it.
                self._land(key, outcome)
                flight.finish(claim, outcome)
            return _copy(outcome)
        try:
            return _copy(await claim.wait_async(timeout))
        except TimeoutError:
            raise ProviderUnavailableError("timed out waiting for the session's refresh") from None
