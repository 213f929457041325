"""Running real ``jwtwarden serve`` processes on 127.0.0.1 for the end-to-end tests, and the
app in process (``App``) for the tests that need a seam."""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "App",
    "ServerProcess",
    "clean_env",
    "free_port",
    "new_kek",
    "run_cli",
    "serve_with_account",
    "serve_with_client",
]

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class App:
    """A started app in process; ``client(address)`` talks to it as a peer with that address."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")


def new_kek() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTWARDEN_")}
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict[str, str], *, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jwtwarden", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


class ServerProcess:
    """One ``jwtwarden serve`` subprocess; its JSON log goes to ``log_path``."""

    def __init__(
        self,
        env: dict[str, str],
        port: int,
        log_path: Path,
        *,
        workers: int | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.env = env
        self.port = port
        self.log_path = log_path
        self.base_url = f"http://127.0.0.1:{port}"
        self._log = log_path.open("ab")
        more = [] if workers is None else ["--workers", str(workers)]
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jwtwarden",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *more,
            ],
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=self._log,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()[-3000:]}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def _account_and_env(
    folder: Path, user: tuple[str, str], env: dict[str, str] | None
) -> tuple[dict[str, str], int]:
    """The environment of a development server on a free port (data in ``folder``, issuer its
    own loopback URL, ``env`` added), with ``user`` (email, password) created through the CLI
    as the README shows it (``users create EMAIL --password-stdin --create-database``)."""
    port = free_port()
    full = clean_env(
        {
            "JWTWARDEN_DATA_DIR": str(folder / "data"),
            "JWTWARDEN_ISSUER": f"http://127.0.0.1:{port}",
            **(env or {}),
        }
    )
    made = run_cli(
        ["users", "create", user[0], "--password-stdin", "--create-database"],
        full,
        stdin=user[1] + "\n",
    )
    assert made.returncode == 0, made.stderr
    return full, port


@contextmanager
def _running(full: dict[str, str], port: int, folder: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(full, port, folder / "server.log")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


@contextmanager
def serve_with_account(
    folder: Path, user: tuple[str, str], env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """``jwtwarden serve`` in development mode (``_account_and_env``) with one account; stops
    the server afterwards. Its settings are ``process.env``."""
    full, port = _account_and_env(folder, user, env)
    with _running(full, port, folder) as process:
        yield process


@contextmanager
def serve_with_client(
    folder: Path,
    user: tuple[str, str],
    client_args: list[str],
    env: dict[str, str] | None = None,
) -> Iterator[tuple[ServerProcess, dict[str, Any]]]:
    """As ``serve_with_account``, with one client registered before the start
    (``clients create CLIENT_ARGS --json``). Yields the running server and the client's JSON."""
    full, port = _account_and_env(folder, user, env)
    done = run_cli(["clients", "create", *client_args, "--json"], full)
    assert done.returncode == 0, done.stderr
    with _running(full, port, folder) as process:
        yield process, dict(json.loads(done.stdout))
