"""The relying party's requests to the provider: discovery and the POSTs (token, revocation).

Every request goes to the address the SSRF guard checked (``Target.pinned_url``), without
redirects, cookies or proxy settings from the environment, on a client of its own (they are
rare: a sign-in, a refresh per access-token lifetime), so no connection outlives it and nothing
carries over between requests. Failures are ``ProviderUnavailableError`` (a 503).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote_plus

import httpx

from .._jose.strict_json import JSONRefused, loads_object
from ..errors import JWKSFetchError, ProviderUnavailableError
from ..jwks._fetch import ACCEPT_JSON, FetchSettings, afetch, fetch
from ..jwks.discovery import MAX_DISCOVERY_BYTES, discovery_url
from ..jwks.guard import SSRFGuard, Target
from ._flows import Post, UserInfo
from .settings import WebAppSettings

__all__ = ["MAX_USERINFO_BYTES", "ProviderRequests"]

MAX_USERINFO_BYTES = 64 * 1024


class ProviderRequests:
    """Discovery documents and client-authenticated POSTs, sync and async."""

    __slots__ = ("guard", "settings")

    def __init__(self, settings: WebAppSettings, guard: SSRFGuard) -> None:
        self.settings = settings
        self.guard = guard

    def discovery(self) -> bytes:
        """The discovery document's body (sync)."""
        try:
            url = discovery_url(self.settings.issuer)
            return fetch(url, self._fetch_settings(), accept=ACCEPT_JSON).body
        except JWKSFetchError as exc:
            raise ProviderUnavailableError(f"the provider's discovery: {exc.detail}") from None

    async def adiscovery(self) -> bytes:
        """The async twin of ``discovery``."""
        try:
            url = discovery_url(self.settings.issuer)
            return (await afetch(url, self._fetch_settings(), accept=ACCEPT_JSON)).body
        except JWKSFetchError as exc:
            raise ProviderUnavailableError(f"the provider's discovery: {exc.detail}") from None

    def post(self, effect: Post) -> httpx.Response:
        """POST ``effect.form`` to ``effect.url``, client-authenticated (sync)."""
        try:
            target = self.guard.check(effect.url)
        except JWKSFetchError as exc:
            raise ProviderUnavailableError(f"the provider's endpoint: {exc.detail}") from None
        with _answer_of("the provider"), httpx.Client(**self._client_options()) as client:
            response = client.send(self._request(target, effect))
            response.read()
            return response

    async def apost(self, effect: Post) -> httpx.Response:
        """The async twin of ``post``."""
        try:
            target = await self.guard.acheck(effect.url)
        except JWKSFetchError as exc:
            raise ProviderUnavailableError(f"the provider's endpoint: {exc.detail}") from None
        with _answer_of("the provider"):
            async with httpx.AsyncClient(**self._client_options()) as client:
                response = await client.send(self._request(target, effect))
                await response.aread()
                return response

    def userinfo(self, effect: UserInfo) -> dict[str, Any]:
        """The userinfo endpoint's JSON object for the access token (Core 5.3, sync)."""
        try:
            target = self.guard.check(effect.url)
        except JWKSFetchError as exc:
            raise ProviderUnavailableError(f"the provider's userinfo: {exc.detail}") from None
        with (
            _answer_of("the provider's userinfo"),
            httpx.Client(**self._client_options()) as client,
            client.stream(**self._userinfo_request(target, effect)) as response,
        ):
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_USERINFO_BYTES:
                    break
            return _userinfo(response.status_code, body)

    async def auserinfo(self, effect: UserInfo) -> dict[str, Any]:
        """The async twin of ``userinfo``."""
        try:
            target = await self.guard.acheck(effect.url)
        except JWKSFetchError as exc:
            raise ProviderUnavailableError(f"the provider's userinfo: {exc.detail}") from None
        with _answer_of("the provider's userinfo"):
            async with (
                httpx.AsyncClient(**self._client_options()) as client,
                client.stream(**self._userinfo_request(target, effect)) as response,
            ):
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_USERINFO_BYTES:
                        break
                return _userinfo(response.status_code, body)

    @staticmethod
    def _userinfo_request(target: Target, effect: UserInfo) -> dict[str, Any]:
        headers = {
            **target.headers(),
            "Accept": "application/json",
            "Accept-Encoding": "identity",  # no compressed body past the size cap
            "Authorization": f"Bearer {effect.access_token}",  # RFC 6750 2.1
        }
        return {
            "method": "GET",
            "url": target.pinned_url(target.addresses[0]),
            "headers": headers,
            "extensions": target.extensions(),
        }

    def _fetch_settings(self) -> FetchSettings:
        return FetchSettings(
            guard=self.guard, timeout=self.settings.timeout, max_bytes=MAX_DISCOVERY_BYTES
        )

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


@contextmanager
def _answer_of(who: str) -> Iterator[None]:
    """httpx's errors as ``ProviderUnavailableError`` naming the error's class only (the
    shape of httpx's ``map_exceptions``: the layer that uses httpx translates its errors)."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise ProviderUnavailableError(f"{who} did not answer ({type(exc).__name__})") from None


def _userinfo(status: int, body: bytes) -> dict[str, Any]:
    if status != 200:
        raise ProviderUnavailableError(f"the provider's userinfo answered HTTP {status}")
    if len(body) > MAX_USERINFO_BYTES:
        raise ProviderUnavailableError("the provider's userinfo answer is too large")
    try:
        # A signed or encrypted userinfo (application/jwt, Core 5.3.2) is not JSON: refused.
        return loads_object(body, "the userinfo response")
    except JSONRefused as exc:
        raise ProviderUnavailableError(str(exc)) from None
