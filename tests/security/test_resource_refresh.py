"""Attacks on RefreshingAuth: a token endpoint that redirects (the refresh token must never
reach another origin, and tokens from elsewhere must never be used), plain http, threads and
tasks refreshing at once, broken answers, access tokens without ``exp``, and logs. Real HTTP
servers on 127.0.0.1 (distinct ports are distinct origins)."""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from jwtwarden import FixedClock
from jwtwarden._jose.sign import sign_compact
from jwtwarden.errors import TokenRefreshError
from jwtwarden.integrations.httpx_auth import RefreshingAuth

from ..integrations.test_httpx_auth import SIGNER, TokenServer
from ..jwks._servers import wait_until

NOW = 1_800_000_000.0
REFRESH = "rt-very-secret-0123456789"

Reply = tuple[int, dict[str, str], bytes]


class RecordingServer:
    """Answers every request with ``reply(method, path)`` and records (method, path, headers,
    body) of each."""

    def __init__(self, reply: Callable[[str, str], Reply]) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.reply = reply
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append((self.command, self.path, dict(self.headers), body))
                status, headers, payload = outer.reply(self.command, self.path)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(payload))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = _any

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _json(status: int, body: Any, **headers: str) -> Reply:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


EVIL_TOKENS = {"access_token": "evil-at", "token_type": "Bearer", "refresh_token": "evil-rt"}


@pytest.fixture
def evil() -> Iterator[RecordingServer]:
    """Another origin: answers anything with tokens of its own."""
    server = RecordingServer(lambda method, path: _json(200, {**EVIL_TOKENS, "expires_in": 300}))
    yield server
    server.stop()


@pytest.fixture
def api() -> Iterator[RecordingServer]:
    server = RecordingServer(lambda method, path: _json(200, {"ok": True}))
    yield server
    server.stop()


def _redirecting(status: int, location: str) -> RecordingServer:
    return RecordingServer(lambda method, path: (status, {"Location": location}, b""))


def _secrets_seen_by(server: RecordingServer) -> list[str]:
    return [
        repr((headers, body))
        for _, _, headers, body in server.requests
        if REFRESH.encode() in body or REFRESH in str(headers) or "cli-secret" in str(headers)
    ]


# --- redirects from the token endpoint (fixed) --------------------------------------------------


@pytest.mark.parametrize("status", [307, 308])
def test_should_never_send_the_refresh_token_on_to_where_a_redirect_points(
    evil: RecordingServer, api: RecordingServer, status: int
):
    # Without the fix, a client with follow_redirects=True re-sent the POST body, refresh
    # token included, to the other origin, then used the tokens it got back.
    auth_server = _redirecting(status, evil.url + "/steal")
    try:
        auth = RefreshingAuth(auth_server.url + "/token", refresh_token=REFRESH, client_id="cli")
        with (
            httpx.Client(auth=auth, follow_redirects=True) as client,
            pytest.raises(TokenRefreshError, match="redirect"),
        ):
            client.get(api.url + "/items")
    finally:
        auth_server.stop()
    assert _secrets_seen_by(evil) == []
    assert api.requests == []
    assert auth.access_token is None


@pytest.mark.parametrize("status", [307, 308])
async def test_should_never_send_the_refresh_token_on_a_redirect_in_async_code_either(
    evil: RecordingServer, api: RecordingServer, status: int
):
    auth_server = _redirecting(status, evil.url + "/steal")
    try:
        auth = RefreshingAuth(
            auth_server.url + "/token",
            refresh_token=REFRESH,
            client_id="cli",
            client_secret="cli-secret",
        )
        async with httpx.AsyncClient(auth=auth, follow_redirects=True) as client:
            with pytest.raises(TokenRefreshError, match="redirect"):
                await client.get(api.url + "/items")
    finally:
        auth_server.stop()
    assert _secrets_seen_by(evil) == []
    assert api.requests == []


@pytest.mark.parametrize("status", [301, 302, 303])
def test_should_never_use_tokens_from_where_a_redirect_points(
    evil: RecordingServer, api: RecordingServer, status: int
):
    # These turn the POST into a GET without the body, so the token stays home; but whatever
    # answers elsewhere is not the token endpoint. Without the fix its tokens were used.
    auth_server = _redirecting(status, evil.url + "/fixation")
    try:
        auth = RefreshingAuth(auth_server.url + "/token", refresh_token=REFRESH, client_id="cli")
        with (
            httpx.Client(auth=auth, follow_redirects=True) as client,
            pytest.raises(TokenRefreshError, match="redirect"),
        ):
            client.get(api.url + "/items")
    finally:
        auth_server.stop()
    assert _secrets_seen_by(evil) == []
    assert api.requests == []
    assert auth.access_token is None


def test_should_treat_a_redirect_as_a_failed_refresh_when_redirects_are_not_followed(
    evil: RecordingServer, api: RecordingServer
):
    auth_server = _redirecting(307, evil.url + "/steal")
    try:
        auth = RefreshingAuth(auth_server.url + "/token", refresh_token=REFRESH)
        with (
            httpx.Client(auth=auth) as client,
            pytest.raises(TokenRefreshError, match="HTTP 307"),
        ):
            client.get(api.url + "/items")
    finally:
        auth_server.stop()
    assert evil.requests == [] and api.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://auth.example/token",
        "http://10.0.0.1/token",
        "http://127.0.0.1.nip.io/token",
        "http://localhost.evil.example/token",
        "ftp://127.0.0.1/token",
        "file:///token",
    ],
)
def test_should_refuse_a_token_url_that_is_not_https_unless_it_is_loopback(url: str):
    with pytest.raises(ValueError, match="https"):
        RefreshingAuth(url, refresh_token=REFRESH)


@pytest.mark.parametrize(
    "url", ["https://auth.example/token", "http://127.0.0.1:8000/t", "http://[::1]/t"]
)
def test_should_accept_https_and_loopback_http_token_urls(url: str):
    assert "RefreshingAuth(" in repr(RefreshingAuth(url, refresh_token=REFRESH))


# --- threads and tasks at once ------------------------------------------------------------------


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def token_server(clock: FixedClock) -> Iterator[TokenServer]:
    server = TokenServer(clock)
    yield server
    server.stop()


def test_should_refresh_once_for_threads_and_tasks_needing_it_at_the_same_time(
    token_server: TokenServer,
):
    server = token_server
    server.clock.advance(-1000)
    expired = server.access()
    server.clock.advance(1000)
    auth = RefreshingAuth(
        server.url + "/token",
        refresh_token=server.refresh_token,
        client_id="cli",
        access_token=expired,
        clock=server.clock,
    )
    server.gate = threading.Event()
    statuses: list[int] = []
    lock = threading.Lock()

    def release() -> None:
        try:
            wait_until(lambda: auth.coalesced >= 19, "19 requests waiting on the refresh")
        finally:
            assert server.gate is not None
            server.gate.set()

    def in_thread(client: httpx.Client) -> None:
        status = client.get("/api").status_code
        with lock:
            statuses.append(status)

    async def in_tasks() -> list[int]:
        async with httpx.AsyncClient(auth=auth, base_url=server.url) as client:
            responses = await asyncio.gather(*(client.get("/api") for _ in range(10)))
        return [r.status_code for r in responses]

    releaser = threading.Thread(target=release, daemon=True)
    releaser.start()
    with httpx.Client(auth=auth, base_url=server.url) as sync_client:
        threads = [threading.Thread(target=in_thread, args=(sync_client,)) for _ in range(10)]
        for thread in threads:
            thread.start()
        task_statuses = asyncio.run(in_tasks())
        for thread in threads:
            thread.join(30)
    releaser.join(30)
    assert statuses == [200] * 10 and task_statuses == [200] * 10
    assert server.counts["/token"] == 1
    assert server.reuse_detected == 0


# --- broken token endpoints ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        (500, {}, b"Internal Server Error"),
        _json(500, {"error": "server_error"}),
        _json(503, {"error": "temporarily_unavailable"}),
        (200, {"Content-Type": "text/html"}, b"<html>login</html>"),
        (200, {"Content-Type": "application/json"}, b"not json"),
        _json(200, ["access_token"]),
        _json(200, {"access_token": "", "token_type": "Bearer"}),
        _json(200, {"access_token": 7, "token_type": "Bearer"}),
        _json(200, {"access_token": "at", "token_type": "mac"}),
        _json(200, {"access_token": "at"}),
        _json(400, {"error": ["invalid_grant"]}),
        (200, {}, b""),
    ],
)
def test_should_fail_typed_on_a_broken_token_endpoint_and_try_again_next_time(
    api: RecordingServer, reply: Reply
):
    replies = [reply]
    good = _json(200, {"access_token": "at-2", "token_type": "Bearer", "refresh_token": "rt-2"})
    auth_server = RecordingServer(lambda m, p: replies.pop() if replies else good)
    try:
        auth = RefreshingAuth(auth_server.url + "/token", refresh_token=REFRESH)
        with httpx.Client(auth=auth) as client:
            with pytest.raises(TokenRefreshError):
                client.get(api.url + "/items")
            assert api.requests == []  # nothing went out without a token
            assert client.get(api.url + "/items").status_code == 200
    finally:
        auth_server.stop()
    assert [r[2].get("Authorization") for r in api.requests] == ["Bearer at-2"]
    assert auth_server.requests[1][3].count(REFRESH.encode()) == 1  # the same, unspent token


def test_should_use_an_access_token_without_exp_until_the_api_refuses_it(
    api: RecordingServer, clock: FixedClock
):
    no_exp = sign_compact({"typ": "at+jwt"}, {"sub": "u", "iat": int(NOW)}, SIGNER)
    refused = {"count": 0}

    def api_reply(method: str, path: str) -> Reply:
        if path == "/refuse" and refused["count"] == 0:
            refused["count"] += 1
            return _json(401, {"error": "invalid_token"}, **{"WWW-Authenticate": "Bearer"})
        return _json(200, {"ok": True})

    api.reply = api_reply
    issued = _json(200, {"access_token": no_exp, "token_type": "Bearer"})
    auth_server = RecordingServer(lambda m, p: issued)
    try:
        auth = RefreshingAuth(auth_server.url + "/token", refresh_token=REFRESH, clock=clock)
        with httpx.Client(auth=auth) as client:
            for _ in range(3):
                assert client.get(api.url + "/items").status_code == 200
                clock.advance(10_000)  # no exp, no expires_in: time alone never refreshes
            assert len(auth_server.requests) == 1
            assert client.get(api.url + "/refuse").status_code == 200  # 401, refresh, retry
    finally:
        auth_server.stop()
    assert len(auth_server.requests) == 2


# --- secrets stay out of logs and errors --------------------------------------------------------


def test_should_never_log_or_raise_with_the_refresh_token_or_client_secret(
    token_server: TokenServer, api: RecordingServer, caplog: pytest.LogCaptureFixture
):
    token_server.refresh_token = REFRESH
    messages: list[str] = []
    with caplog.at_level(logging.DEBUG):
        auth = RefreshingAuth(
            token_server.url + "/token",
            refresh_token=REFRESH,
            client_id="cli",
            client_secret="cli-secret",
            clock=token_server.clock,
        )
        with httpx.Client(auth=auth) as client:
            assert client.get(token_server.url + "/api").status_code == 200
            token_server.fail_next = 1
            token_server.clock.advance(1000)
            with pytest.raises(TokenRefreshError) as info:
                client.get(token_server.url + "/api")
            messages += [str(info.value), repr(info.value)]
        stale = RefreshingAuth(token_server.url + "/token", refresh_token=REFRESH)
        with httpx.Client(auth=stale) as client, pytest.raises(TokenRefreshError) as info:
            client.get(token_server.url + "/api")  # REFRESH is spent: invalid_grant
        messages += [str(info.value), repr(info.value), repr(auth), repr(stale)]
    everything = caplog.text + "".join(r.getMessage() for r in caplog.records) + "".join(messages)
    assert caplog.records  # httpx and httpcore did log at DEBUG
    assert REFRESH not in everything and "rt-1" not in everything
    assert "cli-secret" not in everything
