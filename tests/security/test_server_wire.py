"""Attacks on a real ``jwtwarden serve`` process over 127.0.0.1: raw bytes the in-process
transport would clean up (header bytes, chunked bodies, lying lengths, Host headers)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.support import ServerProcess, clean_env, free_port, run_cli

EMAIL, PASSWORD = "wire@example.test", "a perfectly long password"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("wire")
    port = free_port()
    env = clean_env(
        {
            "JWTWARDEN_DATA_DIR": str(tmp / "data"),
            "JWTWARDEN_ALLOWED_ORIGINS": "https://app.example.test",
            "JWTWARDEN_RATE_LIMIT_LOGIN_ADDRESS": "100000",
            # The most the server ever writes: one record per request, to search for secrets.
            "JWTWARDEN_LOG_LEVEL": "DEBUG",
        }
    )
    made = run_cli(
        ["users", "create", EMAIL, "--password-stdin", "--create-database"],
        env,
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    server = ServerProcess(env, port, tmp / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _raw(server: ServerProcess, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while True:  # every request says Connection: close; read the whole answer
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data


def _post(path: str, body: bytes, *headers: bytes) -> bytes:
    head = [b"POST " + path.encode() + b" HTTP/1.1", b"Host: 127.0.0.1", *headers]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def test_should_answer_400_to_lone_surrogates_over_the_wire(served: ServerProcess) -> None:
    body = json.dumps({"email": "\ud800@example.test", "password": PASSWORD}).encode()
    status, raw = _raw(
        served,
        _post(
            "/auth/login",
            body,
            b"Content-Type: application/json",
            b"Content-Length: %d" % len(body),
            b"Connection: close",
        ),
    )
    assert status == 400, raw[:300]


def test_should_cap_a_chunked_body_that_never_says_its_length(served: ServerProcess) -> None:
    chunk = b"x" * 4096
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)) + b"0\r\n\r\n"
    status, _ = _raw(
        served,
        _post(
            "/auth/login",
            body,
            b"Content-Type: application/json",
            b"Transfer-Encoding: chunked",
            b"Connection: close",
        ),
    )
    assert status == 413


@pytest.mark.parametrize("length", [b"99999999999999999999", b"-1", b"\xc2\xb2"])
def test_should_never_answer_5xx_to_a_lying_content_length(
    served: ServerProcess, length: bytes
) -> None:
    status, _ = _raw(
        served,
        _post(
            "/auth/login",
            b"{}",
            b"Content-Type: application/json",
            b"Content-Length: " + length,
            b"Connection: close",
        ),
    )
    assert 400 <= status < 500 or status == 0  # 0: the HTTP parser hung up on it


def test_should_answer_403_to_non_ascii_bytes_in_the_csrf_header(served: ServerProcess) -> None:
    login = httpx.post(
        served.base_url + "/auth/login?mode=cookie",
        json={"email": EMAIL, "password": PASSWORD},
        headers={"Origin": "https://app.example.test"},
    )
    assert login.status_code == 200, login.text
    cookies = "; ".join(h.split(";", 1)[0] for h in login.headers.get_list("set-cookie"))
    body = b"grant_type=refresh_token"
    status, raw = _raw(
        served,
        _post(
            "/oauth/token",
            body,
            b"Content-Type: application/x-www-form-urlencoded",
            b"Content-Length: %d" % len(body),
            b"Cookie: " + cookies.encode(),
            b"Origin: https://app.example.test",
            b"X-CSRF-Token: \xe9\xff\xfe",
            b"Connection: close",
        ),
    )
    assert status == 403, raw[:300]


@pytest.mark.parametrize(
    "header", [b"Host: evil.example", b"X-Forwarded-Host: evil.example", b"Forwarded: host=evil"]
)
def test_should_keep_the_issuer_whatever_host_the_request_names(
    served: ServerProcess, header: bytes
) -> None:
    request = b"GET /.well-known/oauth-authorization-server HTTP/1.1\r\n"
    if not header.startswith(b"Host:"):
        request += b"Host: 127.0.0.1\r\n"
    request += header + b"\r\nConnection: close\r\n\r\n"
    status, raw = _raw(served, request)
    assert status == 200
    assert b"evil" not in raw and served.base_url.encode() in raw


def _records(log: str) -> list[dict[str, object]]:
    # Complete lines only: the server may be writing the last one.
    return [json.loads(line) for line in log.split("\n")[:-1] if line.startswith("{")]


def test_should_never_write_a_password_or_token_to_the_log(served: ServerProcess) -> None:
    url = served.base_url
    before = len(_records(served.log()))
    answered = httpx.post(url + "/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert answered.status_code == 200, answered.text
    login = answered.json()
    refreshed = httpx.post(
        url + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": login["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    refreshed_pair = refreshed.json()
    revoked = httpx.post(url + "/oauth/revoke", data={"token": login["access_token"]})
    assert revoked.status_code == 200, revoked.text  # RFC 7009 2.2
    refused = httpx.get(
        url + "/admin/users", headers={"Authorization": "Bearer " + login["access_token"]}
    )
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")
    # The log is the one of this server and it did record these four requests (at DEBUG, one
    # record each, written once the answer is sent), so a secret missing from it is missing
    # from what was written.
    deadline = time.monotonic() + 10
    while True:
        log = served.log()
        requests = [
            (r["method"], r["path"], r["status"])
            for r in _records(log)[before:]
            if r.get("event") == "http"
        ]
        if len(requests) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert requests[-4:] == [
        ("POST", "/auth/login", 200),
        ("POST", "/oauth/token", 200),
        ("POST", "/oauth/revoke", 200),
        ("GET", "/admin/users", 401),
    ]
    assert any(
        r.get("event") == "refused" and r["path"] == "/admin/users" and r["status"] == 401
        for r in _records(log)[before:]
    )
    secrets = (
        PASSWORD,
        login["refresh_token"],
        login["access_token"],
        refreshed_pair["refresh_token"],
        refreshed_pair["access_token"],
        "jwtw_rt_",
        "eyJ",
    )
    for secret in secrets:
        assert secret not in log
