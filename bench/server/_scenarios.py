"""The endpoints under load: what each request is, which server answers it, and the files of
tokens or bodies its wrk script cycles through."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from _deploy import (
    INTROSPECTION_ID,
    INTROSPECTION_SECRET,
    PASSWORD,
    SCOPE,
    USERS,
    Deployment,
    user_email,
)
from _flows import (
    authorize_path,
    mint_codes,
    peer_refresh_tokens,
    pkce,
    sign_in,
    signin_forms,
)

__all__ = ["SCENARIOS", "Scenario", "Workload", "argon2_rate"]


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    app: str  # the Deployment process that answers
    connections: tuple[int, ...]


# In the order each round runs them: a pair whose ratio is reported runs back to back
# (code exchange, refresh, ceiling; JWKS, hello, sign-in page; ours and the peer's grant).
SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in (
        Scenario(
            "code_exchange",
            "code exchange (POST /oauth/token, authorization_code + PKCE)",
            "auth",
            (16, 64),
        ),
        Scenario("refresh", "refresh grant (POST /oauth/token)", "auth", (1, 16, 64)),
        Scenario("ceiling", "ceiling: bare rotate + ES256 sign", "rotate", (1, 16, 64)),
        Scenario("jwks", "JWKS (GET /.well-known/jwks.json)", "auth", (1, 16, 64)),
        Scenario("hello", "ceiling: bare hello world", "hello", (1, 16, 64)),
        Scenario("signin_get", "sign-in page (GET /oauth/authorize, no session)", "auth", (16, 64)),
        Scenario("introspect", "introspection (POST /oauth/introspect)", "auth", (1, 16, 64)),
        Scenario(
            "protected",
            "protected endpoint: FastAPI integration, cache + Redis denylist",
            "resource-cached-deny",
            (1, 16, 64),
        ),
        Scenario(
            "protected_cached",
            "protected endpoint: cache, no revocation hook",
            "resource-cached",
            (64,),
        ),
        Scenario(
            "protected_cold",
            "protected endpoint: cold ES256 verify, no hook",
            "resource-cold",
            (64,),
        ),
        Scenario("login", "login (POST /auth/login, argon2id)", "auth", (1, 16, 64)),
        Scenario(
            "signin_post", "sign-in form (POST /signin, argon2id + code, 303)", "auth", (16, 64)
        ),
        Scenario(
            "client_credentials",
            "client_credentials grant (POST /oauth/token)",
            "auth",
            (16, 64),
        ),
        Scenario(
            "peer_client_credentials",
            "oidc-provider: client_credentials (POST /token)",
            "peer",
            (16, 64),
        ),
        Scenario(
            "peer_refresh", "oidc-provider: refresh grant, rotating (POST /token)", "peer", (16, 64)
        ),
        Scenario("peer_jwks", "oidc-provider: JWKS (GET /jwks)", "peer", (16, 64)),
    )
}
PEER_KEYS = frozenset(k for k, s in SCENARIOS.items() if s.app == "peer")
# Scenarios whose requests are single-use or per-browser: made just before each run.
FLOW_KEYS = frozenset({"code_exchange", "signin_get", "signin_post"})
FORM = "application/x-www-form-urlencoded"
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: the code is read from Location
PEER_RESOURCE = "https://api.bench.test"

RESOURCE_APPS = {
    "resource-cached-deny": {"BENCH_CACHE": "1", "BENCH_DENYLIST": "1"},
    "resource-cached": {"BENCH_CACHE": "1", "BENCH_DENYLIST": "0"},
    "resource-cold": {"BENCH_CACHE": "0", "BENCH_DENYLIST": "0"},
}


class Workload:
    """Builds the wrk arguments of a scenario run (writing its token files)."""

    def __init__(self, dep: Deployment, files: Path) -> None:
        self.dep = dep
        self.files = files
        self._n = 0
        self._access_tokens: list[str] = []
        self._access_at = 0.0
        self.rates: dict[str, float] = {}  # the highest req/s of each scenario (pool sizes)
        self.mint_rate = 0.0  # codes a second, the last mint
        self.service: dict[str, Any] = {}  # our client_credentials client
        self.web: dict[str, Any] = {}  # our confidential code-flow client
        self._signin_cookie = ""
        secret = secrets.token_urlsafe(32)
        self.peer_clients = {
            "cc": {"client_id": "bench-service", "client_secret": secret + "c"},
            "web": {"client_id": "bench-web", "client_secret": secret + "w"},
        }

    # --- set-up ------------------------------------------------------------------------

    def register_clients(self, keys: set[str]) -> None:
        """Our clients, registered as an operator would (``jwtwarden clients create``), before
        the server starts."""
        if "client_credentials" in keys:
            self.service = self.dep.create_client(
                "--name", "bench service", "--grant", "client_credentials", "--scope", SCOPE
            )
        if keys & FLOW_KEYS:
            self.web = self.dep.create_client(
                "--name",
                "bench web app",
                "--redirect-uri",
                REDIRECT_URI,
                "--grant",
                "authorization_code",
                "--grant",
                "refresh_token",
                "--scope",
                SCOPE,
            )

    def peer_config(self) -> dict[str, Any]:
        """provider.mjs's configuration: configured like ours (ES256 JWT access tokens for an
        API resource, rotating refresh tokens), a service and a web client."""
        cc, web = self.peer_clients["cc"], self.peer_clients["web"]
        return {
            "clientCredentials": True,
            "resource": PEER_RESOURCE,
            "resourceScope": SCOPE,
            "clients": [
                {
                    **cc,
                    "grant_types": ["client_credentials"],
                    "response_types": [],
                    "redirect_uris": [],
                },
                {
                    **web,
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "redirect_uris": [REDIRECT_URI],
                },
            ],
        }

    def _pool(self, key: str, guess: float, seconds: float, connections: int) -> int:
        """Enough single-use requests for a run: the expected rate (the highest this scenario
        has reached, or ``guess`` if higher) x seconds x 1.5."""
        rate = max(self.rates.get(key, 0.0), guess)
        return int(rate * max(1, round(seconds)) * 1.5) + connections + 2

    def signin_cookie(self) -> str:
        if not self._signin_cookie:
            self._signin_cookie = sign_in(
                self.dep.issuer,
                self.web["client_id"],
                REDIRECT_URI,
                SCOPE,
                user_email(0),
                PASSWORD,
            )
        return self._signin_cookie

    @staticmethod
    def _basic(client_id: str, secret: str) -> str:
        return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()

    def _file(self, lines: list[str]) -> str:
        self._n += 1
        path = self.files / f"lines-{self._n}.txt"
        path.write_text("\n".join(lines) + "\n")
        return str(path)

    def refresh_tokens(self, connections: int) -> str:
        # wrk asks the script for one request up front to check it; give it a spare token.
        return self._file(self.dep.db.tokens(connections + 2))

    def access_tokens(self, count: int = 64) -> list[str]:
        """Fresh access tokens (one per new session), renewed every 4 minutes (they live 10)."""
        if len(self._access_tokens) >= count and time.monotonic() - self._access_at < 240:
            return self._access_tokens[:count]
        url = self.dep.issuer + "/oauth/token"
        tokens = []
        with httpx.Client(timeout=10) as client:
            for refresh in self.dep.db.tokens(count):
                answer = client.post(
                    url, data={"grant_type": "refresh_token", "refresh_token": refresh}
                )
                answer.raise_for_status()
                tokens.append(answer.json()["access_token"])
        self._access_tokens, self._access_at = tokens, time.monotonic()
        return tokens

    def args(self, key: str, connections: int, seconds: float = 5.0) -> tuple[str, str, list[str]]:
        """``(base_url, script, args)`` for one run of ``seconds`` (single-use requests are
        made here, just before it)."""
        app = self.dep.processes[SCENARIOS[key].app]
        if key in ("refresh", "ceiling"):
            return app.base_url, "chain.lua", [self.refresh_tokens(connections), "/oauth/token"]
        if key == "jwks":
            return app.base_url, "cycle.lua", ["GET", "/.well-known/jwks.json"]
        if key == "hello":
            return app.base_url, "cycle.lua", ["GET", "/"]
        if key == "introspect":
            basic = base64.b64encode(f"{INTROSPECTION_ID}:{INTROSPECTION_SECRET}".encode())
            bodies = [f"token={t}" for t in self.access_tokens()]
            form = "application/x-www-form-urlencoded"
            args = ["POST", "/oauth/introspect", "body", self._file(bodies), form]
            return app.base_url, "cycle.lua", [*args, "Basic " + basic.decode()]
        if key.startswith("protected"):
            tokens = self._file(self.access_tokens())
            return app.base_url, "cycle.lua", ["GET", "/protected", "bearer", tokens]
        if key == "login":
            bodies = [
                json.dumps({"email": user_email(i), "password": PASSWORD}, separators=(",", ":"))
                for i in range(USERS)
            ]
            args = ["POST", "/auth/login", "body", self._file(bodies), "application/json"]
            return app.base_url, "cycle.lua", args
        if key in ("client_credentials", "peer_client_credentials"):
            ours = key == "client_credentials"
            client = self.service if ours else self.peer_clients["cc"]
            body = urlencode({"grant_type": "client_credentials", "scope": SCOPE})
            args = [
                "method=POST",
                "path=/oauth/token" if ours else "path=/token",
                "kind=body",
                f"lines={self._file([body])}",
                f"type={FORM}",
                f"auth={self._basic(client['client_id'], client['client_secret'])}",
                "expect=200",
            ]
            return app.base_url, "lines.lua", args
        if key == "peer_jwks":
            return app.base_url, "lines.lua", [f"lines={self._file(['/jwks'])}", "expect=200"]
        if key == "peer_refresh":
            web = self.peer_clients["web"]
            tokens = peer_refresh_tokens(
                app.base_url,
                web["client_id"],
                web["client_secret"],
                REDIRECT_URI,
                SCOPE,
                connections + 2,
            )
            basic = self._basic(web["client_id"], web["client_secret"])
            return app.base_url, "chain.lua", [self._file(tokens), "/token", basic, "-"]
        if key == "code_exchange":
            # Every code is single-use: one per request, minted just now (they live 60 s).
            # The expected rate: the higher of the exchange's and the refresh grant's best (the
            # exchange should not beat it); without the refresh grant, twice the exchange's
            # (its first estimate is a 1-second warm-up). No more than the last mint made in
            # 30 s (codes live 60 s): short of the need, the run goes past the pool and says so.
            own = self.rates.get(key, 0.0)
            refresh = self.rates.get("refresh")
            guess = max(own, refresh) if refresh else (2 * own or 1000.0)
            count = self._pool(key, guess, seconds, connections)
            if self.mint_rate:
                count = min(count, int(self.mint_rate * 30))
            started = time.monotonic()
            codes = mint_codes(
                app.base_url,
                self.signin_cookie(),
                self.web["client_id"],
                REDIRECT_URI,
                SCOPE,
                count,
                self.files,
            )
            bodies = [
                urlencode(
                    {
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": REDIRECT_URI,
                        "code_verifier": verifier,
                    }
                )
                for code, verifier in codes
            ]
            self.mint_rate = len(codes) / (time.monotonic() - started)
            args = [
                "method=POST",
                "path=/oauth/token",
                "kind=body",
                f"lines={self._file(bodies)}",
                f"type={FORM}",
                f"auth={self._basic(self.web['client_id'], self.web['client_secret'])}",
                "expect=200",
                "once=1",
            ]
            return app.base_url, "lines.lua", args
        if key == "signin_get":
            # What a browser does first: the authorization request, no cookie: the form.
            paths = [
                authorize_path(self.web["client_id"], REDIRECT_URI, pkce()[1], f"g{i}", SCOPE)
                for i in range(500)
            ]
            return app.base_url, "lines.lua", [f"lines={self._file(paths)}", "expect=200"]
        if key == "signin_post":
            # Each form from a browser of its own (pre-session cookie, CSRF token, sealed
            # request), loaded just now (the sealed request lives 10 minutes).
            count = min(self._pool(key, 100.0, seconds, connections), 2000)
            emails = [user_email(i) for i in range(USERS)]
            forms = signin_forms(
                app.base_url, self.web["client_id"], REDIRECT_URI, SCOPE, emails, PASSWORD, count
            )
            args = [
                "method=POST",
                "path=/signin",
                "kind=form",
                f"lines={self._file(forms)}",
                f"type={FORM}",
                f"origin={self.dep.issuer}",
                "expect=303",
                "once=1",
            ]
            return app.base_url, "lines.lua", args
        raise KeyError(key)


def argon2_rate(password_hash: str, *, threads: int, seconds: float) -> float:
    """argon2id verifications a second (the work of one login) in ``threads`` threads; the
    same ``PasswordHasher.verify`` call the login makes (argon2-cffi releases the GIL)."""
    from jwtwarden.sessions.passwords import PasswordHasher

    hasher = PasswordHasher()
    counts = [0] * threads
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        while time.perf_counter() < stop:
            if not hasher.verify(password_hash, PASSWORD):
                raise RuntimeError("the bench password does not verify")
            counts[i] += 1

    started = time.perf_counter()
    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


ArgsFn = Callable[[str, int], tuple[str, str, list[str]]]
