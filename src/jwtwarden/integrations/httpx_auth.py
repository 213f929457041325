"""``RefreshingAuth``: an ``httpx`` auth that keeps a client's access token fresh.

It attaches ``Authorization: Bearer <access token>``, refreshes shortly before the token
expires or when the API answers 401, through the token endpoint with
``grant_type=refresh_token`` (RFC 6749 section 6), and keeps the rotated refresh token the
server sends back.

One refresh at a time, always: a rotated refresh token is single-use, and a server with reuse
detection (RFC 6819 5.2.2.3, jwtwarden's own server included) treats a second use as theft and
revokes the whole session. So every request that needs a refresh joins the one in flight,
whether it runs in a thread (sync client) or a task (async client): ``_concurrency.SingleFlight``
(the helper ``RemoteJWKS`` uses too), with this object's lock guarding state and flight alike.

The client does **not** verify its own access token: it only reads ``exp`` from it with
``jwtwarden.unsafe.decode_unverified`` to know when to refresh. The API verifies the token;
the client merely holds it (and an opaque token works too, using ``expires_in``).

This module is the auth flow, as httpx's sync and async twins side by side (an async generator
cannot ``yield from`` the sync one); the refresh exchange they share (the request, the
token-response rules, the expiry) is in ``_token_exchange.py``, the single flight in
``_concurrency.py``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx

from .._concurrency import Claim, SingleFlight
from ..clock import SYSTEM_CLOCK, Clock
from ..errors import JWTWardenError, RefreshTokenRejectedError, TokenRefreshError
from ._token_exchange import expiry, read_token_response, refresh_request

__all__ = ["RefreshStats", "RefreshingAuth", "TokenPair"]

log = logging.getLogger("jwtwarden.client")

_Claim = Claim["JWTWardenError | None"]
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshStats:
    """The counters of one ``RefreshingAuth``, read at one moment (``RefreshingAuth.stats``).

    ``refreshes``: refresh requests sent. ``coalesced``: requests that waited for a refresh
    another request had started instead of sending their own.
    """

    refreshes: int
    coalesced: int


class TokenPair:
    """The tokens after a refresh, handed to ``on_tokens`` to persist. Secrets stay out of
    ``repr``."""

    __slots__ = ("access_token", "expires_at", "refresh_token")

    def __init__(self, access_token: str, refresh_token: str, expires_at: float | None) -> None:
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.expires_at = expires_at

    def __repr__(self) -> str:
        return f"TokenPair(access_token=..., refresh_token=..., expires_at={self.expires_at!r})"


class RefreshingAuth(httpx.Auth):
    """Attach and refresh an access token; share one refresh among all concurrent requests.

    Parameters:
        token_url: the token endpoint (``https``; plain ``http`` only to loopback).
        refresh_token: the current refresh token.
        client_id: sent in the form for public clients, or with ``client_secret`` as HTTP
            Basic credentials (RFC 6749 2.3.1) for confidential ones.
        access_token: the current access token, if any (otherwise the first request refreshes).
        refresh_margin: refresh this many seconds before ``exp`` (default 30).
        on_tokens: called with a ``TokenPair`` after each refresh, to persist the new refresh
            token (the old one is spent). If it raises, the request fails but the new tokens
            stay in use.
        scope: an optional narrower ``scope`` to ask for.
        clock: for the expiry check.
        wait_timeout: how long a request waits for a refresh another request started.

    Raises:
        RefreshTokenRejectedError: the server answered ``invalid_grant``; every later refresh
            fails at once, without sending the spent token again. Sign in again.
        TokenRefreshError: the refresh failed otherwise (network, server error, bad response).

    Example:
        >>> auth = RefreshingAuth("https://auth.example.com/oauth/token",  # doctest: +SKIP
        ...                       client_id="cli", refresh_token=rt, on_tokens=save)
        >>> httpx.Client(auth=auth).get("https://api.example.com/items")  # doctest: +SKIP
    """

    requires_request_body = True  # a request retried after a 401 must be sent again

    def __init__(
        self,
        token_url: str,
        *,
        refresh_token: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token: str | None = None,
        refresh_margin: float = 30.0,
        on_tokens: Callable[[TokenPair], Any] | None = None,
        scope: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        wait_timeout: float = 30.0,
    ) -> None:
        url = httpx.URL(token_url)
        if url.scheme != "https" and not (url.scheme == "http" and url.host in _LOOPBACK_HOSTS):
            raise ValueError("token_url must be https (plain http only to loopback)")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise ValueError("refresh_token must be a non-empty string")
        if client_secret is not None and client_id is None:
            raise ValueError("client_secret needs client_id")
        if not 0 <= refresh_margin <= 3600:
            raise ValueError("refresh_margin must be between 0 and 3600 seconds")
        self._token_url = url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._on_tokens = on_tokens
        self._margin = float(refresh_margin)
        self._clock = clock
        self._wait = wait_timeout
        self._lock = threading.Lock()
        self._access = access_token
        self._refresh = refresh_token
        self._expires_at = expiry(access_token, None, clock.now())
        self._flights: SingleFlight[JWTWardenError | None] = SingleFlight(self._lock)
        self._dead: RefreshTokenRejectedError | None = None

    @property
    def stats(self) -> RefreshStats:
        """The counters, read together (see ``RefreshStats``)."""
        with self._lock:
            return RefreshStats(refreshes=self._flights.started, coalesced=self._flights.joined)

    @property
    def refreshes(self) -> int:
        """How many refresh requests this object has sent (``stats.refreshes``)."""
        return self._flights.started

    @property
    def coalesced(self) -> int:
        """How many requests waited for a refresh another request had started."""
        return self._flights.joined

    @property
    def access_token(self) -> str | None:
        return self._access

    # --- the flows ---------------------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.read()
        needed, stale = self._expiring(), self._access
        for attempt in range(2):
            if needed:
                claim = self._claim(stale)
                if claim is not None and claim.owner:
                    try:
                        refresh_request = self._refresh_request()
                        token_response = yield refresh_request
                        token_response.read()
                        self._apply(token_response, refresh_request)
                    except BaseException as exc:  # GeneratorExit too: waiters must not hang
                        self._finish(claim, exc)
                        raise
                    self._finish(claim, None)
                    self._notify()
                elif claim is not None:
                    self._join_sync(claim)
            stale = self._authorize(request)
            response = yield request
            if response.status_code != 401 or attempt == 1:
                return
            needed = True  # 401: refresh (or pick up a refresh made meanwhile), retry once

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # The same steps as sync_auth_flow (an async generator cannot "yield from" one).
        await request.aread()
        needed, stale = self._expiring(), self._access
        for attempt in range(2):
            if needed:
                claim = self._claim(stale)
                if claim is not None and claim.owner:
                    try:
                        refresh_request = self._refresh_request()
                        token_response = yield refresh_request
                        await token_response.aread()
                        self._apply(token_response, refresh_request)
                    except BaseException as exc:
                        self._finish(claim, exc)
                        raise
                    self._finish(claim, None)
                    self._notify()
                elif claim is not None:
                    await self._await(claim)
            stale = self._authorize(request)
            response = yield request
            if response.status_code != 401 or attempt == 1:
                return
            needed = True

    # --- shared steps ------------------------------------------------------------------------

    def _expiring(self) -> bool:
        if self._access is None:
            return True
        expires_at = self._expires_at
        return expires_at is not None and self._clock.now() >= expires_at - self._margin

    def _authorize(self, request: httpx.Request) -> str | None:
        token = self._access
        if token is not None:
            request.headers["Authorization"] = f"Bearer {token}"
        return token

    def _claim(self, stale: str | None) -> _Claim | None:
        """Join the refresh in flight, start one, or (``None``) see it is already done."""
        self._raise_if_dead()  # at once, even while the flight that killed it lands

        def still_needed() -> bool:  # under the lock, with no refresh in flight
            self._raise_if_dead()  # never send a spent refresh token again
            # False: another request refreshed since this one looked.
            return self._access is None or self._access == stale or self._expiring()

        return self._flights.claim(start_if=still_needed)

    def _raise_if_dead(self) -> None:
        dead = self._dead
        if dead is not None:
            raise RefreshTokenRejectedError(dead.detail)

    def _finish(self, claim: _Claim, exc: BaseException | None) -> None:
        error: JWTWardenError | None = None
        if isinstance(exc, JWTWardenError):
            error = exc
        elif exc is not None:
            error = TokenRefreshError(f"the refresh did not complete ({type(exc).__name__})")
        self._flights.finish(claim, error)

    def _wait_result(self, error: JWTWardenError | None) -> None:
        if error is not None:
            raise type(error)(error.detail)  # one object per waiter

    def _join_sync(self, claim: _Claim) -> None:
        try:
            error = claim.wait(self._wait)
        except TimeoutError:
            raise TokenRefreshError("timed out waiting for the token refresh") from None
        self._wait_result(error)

    async def _await(self, claim: _Claim) -> None:
        try:
            error = await claim.wait_async(self._wait)
        except TimeoutError:
            raise TokenRefreshError("timed out waiting for the token refresh") from None
        self._wait_result(error)

    def _refresh_request(self) -> httpx.Request:
        return refresh_request(
            self._token_url,
            self._refresh,
            client_id=self._client_id,
            client_secret=self._client_secret,
            scope=self._scope,
        )

    def _apply(self, response: httpx.Response, sent: httpx.Request) -> None:
        try:
            tokens = read_token_response(response, sent, self._clock.now())
        except RefreshTokenRejectedError as dead:
            with self._lock:
                self._dead = dead
                self._access = None
            raise
        with self._lock:
            self._access = tokens.access_token
            self._expires_at = tokens.expires_at
            # RFC 6749 6: the server MAY issue a new refresh token; if not, keep the old one.
            if tokens.refresh_token is not None:
                self._refresh = tokens.refresh_token

    def _notify(self) -> None:
        if self._on_tokens is None or self._access is None:
            return
        pair = TokenPair(self._access, self._refresh, self._expires_at)
        try:
            self._on_tokens(pair)
        except Exception:
            log.exception("on_tokens failed: the new refresh token was not persisted")
            raise

    def __repr__(self) -> str:
        return f"RefreshingAuth({str(self._token_url)!r}, refreshes={self._flights.started})"
