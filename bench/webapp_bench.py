"""The web-app SDK's cost per request: a protected page with a live session against the same
page without the SDK (issue 16: at least 0.85x the throughput).

Every page is a FastAPI route called in-process through the raw ASGI interface (no socket, no
HTTP client: what is measured is the application, not the transport, which is the harshest
setting for a fixed per-request cost). The protected pages run the whole SDK path: the session
middleware, the session cookie (a realistic one: claims, access, refresh and ID tokens) found
and opened (AES-GCM on the first request, the opened-cookie cache after it), the live-session
check, and the access token (an RFC 9068 JWT) re-checked through the cached verifier. The
provider is never called: the session is live, the token not due.

The pages, each round in turn (interleaved, so drift in the machine's load hits all alike):

- ``plain``: the page without the SDK (the baseline);
- ``depends``: ``user: WebUser = Depends(require_user)``, as docs/webapp.md shows it;
- ``await``: ``user = await require_user(request)`` in the handler (no FastAPI dependency);
- ``noop-depends``: the plain page with a dependency that does nothing: FastAPI's own cost of
  ``Depends``, which no SDK can go under;
- ``middleware`` and ``session`` (in process only): the SDK's cost in two parts, the session
  middleware under a page that never reads the session, then the same page reading it once
  (``await current_session(request)``).

    python bench/webapp_bench.py [--requests 4000] [--rounds 7]
    python bench/webapp_bench.py --http [--connections 16] [--seconds 5] [--rounds 7]

Prints, per page, the median requests per second over the rounds and the median of the
per-round ratios to ``plain``.

``--http`` measures the same pages behind a real server instead: each page is its own uvicorn
process (one worker; uvloop and httptools, as ``uvicorn[standard]`` installs them; no access
log) on 127.0.0.1, driven by wrk (one thread, N connections, ``bench/server/lua/page.lua``) with
the session cookie, each round in turn. This is the throughput a user of the page sees; the
server's own per-request cost (HTTP parsing, the socket) is paid by both pages alike, so the
ratio is the SDK's share of a served request. Before the rounds, each page is asked once with
httpx: the protected pages must answer 200 with the cookie and refuse without it, so the
measured path is the SDK's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse

from jwtwarden import CachedVerifier, KeySet, VerificationPolicy, Verifier, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.webapp import SESSION_COOKIE, RelyingParty, WebAppSettings, WebSession, WebUser
from jwtwarden.webapp.provider import Provider, ProviderMetadata
from jwtwarden.webapp.starlette import WebApp, current_session, require_user

ISS = "https://id.example"
API = "https://api.example"
PAGE = "<!DOCTYPE html><html><body><h1>Signed in</h1><p id='user'>{}</p></body></html>"


def _rp() -> tuple[RelyingParty, str]:
    settings = WebAppSettings(
        issuer=ISS,
        client_id="webapp",
        client_secret="s" * 32,
        base_url="https://app.example",
        session_secrets=["k" * 32],
        audience=API,
    )
    rp = RelyingParty(settings)
    key = generate_key("ES256", kid="k1")
    metadata = ProviderMetadata(
        issuer=ISS,
        authorization_endpoint=f"{ISS}/auth",
        token_endpoint=f"{ISS}/token",
        jwks_uri=f"{ISS}/jwks",
    )
    provider = Provider(settings, metadata, rp.guard)
    # The discovered provider, with its key set in hand (no network in a benchmark).
    policy = VerificationPolicy.access_token(
        algorithms=["ES256"], issuer=ISS, audience=API, keys=KeySet([key])
    )
    provider.access_verifier = CachedVerifier(Verifier(policy))
    rp._provider = provider
    now = int(time.time())
    id_token = sign_compact(
        {"typ": "JWT"},
        {
            "iss": ISS,
            "aud": "webapp",
            "sub": "alice",
            "email": "alice@example.test",
            "name": "Alice",
            "iat": now,
            "exp": now + 3600,
            "nonce": "n" * 43,
            "at_hash": "h" * 22,
        },
        key,
    )
    access = sign_compact(
        {"typ": "at+jwt"},
        {
            "iss": ISS,
            "aud": API,
            "sub": "alice",
            "client_id": "webapp",
            "iat": now,
            "exp": now + 3600,
            "jti": "j1",
            "scope": "openid email",
        },
        key,
    )
    session = WebSession.new(
        claims={
            "sub": "alice",
            "email": "alice@example.test",
            "email_verified": True,
            "name": "Alice",
        },
        access_token=access,
        access_expires_at=now + 3600,
        refresh_token="r" * 43,
        id_token=id_token,
        now=now,
    )
    return rp, rp.seal_session(session)[0]


def apps() -> tuple[dict[str, FastAPI], str]:
    """The pages by name (see the module docstring) and a live session's cookie."""
    plain = FastAPI()

    @plain.get("/page")
    async def page_plain() -> HTMLResponse:
        return HTMLResponse(PAGE.format("alice@example.test"))

    async def nothing(request: Request) -> None:
        return None

    noop = FastAPI()

    @noop.get("/page")
    async def page_noop(_: None = Depends(nothing)) -> HTMLResponse:
        return HTMLResponse(PAGE.format("alice@example.test"))

    rp, cookie = _rp()
    depends = FastAPI()
    WebApp(rp=rp).install(depends)

    @depends.get("/page")
    async def page_depends(user: WebUser = Depends(require_user)) -> HTMLResponse:
        return HTMLResponse(PAGE.format(user.email))

    awaited = FastAPI()
    WebApp(rp=rp).install(awaited)

    @awaited.get("/page")
    async def page_await(request: Request) -> HTMLResponse:
        user = await require_user(request)
        return HTMLResponse(PAGE.format(user.email))

    # The SDK's cost in two parts: the middleware alone (the cookie found and opened, the
    # response wrapped; the page never reads the session), then one read of the session.
    middleware = FastAPI()
    WebApp(rp=rp).install(middleware)

    @middleware.get("/page")
    async def page_middleware() -> HTMLResponse:
        return HTMLResponse(PAGE.format("alice@example.test"))

    session = FastAPI()
    WebApp(rp=rp).install(session)

    @session.get("/page")
    async def page_session(request: Request) -> HTMLResponse:
        await current_session(request)
        return HTMLResponse(PAGE.format("alice@example.test"))

    pages = {
        "plain": plain,
        "depends": depends,
        "await": awaited,
        "noop-depends": noop,
        "middleware": middleware,
        "session": session,
    }
    return pages, cookie


async def _call(app: Any, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": "/page",
        "raw_path": b"/page",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("a", 443),
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _rate(app: Any, headers: list[tuple[bytes, bytes]], requests: int) -> float:
    assert await _call(app, headers) == 200
    begun = time.perf_counter()
    for _ in range(requests):
        await _call(app, headers)
    return requests / (time.perf_counter() - begun)


async def main(requests: int, rounds: int) -> None:
    pages, cookie = apps()
    host = [(b"host", b"app.example")]
    with_cookie = [*host, (b"cookie", f"{SESSION_COOKIE}={cookie}".encode())]
    rates: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(rounds):  # interleaved, so drift in the machine's load hits all alike
        for name, app in pages.items():
            headers = host if name in ("plain", "noop-depends") else with_cookie
            rates[name].append(await _rate(app, headers, requests))
    _report(rates)


def _report(rates: dict[str, list[float]]) -> None:
    """Per page: the median rate, the median of the per-round ratios to ``plain``, their range,
    and the microseconds a request costs over the plain page (from the medians)."""
    print(f"load average before: {LOAD[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    plain_us = 1e6 / statistics.median(rates["plain"])
    for name, values in rates.items():
        ratios = [value / base for value, base in zip(values, rates["plain"], strict=True)]
        print(
            f"{name:13s} {statistics.median(values):8.0f} req/s   "
            f"ratio {statistics.median(ratios):.3f}x  "
            f"(rounds {min(ratios):.3f}-{max(ratios):.3f}x)  "
            f"+{1e6 / statistics.median(values) - plain_us:5.1f} us over plain"
        )
    print("target: depends >= 0.85x plain")


def served() -> FastAPI:
    """uvicorn factory for ``--http``: the page ``BENCH_WEBAPP_PAGE``; the live session's cookie
    is written to ``BENCH_WEBAPP_COOKIE`` (each server seals its own, under its own keys)."""
    pages, cookie = apps()
    Path(os.environ["BENCH_WEBAPP_COOKIE"]).write_text(cookie)
    return pages[os.environ["BENCH_WEBAPP_PAGE"]]


HTTP_PAGES = ("plain", "depends", "await", "noop-depends")


def _server_bench() -> None:
    """bench/server (wrk, free ports) importable, once."""
    folder = str(Path(__file__).resolve().parent / "server")
    if folder not in sys.path:
        sys.path.insert(0, folder)


def _serve(name: str, folder: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    _server_bench()
    from _deploy import free_port  # type: ignore[import-not-found]

    port = free_port()
    cookie_file = folder / f"{name}.cookie"
    env = {**os.environ, "BENCH_WEBAPP_PAGE": name, "BENCH_WEBAPP_COOKIE": str(cookie_file)}
    argv = [sys.executable, "-m", "uvicorn", "--factory", "webapp_bench:served"]
    argv += ["--app-dir", str(Path(__file__).resolve().parent), "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    argv += ["--loop", "uvloop", "--http", "httptools"]
    process = subprocess.Popen(argv, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/page", headers={"host": "app.example"}, timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit(f"the {name} page's server did not start") from None
            time.sleep(0.2)
    return process, url, cookie_file.read_text()


def _check(name: str, url: str, cookie: str) -> None:
    host = {"host": "app.example"}
    with_cookie = {**host, "cookie": f"{SESSION_COOKIE}={cookie}"}
    ok = httpx.get(url + "/page", headers=with_cookie)
    assert ok.status_code == 200 and "alice@example.test" in ok.text, (name, ok.status_code)
    if name in ("depends", "await"):
        refused = httpx.get(url + "/page", headers=host)
        assert refused.status_code != 200, (name, "answered 200 without a session")


def main_http(connections: int, seconds: float, rounds: int) -> None:
    _server_bench()
    from _wrk import wrk  # type: ignore[import-not-found]

    folder = Path(tempfile.mkdtemp(prefix="webapp-bench-"))
    servers = {name: _serve(name, folder) for name in HTTP_PAGES}
    try:
        for name, (_, url, cookie) in servers.items():
            _check(name, url, cookie)
        rates: dict[str, list[float]] = {name: [] for name in HTTP_PAGES}
        for _name, (_, url, cookie) in servers.items():  # warm-up: each page once, unmeasured
            wrk(
                url + "/page",
                "page.lua",
                ["/page", "app.example", f"{SESSION_COOKIE}={cookie}"],
                connections=connections,
                seconds=1,
            )
        for _ in range(rounds):  # interleaved, so drift in the machine's load hits all alike
            for name, (_, url, cookie) in servers.items():
                sent = f"{SESSION_COOKIE}={cookie}" if name in ("depends", "await") else ""
                got = wrk(
                    url + "/page",
                    "page.lua",
                    ["/page", "app.example", sent],
                    connections=connections,
                    seconds=seconds,
                )
                if got.errors:
                    raise SystemExit(f"{name}: {got.errors} errors ({got.non_2xx} not 2xx)")
                rates[name].append(got.rps)
    finally:
        for process, _, _ in servers.values():
            process.terminate()
            process.wait(timeout=10)
    print(
        f"behind uvicorn (1 worker), wrk 1 thread, {connections} connections, "
        f"{seconds:g} s a run, {rounds} rounds"
    )
    _report(rates)


LOAD = os.getloadavg()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--http", action="store_true", help="behind uvicorn, driven by wrk")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if args.http:
        main_http(args.connections, args.seconds, args.rounds)
    else:
        asyncio.run(main(args.requests, args.rounds))
