"""The development server's access log (issue 17): one line per request with the method, the
path, the status and the duration, on a real ``jwtwarden serve`` on 127.0.0.1; never the query
string, the Authorization header or a cookie, whatever a client puts there. HEAD and the
public documents' CORS are checked over the real socket too (uvicorn, not the ASGI seam)."""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .support import ServerProcess, clean_env, free_port


@pytest.fixture
def live(tmp_path: Path) -> Iterator[ServerProcess]:
    port = free_port()
    env = clean_env({"JWTWARDEN_DATA_DIR": str(tmp_path / "data")})
    process = ServerProcess(env, port, tmp_path / "server.log")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def _lines(server: ServerProcess) -> list[dict[str, Any]]:
    out = []
    for line in server.log().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def _requests(server: ServerProcess, path: str) -> list[dict[str, Any]]:
    return [r for r in _lines(server) if r.get("event") == "http" and r.get("path") == path]


def test_should_log_one_line_per_request_without_query_header_or_cookie(
    live: ServerProcess,
) -> None:
    server = live
    in_query, in_header, in_cookie, in_code = (
        "q" + secrets.token_urlsafe(24),
        "h" + secrets.token_urlsafe(24),
        "c" + secrets.token_urlsafe(24),
        "o" + secrets.token_urlsafe(24),
    )
    health = httpx.get(
        f"{server.base_url}/healthz?access_token={in_query}",
        headers={
            "authorization": f"Bearer {in_header}",
            "cookie": f"__Host-jwtwarden_rt={in_cookie}",
        },
    )
    refused = httpx.post(
        f"{server.base_url}/oauth/token?code={in_code}",
        data={"grant_type": "refresh_token", "refresh_token": in_code},
        headers={"authorization": f"Bearer {in_header}"},
    )
    jwks = httpx.get(f"{server.base_url}/.well-known/jwks.json")
    assert (health.status_code, refused.status_code, jwks.status_code) == (200, 401, 200)
    server.stop()  # flush and close the log: every line of the requests above is written
    log = server.log()
    for secret in (in_query, in_header, in_cookie, in_code):
        assert secret not in log
    (line,) = [r for r in _requests(server, "/healthz") if r["status"] == 200][-1:]
    assert line["level"] == "info" and line["method"] == "GET" and line["msg"] == "request"
    assert isinstance(line["duration_ms"], float | int) and line["duration_ms"] >= 0
    assert [(r["method"], r["status"]) for r in _requests(server, "/oauth/token")] == [
        ("POST", 401)
    ]
    # The JWKS is answered before routing (the edge's fast path): logged all the same.
    assert [r["status"] for r in _requests(server, "/.well-known/jwks.json")] == [200]


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    "path", ["/.well-known/jwks.json", "/.well-known/oauth-authorization-server", "/healthz"]
)
def test_should_answer_head_over_the_wire_with_headers_and_no_body(
    live: ServerProcess, path: str
) -> None:
    got = httpx.get(live.base_url + path)
    answer = _raw(
        live.port,
        f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://x.test\r\n"
        "Connection: close\r\n\r\n".encode(),
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == b""
    headers = dict(line.split(": ", 1) for line in head.decode("latin-1").lower().split("\r\n")[1:])
    assert headers["content-length"] == str(len(got.content))
    if path != "/healthz":
        assert headers["access-control-allow-origin"] == "*"
