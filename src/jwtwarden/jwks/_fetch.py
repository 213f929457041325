"""One guarded GET: the SSRF guard, a pinned connection, no redirects, a size cap.

Every remote document jwtwarden reads (a JWK Set, a discovery document) comes through here.
A fresh ``httpx`` client per fetch (fetches are rare: at most one per cooldown) means no
cookie, connection or credential ever carries over from one fetch to the next.
"""

from __future__ import annotations

import http.cookiejar
import ssl
import time
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import httpx

from ..errors import FetchRefusedError, JWKSFetchError
from .guard import SSRFGuard, Target

__all__ = ["ACCEPT_JSON", "ACCEPT_JWKS", "FetchSettings", "Fetched", "afetch", "fetch"]

ACCEPT_JWKS = "application/jwk-set+json, application/json;q=0.9"
ACCEPT_JSON = "application/json"
MAX_ADDRESSES_TRIED = 3


class Fetched(NamedTuple):
    body: bytes
    headers: httpx.Headers


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchSettings:
    guard: SSRFGuard
    timeout: float
    max_bytes: int
    transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None
    ssl_context: ssl.SSLContext | None = None


@cache
def _default_ssl_context() -> ssl.SSLContext:
    # Built once: loading the CA bundle per fetch would cost more than the fetch.
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def _no_cookies() -> http.cookiejar.CookieJar:
    # A jar that refuses every cookie: a Set-Cookie from the key server is never sent back.
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def _client_options(settings: FetchSettings) -> dict[str, object]:
    return {
        "timeout": httpx.Timeout(settings.timeout),
        "follow_redirects": False,  # a redirect could point anywhere; the guard saw one URL
        "trust_env": False,  # no proxy, netrc credentials or CA override from the environment
        "cookies": _no_cookies(),
    }


def _request_headers(target: Target, accept: str) -> dict[str, str]:
    return {
        **target.headers(),
        "Accept": accept,
        # Compressed bodies could expand past the size cap in one chunk (a zip bomb).
        "Accept-Encoding": "identity",
        "User-Agent": "jwtwarden",
    }


def _host(target: Target) -> str:
    return repr(target.url.host[:100])


def _check_status(response: httpx.Response, target: Target, settings: FetchSettings) -> None:
    if response.is_redirect or 300 <= response.status_code < 400:
        raise FetchRefusedError(
            f"{_host(target)} answered with a redirect (HTTP {response.status_code}); "
            "redirects are not followed"
        )
    if response.status_code != 200:
        raise JWKSFetchError(f"{_host(target)} answered HTTP {response.status_code}, not 200")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise JWKSFetchError(f"{_host(target)} sent a compressed body ({encoding[:20]})")
    length = response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > settings.max_bytes:
        raise JWKSFetchError(
            f"{_host(target)} sent {int(length)} bytes; the limit is {settings.max_bytes}"
        )


class _Body:
    """Collects a streamed body, stopping at the size cap and at the overall deadline."""

    __slots__ = ("_chunks", "_deadline", "_size", "_target", "settings")

    def __init__(self, target: Target, settings: FetchSettings) -> None:
        self.settings = settings
        self._target = target
        self._chunks: list[bytes] = []
        self._size = 0
        # httpx timeouts bound each read, not the whole body: a server dribbling one byte per
        # second would never trip them. This deadline is operational, not token time, so it
        # reads the monotonic clock rather than the injected wall clock.
        self._deadline = time.monotonic() + settings.timeout * 2

    def add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.settings.max_bytes:
            raise JWKSFetchError(
                f"{_host(self._target)} sent more than {self.settings.max_bytes} bytes"
            )
        if time.monotonic() > self._deadline:
            raise JWKSFetchError(f"{_host(self._target)} was too slow to send the document")
        self._chunks.append(chunk)

    def result(self, headers: httpx.Headers) -> Fetched:
        return Fetched(b"".join(self._chunks), headers)


def _failure(target: Target, exc: BaseException) -> JWKSFetchError:
    return JWKSFetchError(f"fetching from {_host(target)} failed ({type(exc).__name__})")


def fetch(url: str | httpx.URL, settings: FetchSettings, *, accept: str) -> Fetched:
    """GET ``url`` through the guard; return the body (at most ``max_bytes``) and headers.

    Raises:
        FetchRefusedError: the guard refused the URL or an address, or a redirect came back.
        JWKSFetchError: anything else went wrong (network, status, size, deadline).
    """
    target = settings.guard.check(url)
    transport = settings.transport
    owned = transport is None
    if transport is None:
        transport = httpx.HTTPTransport(
            verify=settings.ssl_context or _default_ssl_context(), trust_env=False
        )
    if not isinstance(transport, httpx.BaseTransport):
        raise JWKSFetchError("the injected transport is async-only; use aselect")
    client = httpx.Client(transport=transport, **_client_options(settings))  # type: ignore[arg-type]
    last: BaseException | None = None
    try:
        for address in target.addresses[:MAX_ADDRESSES_TRIED]:
            try:
                with client.stream(
                    "GET",
                    target.pinned_url(address),
                    headers=_request_headers(target, accept),
                    extensions=target.extensions(),
                ) as response:
                    _check_status(response, target, settings)
                    body = _Body(target, settings)
                    for chunk in response.iter_raw():
                        body.add(chunk)
                    return body.result(response.headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last = exc  # try the next *checked* address, never a fresh resolution
            except JWKSFetchError:
                raise
            except Exception as exc:  # fail closed: nothing but a jwtwarden error escapes
                raise _failure(target, exc) from None
    finally:
        if owned:
            client.close()
    raise _failure(target, last or RuntimeError("no address"))


async def afetch(url: str | httpx.URL, settings: FetchSettings, *, accept: str) -> Fetched:
    """The async twin of ``fetch`` (same guard, limits and errors)."""
    target = await settings.guard.acheck(url)
    transport = settings.transport
    owned = transport is None
    if transport is None:
        transport = httpx.AsyncHTTPTransport(
            verify=settings.ssl_context or _default_ssl_context(), trust_env=False
        )
    if not isinstance(transport, httpx.AsyncBaseTransport):
        raise JWKSFetchError("the injected transport is sync-only; use select")
    client = httpx.AsyncClient(transport=transport, **_client_options(settings))  # type: ignore[arg-type]
    last: BaseException | None = None
    try:
        for address in target.addresses[:MAX_ADDRESSES_TRIED]:
            try:
                async with client.stream(
                    "GET",
                    target.pinned_url(address),
                    headers=_request_headers(target, accept),
                    extensions=target.extensions(),
                ) as response:
                    _check_status(response, target, settings)
                    body = _Body(target, settings)
                    async for chunk in response.aiter_raw():
                        body.add(chunk)
                    return body.result(response.headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last = exc
            except JWKSFetchError:
                raise
            except Exception as exc:
                raise _failure(target, exc) from None
    finally:
        if owned:
            await client.aclose()
    raise _failure(target, last or RuntimeError("no address"))
