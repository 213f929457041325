"""One guarded GET: the SSRF guard, a pinned connection, no redirects, a size cap, a deadline.

Every remote document jwtwarden reads (a JWK Set, a discovery document) comes through here.
A fresh ``httpx`` client per fetch (fetches are rare: at most one per cooldown) means no
cookie, connection or credential ever carries over from one fetch to the next.

Time: ``httpx`` timeouts bound each socket operation, not the whole exchange, so a server
dripping one header byte per second (slowloris) would hold a fetch, and every caller waiting
on it, for hours. Each fetch therefore has one overall deadline, ``FETCH_BUDGET`` times the
timeout, covering connect, TLS handshake, headers and body for every address tried: the
async path runs under ``asyncio.timeout``; the sync path connects through a network backend
that clamps every socket operation to the time left. (Name resolution happens before, with
the system resolver's own timeouts.)
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

import httpcore
import httpx

from ..errors import FetchRefusedError, JWKSFetchError
from .guard import SSRFGuard, Target

__all__ = ["ACCEPT_JSON", "ACCEPT_JWKS", "FetchSettings", "Fetched", "afetch", "fetch"]

ACCEPT_JWKS = "application/jwk-set+json, application/json;q=0.9"
ACCEPT_JSON = "application/json"
MAX_ADDRESSES_TRIED = 3
FETCH_BUDGET = 2  # a whole fetch, every address and byte included, ends within 2 x timeout


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
        raise JWKSFetchError(
            f"{_host(target)} answered HTTP {response.status_code}, not 200",
            status=response.status_code,
        )
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

    def __init__(self, target: Target, settings: FetchSettings, deadline: float) -> None:
        self.settings = settings
        self._target = target
        self._chunks: list[bytes] = []
        self._size = 0
        # The fetch's overall deadline (module docstring), checked here too so an injected
        # transport is bounded as well. Operational time, not token time: the monotonic
        # clock, not the injected wall clock.
        self._deadline = deadline

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


def _too_slow(target: Target, settings: FetchSettings) -> JWKSFetchError:
    budget = settings.timeout * FETCH_BUDGET
    return JWKSFetchError(f"{_host(target)} did not answer within the {budget:g} s fetch deadline")


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every operation also ends by the fetch's overall deadline."""

    __slots__ = ("_deadline", "_stream")

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the fetch's overall deadline has passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # CPython bounds the whole handshake by the socket timeout, so a dripped handshake
        # ends by the deadline too.
        left = self._left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """``httpcore``'s socket backend, with every stream bounded by one deadline."""

    def __init__(self, deadline: float) -> None:
        self._inner = httpcore.SyncBackend()
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the fetch's overall deadline has passed")
        stream = self._inner.connect_tcp(
            host,
            port,
            left if timeout is None else min(timeout, left),
            local_address,
            socket_options,
        )
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, min(seconds, self._deadline - time.monotonic())))


def _deadline_transport(ssl_context: ssl.SSLContext, deadline: float) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(verify=ssl_context, trust_env=False)
    # httpx has no option for httpcore's network backend, so the pool it built (idle, holding
    # no connection) is replaced by one whose sockets honour the deadline. The slow-server
    # tests in tests/security/test_resource_ssrf.py fail if a new httpx stops using it.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context, network_backend=_DeadlineBackend(deadline)
    )
    return transport


def fetch(url: str | httpx.URL, settings: FetchSettings, *, accept: str) -> Fetched:
    """GET ``url`` through the guard; return the body (at most ``max_bytes``) and headers.

    Raises:
        FetchRefusedError: the guard refused the URL or an address, or a redirect came back.
        JWKSFetchError: anything else went wrong (network, status, size, deadline).
    """
    target = settings.guard.check(url)
    deadline = time.monotonic() + settings.timeout * FETCH_BUDGET
    transport = settings.transport
    owned = transport is None
    if transport is None:
        transport = _deadline_transport(settings.ssl_context or _default_ssl_context(), deadline)
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
                    body = _Body(target, settings, deadline)
                    for chunk in response.iter_raw():
                        body.add(chunk)
                    return body.result(response.headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                last = exc  # try the next *checked* address, never a fresh resolution
                if time.monotonic() >= deadline:
                    raise _too_slow(target, settings) from None
            except JWKSFetchError:
                raise
            except httpx.TimeoutException as exc:
                if time.monotonic() >= deadline:
                    raise _too_slow(target, settings) from None
                raise _failure(target, exc) from None
            except Exception as exc:  # fail closed: nothing but a jwtwarden error escapes
                raise _failure(target, exc) from None
    finally:
        if owned:
            client.close()
    raise _failure(target, last or RuntimeError("no address"))


async def afetch(url: str | httpx.URL, settings: FetchSettings, *, accept: str) -> Fetched:
    """The async twin of ``fetch`` (same guard, limits and errors)."""
    target = await settings.guard.acheck(url)
    deadline = time.monotonic() + settings.timeout * FETCH_BUDGET
    transport = settings.transport
    owned = transport is None
    if transport is None:
        transport = httpx.AsyncHTTPTransport(
            verify=settings.ssl_context or _default_ssl_context(), trust_env=False
        )
    if not isinstance(transport, httpx.AsyncBaseTransport):
        raise JWKSFetchError("the injected transport is sync-only; use select")
    client = httpx.AsyncClient(transport=transport, **_client_options(settings))  # type: ignore[arg-type]
    try:
        # The overall deadline (module docstring): cancels the exchange wherever it is.
        async with asyncio.timeout(deadline - time.monotonic()):
            return await _afetch_addresses(client, target, settings, accept, deadline)
    except TimeoutError:
        raise _too_slow(target, settings) from None
    finally:
        if owned:
            await client.aclose()


async def _afetch_addresses(
    client: httpx.AsyncClient, target: Target, settings: FetchSettings, accept: str, deadline: float
) -> Fetched:
    last: BaseException | None = None
    for address in target.addresses[:MAX_ADDRESSES_TRIED]:
        try:
            async with client.stream(
                "GET",
                target.pinned_url(address),
                headers=_request_headers(target, accept),
                extensions=target.extensions(),
            ) as response:
                _check_status(response, target, settings)
                body = _Body(target, settings, deadline)
                async for chunk in response.aiter_raw():
                    body.add(chunk)
                return body.result(response.headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            last = exc
        except JWKSFetchError:
            raise
        except Exception as exc:
            raise _failure(target, exc) from None
    raise _failure(target, last or RuntimeError("no address"))
