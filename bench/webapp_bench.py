"""The web-app SDK's cost per request: a protected page with a live session against the same
page without the SDK (issue 16: at least 0.85x the throughput).

Both pages are FastAPI routes called in-process through the raw ASGI interface (no socket, no
HTTP client: what is measured is the application, not the transport). The protected page runs
the whole SDK path: the session middleware, the cookie unsealed (AES-GCM), ``require_user``,
and the session's access token (an RFC 9068 JWT) re-checked through the cached verifier. The
provider is never called: the session is live, the token not due.

    python bench/webapp_bench.py [--requests 4000] [--rounds 7]

Prints the median requests per second of each page over the rounds, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse

from jwtwarden import CachedVerifier, KeySet, VerificationPolicy, Verifier, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.webapp import SESSION_COOKIE, RelyingParty, WebAppSettings, WebSession, WebUser
from jwtwarden.webapp.provider import Provider, ProviderMetadata
from jwtwarden.webapp.starlette import WebApp, require_user

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
        claims={"sub": "alice", "email": "alice@example.test"},
        access_token=access,
        access_expires_at=now + 3600,
        refresh_token="r" * 43,
        id_token=None,
        now=now,
    )
    return rp, rp.seal_session(session)[0]


def apps() -> tuple[FastAPI, FastAPI, str]:
    plain = FastAPI()

    @plain.get("/page")
    async def page_plain() -> HTMLResponse:
        return HTMLResponse(PAGE.format("alice@example.test"))

    rp, cookie = _rp()
    protected = FastAPI()
    WebApp(rp=rp).install(protected)

    @protected.get("/page")
    async def page_protected(user: WebUser = Depends(require_user)) -> HTMLResponse:
        return HTMLResponse(PAGE.format(user.email))

    return plain, protected, cookie


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
    plain, protected, cookie = apps()
    host = [(b"host", b"app.example")]
    with_cookie = [*host, (b"cookie", f"{SESSION_COOKIE}={cookie}".encode())]
    plain_rates, sdk_rates = [], []
    for _ in range(rounds):  # interleaved, so drift in the machine's load hits both alike
        plain_rates.append(await _rate(plain, host, requests))
        sdk_rates.append(await _rate(protected, with_cookie, requests))
    a, b = statistics.median(plain_rates), statistics.median(sdk_rates)
    print(f"page without the SDK:           {a:8.0f} req/s (median of {rounds})")
    print(f"protected page, live session:   {b:8.0f} req/s (median of {rounds})")
    print(f"ratio: {b / a:.3f}x (target >= 0.85x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
