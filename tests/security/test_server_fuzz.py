"""Random and hostile requests to every endpoint: never a 5xx (503 only when a dependency is
down, which it is not here), and every error body is an RFC 6749 5.2 object."""

from __future__ import annotations

import json
import random
import string
from typing import Any
from urllib.parse import quote

import pytest

from .conftest import ADMIN, ORIGIN, PASSWORD, USER, App


def _latin(text: str) -> str:
    # Header values are bytes on the wire: send the UTF-8 bytes as latin-1, cut to 300.
    return text.encode("utf-8", "surrogatepass")[:300].decode("latin-1")


def _q(text: str) -> str:
    # Percent-encode the UTF-8 bytes, lone surrogates included (invalid UTF-8 on the wire).
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


PATHS = (
    "/auth/login",
    "/auth/login?mode=cookie",
    "/auth/logout",
    "/auth/password",
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/introspect",
    "/admin/users",
    "/admin/users/x",
    "/admin/users/x/disable",
    "/admin/users/x/sessions/revoke",
    "/admin/keys",
    "/admin/keys/rotate",
    "/.well-known/jwks.json",
    "/.well-known/oauth-authorization-server",
    "/metrics",
    "/healthz",
    "/nowhere",
)
GET_PATHS = frozenset(
    {
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",
        "/metrics",
        "/healthz",
        "/admin/users",
        "/admin/users/x",
        "/admin/keys",
    }
)
FIELDS = (
    "email",
    "password",
    "grant_type",
    "refresh_token",
    "token",
    "scope",
    "client_id",
    "current_password",
    "new_password",
    "is_admin",
    "immediate",
    "token_type_hint",
)
NASTY = (
    "\ud800",
    "\udfff",
    "\x00",
    "\x1b[2J",
    "\u202e",
    "\u200b",
    "\uff41",
    "é",
    "²",
    "٣",
    "🙂",
    "%",
    "%ff",
    "'",
    '"',
    "\\",
    "\r\n",
    "A" * 5000,
    "1e999",
    "-1",
    "null",
    "refresh_token",
    "jwtw_rt_" + "A" * 43,
    "eyJhbGciOiJub25lIn0.e30.",
)


class Fuzzer:
    def __init__(self, seed: int, tokens: dict[str, str]) -> None:
        self.rnd = random.Random(seed)
        self.tokens = tokens

    def text(self) -> str:
        rnd = self.rnd
        pool = [*NASTY, *self.tokens.values()]
        return "".join(
            rnd.choice(string.printable) if rnd.random() < 0.6 else rnd.choice(pool)
            for _ in range(rnd.randint(0, 4))
        )

    def value(self, depth: int = 0) -> Any:
        rnd = self.rnd
        kind = rnd.randint(0, 7 if depth < 3 else 5)
        if kind == 0:
            return self.text()
        if kind == 1:
            return rnd.randint(-(10**20), 10**20)
        if kind == 2:
            return rnd.random()
        if kind == 3:
            return None
        if kind == 4:
            return rnd.choice([True, False])
        if kind == 5:
            return rnd.choice(NASTY)
        if kind == 6:
            return [self.value(depth + 1) for _ in range(rnd.randint(0, 3))]
        return {self.text(): self.value(depth + 1) for _ in range(rnd.randint(0, 3))}

    def field(self) -> str:
        return self.rnd.choice(FIELDS) if self.rnd.random() < 0.8 else self.text()

    def request(self) -> tuple[str, str, dict[str, str | bytes], bytes]:
        rnd = self.rnd
        path = rnd.choice(PATHS)
        if rnd.random() < 0.1:
            method = rnd.choice(["PUT", "DELETE", "PATCH", "OPTIONS"])
        else:
            method = "GET" if path in GET_PATHS and rnd.random() < 0.8 else "POST"
        if rnd.random() < 0.3:
            sep = "&" if "?" in path else "?"
            name = rnd.choice(["mode", "limit", "offset", self.text()])
            path += sep + _q(name) + "=" + _q(self.text())
        headers: dict[str, str | bytes] = {}
        content = b""
        kind = rnd.randint(0, 4)
        if kind == 4:
            # Well-formed but hostile: the right fields, all strings, so the request gets past
            # the edge and into the service, the hasher and the database.
            headers["content-type"] = "application/json"
            body = {
                "email": rnd.choice([USER, f"a{rnd.choice(NASTY)}@example.test", self.text()]),
                "password": rnd.choice(NASTY) + " a long enough password",
                "current_password": rnd.choice([PASSWORD, rnd.choice(NASTY)]),
                "new_password": rnd.choice(NASTY) + " another long password",
            }
            content = json.dumps(body).encode("utf-8", "surrogatepass")
        elif kind == 0:
            headers["content-type"] = "application/json"
            body = {self.field(): self.value() for _ in range(rnd.randint(0, 5))}
            content = json.dumps(body).encode("utf-8", "surrogatepass")
        elif kind == 1:
            headers["content-type"] = "application/x-www-form-urlencoded"
            content = "&".join(
                f"{_q(self.field())}={_q(self.text())}" for _ in range(rnd.randint(0, 5))
            ).encode()
        elif kind == 2:
            headers["content-type"] = rnd.choice(
                ["text/plain", "application/json; charset=utf-16", "multipart/form-data", "x/y"]
            )
            content = bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 64)))
        else:
            headers["content-type"] = "application/json"
            content = rnd.choice(
                [
                    b"[",
                    b"\xef\xbb\xbf{}",
                    b'{"email": 1e400, "password": "x"}',
                    b'{"password": ' + b"9" * 5000 + b"}",
                    b"[" * 5000 + b"]" * 5000,
                    '{"email":"a@b.c","password":"12345678"}'.encode("utf-16"),
                ]
            )
        if rnd.random() < 0.5:
            access = self.tokens[rnd.choice(["access", "admin"])]
            headers["authorization"] = rnd.choice(
                [f"Bearer {access}", f"bearer  {access}", "Basic " + self.text(), self.text()]
            )
        if rnd.random() < 0.3:
            headers["origin"] = rnd.choice([ORIGIN, "null", ORIGIN + "/", self.text()])
        if rnd.random() < 0.3:
            refresh = self.tokens["refresh"]
            headers["cookie"] = rnd.choice(
                [
                    f"__Host-jwtwarden_refresh={refresh}; __Host-jwtwarden_csrf={self.text()}",
                    f"__Host-jwtwarden_refresh={refresh}; __Host-jwtwarden_refresh=x",
                    self.text(),
                ]
            )
        if rnd.random() < 0.3:
            headers["x-csrf-token"] = self.text()
        encoded: dict[str, str | bytes] = {}
        for name, header in headers.items():
            text = header if isinstance(header, str) else header.decode("latin-1")
            cleaned = _latin(text).replace("\r", " ").replace("\n", " ")
            encoded[name] = cleaned.encode("latin-1")
        return method, path, encoded, content


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_should_never_answer_5xx_to_random_and_hostile_requests(
    server: App, seed: int
) -> None:
    login = await server.login()
    admin = await server.login(ADMIN)
    tokens = {
        "access": login["access_token"],
        "admin": admin["access_token"],
        "refresh": login["refresh_token"],
    }
    fuzzer = Fuzzer(seed, tokens)
    failures = []
    async with server.client() as c:
        for _ in range(250):
            method, path, headers, content = fuzzer.request()
            r = await c.request(method, path, headers=headers, content=content)
            if r.status_code >= 500:
                failures.append((r.status_code, method, path, headers, content[:120]))
            elif r.status_code >= 400:
                body = r.json()
                assert set(body) == {"error", "error_description"}, (path, r.text)
                assert "Traceback" not in r.text and "sqlalchemy" not in r.text.lower()
    assert failures == []
