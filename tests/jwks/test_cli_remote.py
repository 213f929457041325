"""``jwtwarden verify --jwks-url / --discovery``: one fetch serves a whole batch; a key set that
cannot be fetched, or a URL the guard refuses, is a usage error (exit 2), not a refused token."""

from __future__ import annotations

import json
import time
from typing import Any

from typer.testing import CliRunner

from jwtwarden._jose.sign import sign_compact
from jwtwarden.cli import app
from jwtwarden.keys.key import Key

from ._servers import CountingServer, Route

ISSUER = "https://issuer.example"


def _token(key: Key, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": "api",
        "sub": "u",
        "iat": now,
        "exp": now + 300,
        "jti": "j",
        "client_id": "client-1",
        **claims,
    }
    return sign_compact({"typ": "at+jwt"}, body, key)


def _run(*args: str, stdin: str | None = None) -> Any:
    base = [
        "verify",
        "--issuer",
        ISSUER,
        "--audience",
        "api",
        "--profile",
        "access",
        "--algorithm",
        "ES256",
    ]
    return CliRunner().invoke(app, [*base, *args], input=stdin)


def test_should_verify_a_batch_with_one_fetch_of_the_remote_key_set(
    server: CountingServer, signing_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    tokens = [_token(signing_key, sub=f"u{i}") for i in range(5)]
    result = _run(
        "--jwks-url", server.url("/jwks"), "--allow-loopback-http", stdin="\n".join(tokens) + "\n"
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["claims"]["sub"] for line in lines] == [f"u{i}" for i in range(5)]
    assert server.counts["/jwks"] == 1


def test_should_find_the_key_set_through_discovery(server: CountingServer, signing_key: Key):
    issuer = server.url("")
    server.serve_json(
        "/.well-known/openid-configuration", {"issuer": issuer, "jwks_uri": server.url("/jwks")}
    )
    server.serve_keys("/jwks", [signing_key])
    now = int(time.time())
    token = sign_compact(
        {"typ": "at+jwt"},
        {
            "iss": issuer,
            "aud": "api",
            "sub": "u",
            "iat": now,
            "exp": now + 60,
            "jti": "j",
            "client_id": "client-1",
        },
        signing_key,
    )
    result = CliRunner().invoke(
        app,
        [
            "verify",
            "--issuer",
            issuer,
            "--audience",
            "api",
            "--profile",
            "access",
            "--algorithm",
            "ES256",
            "--discovery",
            issuer,
            "--allow-loopback-http",
            token,
        ],
    )
    assert result.exit_code == 0, result.output
    assert server.total == 2


def test_should_refuse_loopback_without_the_switch_before_any_connection(
    server: CountingServer, signing_key: Key
):
    result = _run("--jwks-url", server.url("/jwks").replace("http:", "https:"), _token(signing_key))
    assert result.exit_code == 2
    assert "fetch_refused" in result.output and "loopback" in result.output
    result = _run("--jwks-url", server.url("/jwks"), _token(signing_key))
    assert result.exit_code == 2 and "plain http" in result.output
    assert server.connections == 0


def test_should_exit_2_when_the_key_set_cannot_be_fetched(server: CountingServer, signing_key: Key):
    server.routes["/jwks"] = Route(503, b"down")
    result = _run("--jwks-url", server.url("/jwks"), "--allow-loopback-http", _token(signing_key))
    assert result.exit_code == 2
    assert "cannot fetch the key set" in result.output
