"""Real HTTP servers on 127.0.0.1 for the remote key set tests, counting what reaches them."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jwtwarden import KeySet
from jwtwarden._jose.b64 import b64url_encode
from jwtwarden.keys.key import Key

_dumps = json.JSONEncoder(separators=(",", ":")).encode


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False


class CountingServer:
    """A ThreadingHTTPServer on 127.0.0.1 serving fixed routes.

    ``connections`` counts accepted TCP connections (so a test can prove no connection was
    made at all), ``counts`` requests per path, ``seen`` each request's headers. ``gate``, when
    set, holds every response until the test releases it.
    """

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route | Callable[[], Route]] = {}
        self.counts: Counter[str] = Counter()
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.connections = 0
        self.gate: threading.Event | None = None
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer._handle(self)

            def do_POST(self) -> None:
                outer._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # many clients connect at once

            def verify_request(self, request: Any, client_address: Any) -> bool:
                with outer._lock:
                    outer.connections += 1
                return True

        self._server = Server(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self._lock:
            self.counts[path] += 1
            self.seen.append((path, dict(handler.headers)))
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        if self.gate is not None:
            self.gate.wait(30)
        entry = self.routes.get(path.split("?")[0])
        route = entry() if callable(entry) else entry
        if route is None:
            route = Route(404, b'{"error":"not_found"}')
        handler.send_response(route.status)
        for name, value in route.headers.items():
            handler.send_header(name, value)
        if route.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for start in range(0, len(route.body), 4096):
                piece = route.body[start : start + 4096]
                handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            handler.wfile.write(b"0\r\n\r\n")
        else:
            handler.send_header("Content-Length", str(len(route.body)))
            handler.end_headers()
            handler.wfile.write(route.body)

    def url(self, path: str, *, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def serve_json(self, path: str, document: Any, **headers: str) -> None:
        self.routes[path] = Route(
            200, _dumps(document).encode(), {"Content-Type": "application/json", **headers}
        )

    def serve_keys(self, path: str, keys: list[Key], **headers: str) -> None:
        self.serve_json(path, KeySet(keys).public_jwks(), **headers)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def start(self) -> CountingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def counting_server(*, tls: ssl.SSLContext | None = None) -> Iterator[CountingServer]:
    server = CountingServer(tls=tls).start()
    try:
        yield server
    finally:
        server.stop()


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Synchronise with background work; fails (never passes) if it does not happen."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def unsigned_token(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A compact token with an arbitrary header and a junk signature (for tests that must be
    refused before any signature check)."""
    return ".".join(
        (
            b64url_encode(_dumps(header).encode()),
            b64url_encode(_dumps(claims).encode()),
            b64url_encode(b"\x00" * 64),
        )
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
