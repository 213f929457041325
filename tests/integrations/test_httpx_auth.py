"""RefreshingAuth against a small real token server on 127.0.0.1 with rotation and reuse
detection: a second use of a spent refresh token revokes the whole family, so any client that
ever refreshed twice with the same token would be caught here."""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from jwtwarden import FixedClock, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.errors import RefreshTokenRejectedError, TokenRefreshError
from jwtwarden.integrations.httpx_auth import RefreshingAuth, RefreshStats, TokenPair

from ..jwks._servers import wait_until

NOW = 1_800_000_000.0
SIGNER = generate_key("ES256", kid="ts")


class TokenServer:
    """OAuth token endpoint (refresh grant, rotation, reuse detection) plus a protected API."""

    def __init__(self, clock: FixedClock, *, lifetime: int = 300, opaque: bool = False) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.opaque = opaque
        self.counts: Counter[str] = Counter()
        self.reuse_detected = 0
        self.forms: list[dict[str, str]] = []
        self.auth_headers: list[str | None] = []
        self.fail_next = 0
        self.gate: threading.Event | None = None
        self.refresh_token = "rt-0"
        self.spent: set[str] = set()
        self.live: set[str] = set()
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any], **headers: str) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

            def do_POST(self) -> None:
                outer.counts[self.path] += 1
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if outer.gate is not None:
                    outer.gate.wait(30)
                status, body = outer.token(form, self.headers.get("Authorization"))
                self._send(status, body, **{"Cache-Control": "no-store"})

            def do_GET(self) -> None:
                outer.counts[self.path] += 1
                header = self.headers.get("Authorization", "")
                token = header[7:] if header.startswith("Bearer ") else ""
                if token in outer.live:
                    self._send(200, {"ok": True})
                else:
                    self._send(
                        401,
                        {"error": "invalid_token"},
                        **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
                    )

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # 20 clients connect at once

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def access(self) -> str:
        if self.opaque:
            token = "opaque-" + secrets.token_hex(8)
        else:
            now = int(self.clock.now())
            token = sign_compact(
                {"typ": "at+jwt"},
                {"sub": "u", "iat": now, "exp": now + self.lifetime, "jti": secrets.token_hex(4)},
                SIGNER,
            )
        self.live.add(token)
        return token

    def token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.forms.append(form)
            self.auth_headers.append(authorization)
            if self.fail_next:
                self.fail_next -= 1
                return 500, {"error": "server_error"}
            if form.get("grant_type") != "refresh_token":
                return 400, {"error": "unsupported_grant_type"}
            presented = form.get("refresh_token", "")
            if presented in self.spent:
                # RFC 6819 5.2.2.3: reuse of a rotated token means theft; end the family.
                self.reuse_detected += 1
                self.refresh_token = ""
                self.live.clear()
                return 400, {"error": "invalid_grant"}
            if not presented or presented != self.refresh_token:
                return 400, {"error": "invalid_grant"}
            self.spent.add(presented)
            self.refresh_token = f"rt-{len(self.spent)}"
            body: dict[str, Any] = {
                "access_token": self.access(),
                "token_type": "Bearer",
                "refresh_token": self.refresh_token,
            }
            if self.opaque:
                body["expires_in"] = self.lifetime
            return 200, body

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def server(clock: FixedClock) -> Iterator[TokenServer]:
    srv = TokenServer(clock)
    yield srv
    srv.stop()


def _expired(server: TokenServer) -> str:
    server.clock.advance(-1000)
    token = server.access()
    server.clock.advance(1000)
    return token


def _auth(server: TokenServer, **options: Any) -> RefreshingAuth:
    options.setdefault("refresh_token", server.refresh_token)
    options.setdefault("client_id", "cli")
    return RefreshingAuth(server.url + "/token", clock=server.clock, **options)


def _release_when(auth: RefreshingAuth, server: TokenServer, waiters: int) -> threading.Thread:
    def release() -> None:
        try:
            wait_until(lambda: auth.coalesced >= waiters, f"{waiters} waiting requests")
        finally:
            assert server.gate is not None
            server.gate.set()

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


def test_should_refresh_an_expired_token_once_for_20_concurrent_threads(server: TokenServer):
    saved: list[TokenPair] = []
    auth = _auth(server, access_token=_expired(server), on_tokens=saved.append)
    server.gate = threading.Event()
    release = _release_when(auth, server, 19)
    statuses: list[int] = []
    with httpx.Client(auth=auth, base_url=server.url) as client:

        def call() -> None:
            statuses.append(client.get("/api").status_code)

        threads = [threading.Thread(target=call) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    release.join(30)
    assert statuses == [200] * 20
    assert server.counts["/token"] == 1
    assert auth.stats == RefreshStats(refreshes=1, coalesced=19)
    assert server.reuse_detected == 0
    assert [p.refresh_token for p in saved] == ["rt-1"]
    assert server.forms[0] == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-0",
        "client_id": "cli",
    }


async def test_should_refresh_an_expired_token_once_for_20_concurrent_tasks(server: TokenServer):
    auth = _auth(server, access_token=_expired(server))
    server.gate = threading.Event()
    release = _release_when(auth, server, 19)
    async with httpx.AsyncClient(auth=auth, base_url=server.url) as client:
        responses = await asyncio.gather(*(client.get("/api") for _ in range(20)))
    release.join(30)
    assert [r.status_code for r in responses] == [200] * 20
    assert server.counts["/token"] == 1
    assert auth.stats == RefreshStats(refreshes=1, coalesced=19)
    assert server.reuse_detected == 0


def test_should_rotate_through_several_refreshes_always_with_the_newest_refresh_token(
    server: TokenServer,
):
    auth = _auth(server)
    with httpx.Client(auth=auth, base_url=server.url) as client:
        for _ in range(3):
            assert client.get("/api").status_code == 200
            assert client.get("/api").status_code == 200  # fresh: no refresh
            server.clock.advance(301)
    assert server.counts["/token"] == 3
    assert [f["refresh_token"] for f in server.forms] == ["rt-0", "rt-1", "rt-2"]
    assert server.reuse_detected == 0


def test_should_refresh_inside_the_margin_but_not_before(server: TokenServer):
    fresh = server.access()
    auth = _auth(server, access_token=fresh, refresh_margin=30)
    with httpx.Client(auth=auth, base_url=server.url) as client:
        server.clock.advance(300 - 31)
        client.get("/api")
        assert server.counts["/token"] == 0
        server.clock.advance(2)
        client.get("/api")
        assert server.counts["/token"] == 1


def test_should_refresh_on_a_401_and_retry_once(server: TokenServer):
    auth = _auth(server, access_token=server.access())
    server.live.clear()  # the API no longer accepts it, though exp says it is fresh
    with httpx.Client(auth=auth, base_url=server.url) as client:
        response = client.get("/api")
    assert response.status_code == 200
    assert server.counts == {"/api": 2, "/token": 1}


async def test_should_refresh_on_a_401_once_for_concurrent_requests_in_async_code(
    server: TokenServer,
):
    auth = _auth(server, access_token=server.access())
    server.live.clear()
    async with httpx.AsyncClient(auth=auth, base_url=server.url) as client:
        responses = await asyncio.gather(*(client.get("/api") for _ in range(5)))
        assert [r.status_code for r in responses] == [200] * 5
        server.live.clear()
        assert (await client.get("/api")).status_code == 200
    assert server.counts["/token"] == 2
    assert server.reuse_detected == 0


def test_should_stop_for_good_on_invalid_grant_without_replaying_the_spent_token(
    server: TokenServer,
):
    auth = _auth(server, refresh_token="stolen-and-revoked")
    with httpx.Client(auth=auth, base_url=server.url) as client:
        with pytest.raises(RefreshTokenRejectedError, match="sign in again"):
            client.get("/api")
        with pytest.raises(RefreshTokenRejectedError):
            client.get("/api")
    assert server.counts == {"/token": 1}


def test_should_raise_a_typed_error_on_a_server_error_and_try_again_later(server: TokenServer):
    server.fail_next = 1
    auth = _auth(server)
    with httpx.Client(auth=auth, base_url=server.url) as client:
        with pytest.raises(TokenRefreshError, match="HTTP 500") as info:
            client.get("/api")
        assert not isinstance(info.value, RefreshTokenRejectedError)
        assert client.get("/api").status_code == 200
    assert server.counts["/token"] == 2


def test_should_use_expires_in_for_an_opaque_access_token(clock: FixedClock):
    server = TokenServer(clock, opaque=True)
    try:
        auth = _auth(server)
        with httpx.Client(auth=auth, base_url=server.url) as client:
            client.get("/api")
            clock.advance(200)
            client.get("/api")
            assert server.counts["/token"] == 1
            clock.advance(80)  # inside the 30 s margin of expires_in=300
            client.get("/api")
            assert server.counts["/token"] == 2
    finally:
        server.stop()


def test_should_send_confidential_client_credentials_as_form_encoded_basic_auth(
    server: TokenServer,
):
    auth = _auth(server, client_id="my app", client_secret="s3cr:t")
    with httpx.Client(auth=auth, base_url=server.url) as client:
        client.get("/api")
    header = server.auth_headers[0]
    assert header is not None and header.startswith("Basic ")
    assert base64.b64decode(header[6:]).decode() == "my+app:s3cr%3At"
    assert "client_id" not in server.forms[0]
    assert "s3cr" not in repr(auth) and "rt-" not in repr(auth)


def test_should_keep_secrets_out_of_repr_and_refuse_an_insecure_token_url():
    pair = TokenPair("access-secret", "refresh-secret", 1.0)
    assert "secret" not in repr(pair)
    with pytest.raises(ValueError, match="https"):
        RefreshingAuth("http://auth.example/token", refresh_token="x")
    with pytest.raises(ValueError):
        RefreshingAuth("https://auth.example/token", refresh_token="")


def test_should_fail_waiting_requests_when_the_refresh_request_itself_fails(clock: FixedClock):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200)

    auth = RefreshingAuth("https://auth.example/token", refresh_token="rt", clock=clock)
    with httpx.Client(auth=auth, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(httpx.ConnectError):
            client.get("https://api.example/x")
        with pytest.raises(httpx.ConnectError):  # no flight left hanging: a new attempt
            client.get("https://api.example/x")
    assert auth.refreshes == 2
    assert auth.stats == RefreshStats(refreshes=2, coalesced=0)


@pytest.mark.parametrize("exp", ["1" + "0" * 400, "1e400"], ids=["huge-int", "inf-float"])
def test_should_treat_an_exp_beyond_any_float_as_due_now(exp: str):
    def seg(raw: str) -> str:
        return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()

    token = seg('{"alg":"ES256"}') + "." + seg('{"exp":' + exp + "}") + ".AAAA"
    auth = RefreshingAuth(
        "https://auth.example.com/token",
        refresh_token="rt",
        access_token=token,
        clock=FixedClock(1_000_000.0),
    )
    assert auth.access_token == token
    # Not inf (never refresh), no OverflowError, and not "no exp" either (which would keep a
    # token no verifier accepts): due now, so the next request refreshes first.
    assert auth._expires_at == 1_000_000.0
