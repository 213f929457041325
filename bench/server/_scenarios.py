"""The endpoints under load: what each request is, which server answers it, and the files of
tokens or bodies its wrk script cycles through."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from _deploy import (
    INTROSPECTION_ID,
    INTROSPECTION_SECRET,
    PASSWORD,
    USERS,
    Deployment,
    user_email,
)

__all__ = ["SCENARIOS", "Scenario", "Workload", "argon2_rate"]


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    app: str  # the Deployment process that answers
    connections: tuple[int, ...]


SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in (
        Scenario("refresh", "refresh grant (POST /oauth/token)", "auth", (1, 16, 64)),
        Scenario("ceiling", "ceiling: bare rotate + ES256 sign", "rotate", (1, 16, 64)),
        Scenario("jwks", "JWKS (GET /.well-known/jwks.json)", "auth", (1, 16, 64)),
        Scenario("hello", "ceiling: bare hello world", "hello", (1, 16, 64)),
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
    )
}

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

    def args(self, key: str, connections: int) -> tuple[str, str, list[str]]:
        """``(base_url, script, args)`` for one run."""
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
