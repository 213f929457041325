"""``RelyingParty``: the web application's OpenID Connect client, for any standard provider.

It runs the flows of ``_flows`` (sign-in, callback, refresh, the per-request check) with a
sync driver (``begin_sign_in``, ``finish_sign_in``, ``authenticate``...) or an async one
(``abegin_sign_in``...), and owns what they share: the discovered provider, the HTTP clients,
the cookie sealer, the CSRF keys and the refresh coordination.

**One refresh per session** (``_refreshes.py``): a rotated refresh token is single-use, so
every request of one session that finds the access token due joins one refresh in flight, and
for a minute after it lands a request still carrying the *old* cookie (a second tab that sent
its request just before the first tab's response arrived) is handed the refreshed session
instead of spending the old token again. Within one process: several processes behind a
balancer need sticky sessions or a shared store.

Every request to the provider goes to the address the SSRF guard checked
(``Target.pinned_url``), without redirects, cookies or proxy settings from the environment,
on a client of its own (they are rare: a sign-in, a refresh per access-token lifetime), so no
connection outlives it and nothing carries over between requests.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import (
    JWKSFetchError,
    JWTWardenError,
    ProviderUnavailableError,
    WebSessionError,
)
from ..jwks._fetch import ACCEPT_JSON, FetchSettings, afetch, fetch
from ..jwks.discovery import MAX_DISCOVERY_BYTES, discovery_url
from ..jwks.guard import SSRFGuard, Target
from ._flows import (
    Discover,
    Flow,
    Post,
    SignInResult,
    SignInStart,
    Verify,
    begin_sign_in,
    current_session,
    finish_sign_in,
    refresh_session,
)
from ._refreshes import Outcome, Refreshes
from .csrf import CSRFProtection
from .provider import Provider, parse_metadata
from .sealing import CookieSealer
from .session import WebSession
from .settings import WebAppSettings

__all__ = ["SESSION_COOKIE", "RelyingParty"]

log = logging.getLogger("jwtwarden.webapp")

SESSION_COOKIE = "__Host-jwtwarden-session"


class RelyingParty:
    """The SDK's engine; the framework adapters (``webapp.starlette``, ``webapp.flask``) are
    thin edges over it.

    Parameters:
        settings: the ``WebAppSettings``.
        clock: "now" for sessions, sealing and token checks.
        guard: the SSRF guard for every request to the provider (default: a new one with
            ``settings.allow_loopback_http``).

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
    ) -> None:
        if not isinstance(settings, WebAppSettings):
            raise TypeError("settings must be a WebAppSettings")
        self.settings = settings
        self.clock = clock
        self.guard = guard or SSRFGuard(allow_loopback_http=settings.allow_loopback_http)
        self.sealer = CookieSealer(settings.session_secrets, clock=clock)
        self.csrf = CSRFProtection(self.sealer.secrets, settings.origin)
        self._provider: Provider | None = None
        self._lock = threading.Lock()
        self._refreshes = Refreshes()
        self.refresh_count = 0

    # --- sessions in cookies ------------------------------------------------------------------

    def open_session(self, cookie_value: str | None) -> WebSession | None:
        """The session sealed in the session cookie's value, or ``None``."""
        payload = self.sealer.open(SESSION_COOKIE, cookie_value)
        return None if payload is None else WebSession.from_payload(payload)

    def seal_session(self, session: WebSession) -> tuple[str, int]:
        """The session cookie's value and ``Max-Age`` (what is left of the session's life).

        Raises:
            SessionTooLargeError: the session does not fit a cookie.
        """
        left = max(1, int(session.created_at + self.settings.session_lifetime - self.clock.now()))
        return self.sealer.seal(SESSION_COOKIE, session.to_payload(), max_age=left), left

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
        result: WebSession = self._run(current_session(session, self.settings, self.clock.now()))
        return result

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
            return self._post(effect)
        if isinstance(effect, Verify):
            try:
                return effect.verifier.verify(effect.token)
            except JWKSFetchError as exc:
                raise ProviderUnavailableError(f"the provider's keys: {exc.detail}") from None
        return self._refresh(effect.session)

    def _discover(self) -> Provider:
        provider = self._provider
        if provider is not None:
            return provider
        try:
            url = discovery_url(self.settings.issuer)
            fetched = fetch(url, self._fetch_settings(), accept=ACCEPT_JSON)
        except JWKSFetchError as exc:
            raise ProviderUnavailableError(f"the provider's discovery: {exc.detail}") from None
        return self._keep(fetched.body)

    def _post(self, effect: Post) -> httpx.Response:
        try:
            target = self.guard.check(effect.url)
        except JWKSFetchError as exc:
            raise ProviderUnavailableError(f"the provider's endpoint: {exc.detail}") from None
        try:
            with httpx.Client(**self._client_options()) as client:
                response = client.send(self._request(target, effect))
                response.read()
                return response
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(
                f"the provider did not answer ({type(exc).__name__})"
            ) from None

    def _refresh(self, session: WebSession) -> WebSession:
        return self._refreshes.refresh(
            session, lambda: self._refresh_once(session), self.settings.timeout * 4
        )

    def _refresh_once(self, session: WebSession) -> Outcome:
        self.refresh_count += 1
        try:
            refreshed: WebSession = self._run(
                refresh_session(session, self.settings, self.clock.now())
            )
            return refreshed
        except WebSessionError as exc:
            return exc
        except JWTWardenError as exc:
            return ProviderUnavailableError(f"the refresh failed: {exc.detail}")

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
        result: WebSession = await self._arun(
            current_session(session, self.settings, self.clock.now())
        )
        return result

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
            return await self._apost(effect)
        if isinstance(effect, Verify):
            try:
                return await effect.verifier.verify_async(effect.token)
            except JWKSFetchError as exc:
                raise ProviderUnavailableError(f"the provider's keys: {exc.detail}") from None
        return await self._arefresh(effect.session)

    async def _adiscover(self) -> Provider:
        provider = self._provider
        if provider is not None:
            return provider
        try:
            fetched = await afetch(
                discovery_url(self.settings.issuer), self._fetch_settings(), accept=ACCEPT_JSON
            )
        except JWKSFetchError as exc:
            raise ProviderUnavailableError(f"the provider's discovery: {exc.detail}") from None
        return self._keep(fetched.body)

    async def _apost(self, effect: Post) -> httpx.Response:
        try:
            target = await self.guard.acheck(effect.url)
        except JWKSFetchError as exc:
            raise ProviderUnavailableError(f"the provider's endpoint: {exc.detail}") from None
        try:
            async with httpx.AsyncClient(**self._client_options()) as client:
                response = await client.send(self._request(target, effect))
                await response.aread()
                return response
        except httpx.HTTPError as exc:
            raise ProviderUnavailableError(
                f"the provider did not answer ({type(exc).__name__})"
            ) from None

    async def _arefresh(self, session: WebSession) -> WebSession:
        return await self._refreshes.arefresh(
            session, lambda: self._arefresh_once(session), self.settings.timeout * 4
        )

    async def _arefresh_once(self, session: WebSession) -> Outcome:
        self.refresh_count += 1
        try:
            refreshed: WebSession = await self._arun(
                refresh_session(session, self.settings, self.clock.now())
            )
            return refreshed
        except WebSessionError as exc:
            return exc
        except JWTWardenError as exc:
            return ProviderUnavailableError(f"the refresh failed: {exc.detail}")

    # --- shared pieces --------------------------------------------------------------------------

    def _revoke_flow(self, session: WebSession) -> Flow:
        provider: Provider = yield Discover()
        endpoint = provider.metadata.revocation_endpoint
        if endpoint is None or session.refresh_token is None:
            return None
        form = {"token": session.refresh_token, "token_type_hint": "refresh_token"}
        yield Post(endpoint, form)  # RFC 7009 2.2: 200 whatever the token was
        return None

    def _fetch_settings(self) -> FetchSettings:
        return FetchSettings(
            guard=self.guard, timeout=self.settings.timeout, max_bytes=MAX_DISCOVERY_BYTES
        )

    def _keep(self, body: bytes) -> Provider:
        metadata = parse_metadata(body, issuer=self.settings.issuer, guard=self.guard)
        provider = Provider(self.settings, metadata, self.guard, clock=self.clock)
        with self._lock:
            if self._provider is None:
                self._provider = provider
            return self._provider

    def _client_options(self) -> dict[str, Any]:
        return {
            "timeout": httpx.Timeout(self.settings.timeout),
            "follow_redirects": False,  # tokens come from the token endpoint, nowhere else
            "trust_env": False,
        }

    def _request(self, target: Target, effect: Post) -> httpx.Request:
        form = dict(effect.form)
        headers = {**target.headers(), "Accept": "application/json", "Cache-Control": "no-store"}
        secret = self.settings.client_secret
        if secret is None:
            form["client_id"] = self.settings.client_id  # a public client (RFC 6749 2.3)
        else:
            # client_secret_basic, RFC 6749 2.3.1: each part form-encoded before Basic.
            pair = f"{quote_plus(self.settings.client_id)}:{quote_plus(secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        return httpx.Request(
            "POST",
            target.pinned_url(target.addresses[0]),
            headers=headers,
            data=form,
            extensions=target.extensions(),
        )

    def __repr__(self) -> str:
        return f"RelyingParty({self.settings!r})"
