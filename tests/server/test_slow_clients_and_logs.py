"""Slow clients (a body that never finishes gets a 408 and the connection back) and log lines
that no client-chosen string can forge, hide or reorder (every invisible character escaped)."""

from __future__ import annotations

import json
import logging
import socket
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from jwtwarden.server.logs import FIELDS, JSONFormatter

from .support import ServerProcess, clean_env, free_port

# One of each kind a log line must not carry raw.
INVISIBLE = {
    "nul": "\x00",
    "bell": "\x07",
    "escape": "\x1b",
    "newline": "\n",
    "carriage_return": "\r",
    "delete": "\x7f",
    "c1_next_line": "\x85",
    "c1_csi": "\x9b",
    "soft_hyphen": "\u00ad",
    "arabic_letter_mark": "\u061c",
    "zero_width_space": "\u200b",
    "zero_width_non_joiner": "\u200c",
    "zero_width_joiner": "\u200d",
    "left_to_right_mark": "\u200e",
    "right_to_left_mark": "\u200f",
    "lre": "\u202a",
    "rle": "\u202b",
    "pdf": "\u202c",
    "lro": "\u202d",
    "rlo": "\u202e",
    "lri": "\u2066",
    "rli": "\u2067",
    "fsi": "\u2068",
    "pdi": "\u2069",
    "word_joiner": "\u2060",
    "line_separator": "\u2028",
    "paragraph_separator": "\u2029",
    "byte_order_mark": "\ufeff",
    "lone_surrogate": "\ud800",
    "private_use": "\ue000",
    "tag_character": "\U000e0041",
}


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("jwtwarden.server", logging.INFO, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    return record


def _assert_no_raw_invisible(line: str) -> None:
    for char in line:
        category = unicodedata.category(char)
        assert category not in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}, (hex(ord(char)), line)


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
@pytest.mark.parametrize("field", ["msg", *(f for f in FIELDS if f != "duration_ms")])
def test_should_escape_an_invisible_character_in_every_logged_string(field: str, char: str) -> None:
    value = f"admin{char}@example.test"
    record = _record(value) if field == "msg" else _record("request refused", **{field: value})
    line = JSONFormatter().format(record)
    _assert_no_raw_invisible(line)
    assert "\n" not in line
    # The escape is JSON's own: a reader of the log gets the exact value back.
    assert json.loads(line)[field] == value


def test_should_keep_visible_non_ascii_text_readable_in_a_log_line() -> None:
    line = JSONFormatter().format(_record("Zoë from Łódź, 東京"))
    assert "Zoë from Łódź, 東京" in line


def test_should_escape_an_invisible_character_in_the_logger_name() -> None:
    record = _record("x")
    record.name = "jwtwarden\u202eevil"
    line = JSONFormatter().format(record)
    _assert_no_raw_invisible(line)
    assert json.loads(line)["logger"] == "jwtwarden\u202eevil"


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp: Path = tmp_path_factory.mktemp("slow")
    port = free_port()
    env = clean_env(
        {
            "JWTWARDEN_DATA_DIR": str(tmp / "data"),
            "JWTWARDEN_ISSUER": f"http://127.0.0.1:{port}",
            "JWTWARDEN_BODY_TIMEOUT": "0.5",
        }
    )
    server = ServerProcess(env, port, tmp / "server.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def _exchange(server: ServerProcess, head: bytes, body_parts: list[bytes]) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head)
        for part in body_parts:
            sock.sendall(part)
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk


@pytest.mark.slow
def test_should_answer_408_and_close_when_a_body_never_finishes(
    slow_server: ServerProcess,
) -> None:
    head = (
        b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )
    # 1 of the 100 announced bytes, then silence: the server ends the exchange, not the client
    # (the socket's 30 s timeout would raise before the test could pass without the server).
    response = _exchange(slow_server, head, [b"{"])
    status_line, _, rest = response.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout", response[:300]
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower()
    assert json.loads(body)["error"] == "invalid_request"


@pytest.mark.slow
def test_should_not_cut_a_body_that_arrives_in_time_in_several_parts(
    slow_server: ServerProcess,
) -> None:
    body = json.dumps({"email": "nobody@example.test", "password": "p" * 20}).encode()
    head = (
        b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    response = _exchange(slow_server, head, [body[:10], body[10:]])
    assert response.startswith(b"HTTP/1.1 400 "), response[:300]
    assert json.loads(response.partition(b"\r\n\r\n")[2])["error"] == "invalid_grant"
