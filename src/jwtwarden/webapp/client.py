"""``RelyingParty``: the web application's OpenID Connect client, for any standard provider.

It runs the flows of ``_flows`` (sign-in, callback, refresh, the per-request check) with a
sync driver (``begin_sign_in``, ``finish_sign_in``, ``authenticate``...) or an async one
(``abegin_sign_in``...), and owns what they share: the discovered provider, the HTTP clients,
the cookie sealer, the CSRF keys, where sessions are kept (``jar.SessionJar``: in the cookie,
or in a server-side store) and the refresh coordination (one refresh
per session however many requests find it due, ``_refreshes.Refreshes``). The requests to
the provider are ``_http.ProviderRequests``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import (
    InvalidTokenError,
    JWKSFetchError,
    JWTWardenError,
    ProviderUnavailableError,
    WebSessionError,
)
from ..jwks.guard import SSRFGuard
from ._flows import (
    Discover,
    Flow,
    Post,
    SignInResult,
    SignInStart,
    UserInfo,
    Verify,
    begin_sign_in,
    current_session,
    finish_sign_in,
    no_longer_valid,
    refresh_session,
)
from ._http import ProviderRequests
from ._refreshes import Outcome, Refreshes
from .csrf import CSRFProtection
from .jar import SESSION_COOKIE, SessionJar
from .provider import Provider, parse_metadata
from .sealing import CookieSealer
from .session import WebSession
from .settings import WebAppSettings
from .store import SyncWebSessionStore, WebSessionStore

__all__ = ["SESSION_COOKIE", "RelyingParty"]

log = logging.getLogger("jwtwarden.webapp")


def _keys_unavailable(exc: JWKSFetchError) -> ProviderUnavailableError:
    return ProviderUnavailableError(f"the provider's keys: {exc.detail}")


def _failed_refresh(exc: JWTWardenError) -> Outcome:
    """A refresh's error as the outcome its waiters share: a session error as it is, any
    other (a fetch, a token refused) as the provider being unavailable."""
    if isinstance(exc, WebSessionError):
        return exc
    return ProviderUnavailableError(f"the refresh failed: {exc.detail}")


class RelyingParty:
    """The SDK's engine; the framework adapters (``webapp.starlette``, ``webapp.flask``) are
    thin edges over it.

    Parameters:
        settings: the ``WebAppSettings``.
        clock: "now" for sessions, sealing and token checks.
        guard: the SSRF guard for every request to the provider (default: a new one with
            ``settings.allow_loopback_http``).
        store: keep sessions server-side (``webapp.store``: a ``WebSessionStore`` for
            Starlette and FastAPI, a ``SyncWebSessionStore`` for Flask); the cookie then
            carries only a sealed session id. Default: the whole session in the cookie.

    Example:
        >>> rp = RelyingParty(WebAppSettings(issuer="https://id.example.com",  # doctest: +SKIP
        ...     client_id="app", client_secret=secret, base_url="https://app.example.com",
        ...     session_secrets=[session_secret]))
        >>> start = await rp.abegin_sign_in("/me")  # doctest: +SKIP
    """

    def __init__(
        self,
        settings: WebAppSettings,
        *,
        clock: Clock = SYSTEM_CLOCK,
        guard: SSRFGuard | None = None,
        store: WebSessionStore | SyncWebSessionStore | None = None,
    ) -> None:
        if not isinstance(settings, WebAppSettings):
            raise TypeError("settings must be a WebAppSettings")
        self.settings = settings
        self.clock = clock
        self.guard = guard or SSRFGuard(allow_loopback_http=settings.allow_loopback_http)
        self.sealer = CookieSealer(settings.session_secrets, clock=clock)
        self.csrf = CSRFProtection(self.sealer.secrets, settings.origin)
        self.jar = SessionJar(
            self.sealer, lifetime=settings.session_lifetime, clock=clock, store=store
        )
        self._provider: Provider | None = None
        self._lock = threading.Lock()
        self._refreshes = Refreshes()
        self._http = ProviderRequests(settings, self.guard)
        self.refresh_count = 0

    # --- where sessions are kept (jar.SessionJar) ---------------------------------------------

    def open_session(self, cookie_value: str | None) -> WebSession | None:
        """The session the session cookie's value stands for, or ``None`` (sync).

        Raises:
            StoreUnavailableError: the server-side store cannot answer.
        """
        return self.jar.open(cookie_value)

    async def aopen_session(self, cookie_value: str | None) -> WebSession | None:
        """The async twin of ``open_session``."""
        return await self.jar.aopen(cookie_value)

    def seal_session(self, session: WebSession) -> tuple[str, int]:
        """The session cookie's value and ``Max-Age`` (what is left of the session's life);
        with a store, the session is saved there first (sync).

        Raises:
            SessionTooLargeError: the session does not fit a cookie (or the store's limit).
            StoreUnavailableError: the server-side store cannot answer.
        """
        return self.jar.save(session)

    async def aseal_session(self, session: WebSession) -> tuple[str, int]:
        """The async twin of ``seal_session``."""
        return await self.jar.asave(session)

    def seal_refreshed(self, session: WebSession) -> tuple[str, int] | None:
        """As ``seal_session``, for a session this process has just refreshed: with a store,
        its record is only replaced, never created; ``None`` when the record is gone (the
        session was signed out during the refresh: treat the request as signed out) (sync).

        Raises:
            SessionTooLargeError: the session does not fit a cookie (or the store's limit).
            StoreUnavailableError: the server-side store cannot answer.
        """
        return self.jar.save_refreshed(session)

    async def aseal_refreshed(self, session: WebSession) -> tuple[str, int] | None:
        """The async twin of ``seal_refreshed``."""
        return await self.jar.asave_refreshed(session)

    def delete_session(self, sid: str) -> None:
        """End session ``sid`` server-side: its next request finds no session, in every
        process (a server-side store only; a cookie session lives until it expires).

        Raises:
            TypeError: sessions are kept in cookies (there is nothing to delete).
            StoreUnavailableError: the store cannot answer.
        """
        if self.jar.store is None:
            raise TypeError("sessions in cookies cannot be deleted server-side: use a store")
        self.jar.delete(sid)

    async def adelete_session(self, sid: str) -> None:
        """The async twin of ``delete_session``."""
        if self.jar.store is None:
            raise TypeError("sessions in cookies cannot be deleted server-side: use a store")
        await self.jar.adelete(sid)

    def end_session_url(self, session: WebSession | None) -> str:
        """Where sign-out sends the browser: the provider's ``end_session_endpoint``
        (OpenID Connect RP-Initiated Logout 1.0) when it has one, else the application."""
        after = self.settings.base_url + self.settings.after_logout_path
        provider = self._provider
        endpoint = provider.metadata.end_session_endpoint if provider else None
        if endpoint is None:
            return after
        params = {"client_id": self.settings.client_id, "post_logout_redirect_uri": after}
        if session is not None and session.id_token is not None:
            params["id_token_hint"] = session.id_token  # RP-Initiated Logout 1.0 section 2
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)

    # --- the sync driver ------------------------------------------------------------------------

    def begin_sign_in(self, return_to: str | None = None) -> SignInStart:
        """Start a sign-in: the authorization URL and the sign-in cookie (sync)."""
        result: SignInStart = self._run(begin_sign_in(self.settings, self.sealer, return_to))
        return result

    def finish_sign_in(
        self, params: Mapping[str, str], cookie: Callable[[str], str | None]
    ) -> SignInResult:
        """Complete a sign-in from the callback's query parameters (sync).

        Raises:
            SignInError: the response is not this browser's, or is refused.
            ProviderUnavailableError: the provider cannot be reached or used.
        """
        flow = finish_sign_in(self.settings, self.sealer, params, cookie, self.clock.now())
        result: SignInResult = self._run(flow)
        return result

    def authenticate(self, session: WebSession) -> WebSession:
        """The session, refreshed if due and its access token checked (sync).

        Raises:
            SessionEndedError: the provider refused the refresh; sign in again.
            ProviderUnavailableError: the provider is down (keep the session; answer 503).
        """
        provider = self._live(session)
        if provider is None:
            result: WebSession = self._run(
                current_session(session, self.settings, self.clock.now())
            )
            return result
        if provider.access_verifier is not None:
            try:
                provider.access_verifier.verify(session.access_token)
            except InvalidTokenError as exc:
                raise no_longer_valid(exc) from None
            except JWKSFetchError as exc:
                raise _keys_unavailable(exc) from None
        return session

    def _live(self, session: WebSession) -> Provider | None:
        """The provider when the session needs no refresh and the provider is known: then
        ``authenticate`` checks the access token directly, as ``current_session`` would."""
        provider = self._provider
        if provider is None or session.due(self.clock.now(), self.settings.refresh_margin):
            return None
        return provider

    def revoke(self, session: WebSession) -> None:
        """Revoke the session's refresh token at the provider (RFC 7009), best effort."""
        try:
            self._run(self._revoke_flow(session))
        except JWTWardenError as exc:
            log.info("revoking a refresh token failed: %s", exc.code)

    def _run(self, flow: Flow) -> Any:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = self._effect(effect)
            except JWTWardenError as exc:
                error = exc

    def _effect(self, effect: Any) -> Any:
        if isinstance(effect, Discover):
            return self._discover()
        if isinstance(effect, Post):
            return self._http.post(effect)
        if isinstance(effect, UserInfo):
            return self._http.userinfo(effect)
        if isinstance(effect, Verify):
            try:
                return effect.verifier.verify(effect.token)
            except JWKSFetchError as exc:
                raise _keys_unavailable(exc) from None
        return self._refresh(effect.session)

    def _discover(self) -> Provider:
        provider = self._provider
        return provider if provider is not None else self._keep(self._http.discovery())

    def _refresh(self, session: WebSession) -> WebSession:
        return self._refreshes.refresh(
            session, lambda: self._refresh_once(session), self.settings.timeout * 4
        )

    def _refresh_once(self, session: WebSession) -> Outcome:
        try:
            refreshed: WebSession = self._run(self._refresh_flow(session))
            return refreshed
        except JWTWardenError as exc:
            return _failed_refresh(exc)

    # --- the async driver -----------------------------------------------------------------------

    async def abegin_sign_in(self, return_to: str | None = None) -> SignInStart:
        """The async twin of ``begin_sign_in``."""
        result: SignInStart = await self._arun(begin_sign_in(self.settings, self.sealer, return_to))
        return result

    async def afinish_sign_in(
        self, params: Mapping[str, str], cookie: Callable[[str], str | None]
    ) -> SignInResult:
        """The async twin of ``finish_sign_in``."""
        flow = finish_sign_in(self.settings, self.sealer, params, cookie, self.clock.now())
        result: SignInResult = await self._arun(flow)
        return result

    async def aauthenticate(self, session: WebSession) -> WebSession:
        """The async twin of ``authenticate``."""
        provider = self._live(session)
        if provider is None:
            result: WebSession = await self._arun(
                current_session(session, self.settings, self.clock.now())
            )
            return result
        if provider.access_verifier is not None:
            try:
                await provider.access_verifier.verify_async(session.access_token)
            except InvalidTokenError as exc:
                raise no_longer_valid(exc) from None
            except JWKSFetchError as exc:
                raise _keys_unavailable(exc) from None
        return session

    async def arevoke(self, session: WebSession) -> None:
        """The async twin of ``revoke``."""
        try:
            await self._arun(self._revoke_flow(session))
        except JWTWardenError as exc:
            log.info("revoking a refresh token failed: %s", exc.code)

    async def _arun(self, flow: Flow) -> Any:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            value, error = None, None
            try:
                value = await self._aeffect(effect)
            except JWTWardenError as exc:
                error = exc

    async def _aeffect(self, effect: Any) -> Any:
        if isinstance(effect, Discover):
            return await self._adiscover()
        if isinstance(effect, Post):
            return await self._http.apost(effect)
        if isinstance(effect, UserInfo):
            return await self._http.auserinfo(effect)
        if isinstance(effect, Verify):
            try:
                return await effect.verifier.verify_async(effect.token)
            except JWKSFetchError as exc:
                raise _keys_unavailable(exc) from None
        return await self._arefresh(effect.session)

    async def _adiscover(self) -> Provider:
        provider = self._provider
        return provider if provider is not None else self._keep(await self._http.adiscovery())

    async def _arefresh(self, session: WebSession) -> WebSession:
        return await self._refreshes.arefresh(
            session, lambda: self._arefresh_once(session), self.settings.timeout * 4
        )

    async def _arefresh_once(self, session: WebSession) -> Outcome:
        try:
            refreshed: WebSession = await self._arun(self._refresh_flow(session))
            return refreshed
        except JWTWardenError as exc:
            return _failed_refresh(exc)

    # --- shared pieces --------------------------------------------------------------------------

    def _refresh_flow(self, session: WebSession) -> Flow:
        """The one refresh this process runs for ``session`` now (counted)."""
        self.refresh_count += 1
        return refresh_session(session, self.settings, self.clock.now())

    def _revoke_flow(self, session: WebSession) -> Flow:
        provider: Provider = yield Discover()
        endpoint = provider.metadata.revocation_endpoint
        if endpoint is None or session.refresh_token is None:
            return None
        form = {"token": session.refresh_token, "token_type_hint": "refresh_token"}
        yield Post(endpoint, form)  # RFC 7009 2.2: 200 whatever the token was
        return None

    def _keep(self, body: bytes) -> Provider:
        metadata = parse_metadata(body, issuer=self.settings.issuer, guard=self.guard)
        provider = Provider(self.settings, metadata, self.guard, clock=self.clock)
        with self._lock:
            if self._provider is None:
                self._provider = provider
            return self._provider

    def __repr__(self) -> str:
        return f"RelyingParty({self.settings!r})"
