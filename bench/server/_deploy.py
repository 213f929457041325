"""The benchmark's deployment: a dedicated PostgreSQL schema, a Redis prefix, bulk-loaded users
and sessions with known refresh tokens, and the server processes (all on 127.0.0.1).

Sessions are written straight into the database with ``generate_series`` (1 million rows take
seconds, where a million HTTP logins would take hours of argon2id). Their refresh tokens are
derived from a per-run seed, ``jwtw_rt_`` + base64url(SHA-256(seed:i)), computed the same way
in SQL and in Python, so the load generator can be handed token ``i`` without the database ever
holding anything but its hash (as the server stores it).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PY = sys.executable

POSTGRES_URL = os.environ.get(
    "JWTWARDEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("JWTWARDEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "bench password " + "x" * 8  # the same for every bench user (each login still hashes)
INTROSPECTION_ID = "bench-resource-server"
INTROSPECTION_SECRET = "s" * 40
USERS = 100
SESSION_TTL = 30 * 86400
SCOPE = "api:read"  # the one server scope (JWTWARDEN_SCOPES); the peer's API scope too
PEER = ROOT / "tests" / "peers" / "oidc-provider"  # provider.mjs and its node_modules


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refresh_token(seed: str, index: int) -> str:
    """Token ``index`` of the bulk-loaded sessions (see the module docstring)."""
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    return "jwtw_rt_" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def user_email(index: int) -> str:
    return f"bench{index}@example.test"


# The same derivation in SQL: base64 of 32 bytes is 44 characters with one "=", no newline.
_TOKEN_SQL = (
    "'jwtw_rt_' || translate(rtrim(encode(sha256(convert_to($1 || ':' || i, 'UTF8')), "
    "'base64'), '='), '+/', '-_')"
)


@dataclass
class Database:
    """The bench schema and what has been loaded into it."""

    url: str
    schema: str
    seed: str = field(default_factory=lambda: secrets.token_hex(8))
    sessions: int = 0
    _next_token: int = 0

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.url, server_settings={"search_path": self.schema}, timeout=10
        )

    def tokens(self, count: int, *, start: int | None = None) -> list[str]:
        """``count`` never-used refresh tokens (from ``start`` if given, else the next ones)."""
        first = self._next_token if start is None else start
        if first + count > self.sessions:
            raise RuntimeError(f"only {self.sessions} sessions loaded; asked up to {first + count}")
        if start is None:
            self._next_token += count
        return [refresh_token(self.seed, i) for i in range(first, first + count)]

    def reserve(self, count: int) -> int:
        """Set ``count`` tokens aside for another process; returns the first index."""
        first = self._next_token
        self.tokens(count)
        return first

    async def load_users(self, password_hash: str) -> None:
        conn = await self._connect()
        try:
            await conn.execute(
                "INSERT INTO jw_users (id, email, password_hash, auth_version, is_admin, "
                "disabled, created_at) SELECT 'bench-user-' || u, 'bench' || u || "
                "'@example.test', $1, 1, false, false, $2 FROM generate_series(0, $3 - 1) u",
                password_hash,
                time.time(),
                USERS,
            )
        finally:
            await conn.close()

    async def load_sessions(self, upto: int) -> float:
        """Bulk-load sessions ``[self.sessions, upto)``, each with one live refresh token, then
        ``ANALYZE``; returns the seconds it took."""
        started = time.perf_counter()
        now = time.time()
        conn = await self._connect()
        try:
            lo, hi = self.sessions, upto
            step = 250_000
            for chunk in range(lo, hi, step):
                end = min(hi, chunk + step)
                await conn.execute(
                    "INSERT INTO jw_sessions (id, user_id, client_id, scope, auth_version, "
                    "created_at, expires_at) SELECT 'bench-s-' || i, 'bench-user-' || (i % $1), "
                    "'jwtwarden', '', 1, $2, $3 FROM generate_series($4::bigint, $5::bigint - 1) i",
                    USERS,
                    now,
                    now + SESSION_TTL,
                    chunk,
                    end,
                )
                await conn.execute(
                    "INSERT INTO jw_refresh_tokens (token_hash, session_id, issued_at, "
                    "expires_at) SELECT sha256(convert_to(t.tok, 'UTF8')), 'bench-s-' || t.i, "
                    f"$2, $3 FROM (SELECT i, {_TOKEN_SQL} AS tok FROM "
                    "generate_series($4::bigint, $5::bigint - 1) i) t",
                    self.seed,
                    now,
                    now + 14 * 86400,
                    chunk,
                    end,
                )
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
        self.sessions = upto
        return time.perf_counter() - started

    async def counts(self) -> dict[str, int]:
        conn = await self._connect()
        try:
            sessions = await conn.fetchval("SELECT count(*) FROM jw_sessions")
            tokens = await conn.fetchval("SELECT count(*) FROM jw_refresh_tokens")
            size = await conn.fetchval(
                "SELECT pg_total_relation_size('jw_refresh_tokens') + "
                "pg_total_relation_size('jw_sessions')"
            )
        finally:
            await conn.close()
        return {"sessions": int(sessions), "refresh_tokens": int(tokens), "bytes": int(size)}

    async def drop(self) -> None:
        conn = await asyncpg.connect(self.url, timeout=10)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        finally:
            await conn.close()


async def flush_redis(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*", count=1000)]
        for i in range(0, len(keys), 1000):
            await client.delete(*keys[i : i + 1000])
    finally:
        await client.aclose()


def check_services() -> None:
    """Fail with a clear message when PostgreSQL or Redis is not there."""
    for name, port in (("PostgreSQL", 5432), ("Redis", 6379)):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
        except OSError:
            sys.exit(f"bench/server: {name} is not reachable on 127.0.0.1:{port} (scripts/test)")


# --- processes ------------------------------------------------------------------------------


class Process:
    """A server process group on 127.0.0.1 (uvicorn parent plus workers); log to a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log: Path):
        self.name = name
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            argv, env=env, stdout=self._log, stderr=self._log, start_new_session=True
        )

    def wait_ready(self, path: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.name} exited early:\n{tail}")
            try:
                if httpx.get(self.base_url + path, timeout=1.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout} s")

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the parent), or the parent itself."""
        try:
            out = subprocess.run(
                ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
        except OSError:
            return [self.proc.pid]
        pids = [int(p) for p in out.split()]
        return pids or [self.proc.pid]

    def stop(self) -> None:
        if self.proc.poll() is None:
            # Our own process group only (start_new_session above): the parent and its workers.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


def uvicorn_argv(target: str, *, port: int, workers: int) -> list[str]:
    """The ceiling apps under the settings ``jwtwarden serve`` gives uvicorn."""
    return [
        PY,
        "-m",
        "uvicorn",
        target,
        "--factory",
        "--app-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--no-server-header",
        "--no-proxy-headers",
        "--lifespan",
        "on",
        "--log-level",
        "warning",
    ]


@dataclass
class Deployment:
    """Everything the scenarios need: URLs, the database, the environment of the servers."""

    db: Database
    workdir: Path
    redis_prefix: str
    kek: str
    workers: int
    processes: dict[str, Process] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. JWTWARDEN_DATABASE_POOL_SIZE

    def auth_env(self) -> dict[str, str]:
        port = self.ports.setdefault("auth", free_port())
        env = {k: v for k, v in os.environ.items() if not k.startswith("JWTWARDEN_")}
        env.update(
            {
                # Production-like: environment, KEK, keys in PostgreSQL, Redis denylist.
                "JWTWARDEN_ENVIRONMENT": "production",
                "JWTWARDEN_ISSUER": f"http://127.0.0.1:{port}",
                "JWTWARDEN_KEK": self.kek,
                "JWTWARDEN_DATABASE_URL": self.db.url,
                "JWTWARDEN_DATABASE_SCHEMA": self.db.schema,
                "JWTWARDEN_REDIS_URL": REDIS_URL,
                "JWTWARDEN_REDIS_PREFIX": self.redis_prefix,
                "JWTWARDEN_INTROSPECTION_CLIENT_ID": INTROSPECTION_ID,
                "JWTWARDEN_INTROSPECTION_CLIENT_SECRET": INTROSPECTION_SECRET,
                "JWTWARDEN_SCOPES": SCOPE,
                # The limiter still counts every login in Redis; it just never refuses here.
                "JWTWARDEN_RATE_LIMIT_LOGIN_ACCOUNT": "1000000000",
                "JWTWARDEN_RATE_LIMIT_LOGIN_ADDRESS": "1000000000",
                "JWTWARDEN_DATA_DIR": str(self.workdir / "data"),
                **self.extra_env,
            }
        )
        return env

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.ports['auth']}"

    def _cli(self, *args: str) -> str:
        """``jwtwarden ARGS`` with the auth server's environment; its stdout."""
        done = subprocess.run(
            [PY, "-m", "jwtwarden", *args],
            env=self.auth_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"jwtwarden {' '.join(args[:2])} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def migrate(self) -> None:
        self._cli("db", "upgrade")

    def create_client(self, *args: str) -> dict[str, Any]:
        """``jwtwarden clients create ARGS --json`` on the bench schema: the client's JSON
        (with its secret, printed once)."""
        return dict(json.loads(self._cli("clients", "create", *args, "--json")))

    def start_peer(self, config: dict[str, Any]) -> Process:
        """The reference provider (``tests/peers/oidc-provider/provider.mjs``: oidc-provider
        from npm, one Node process, its in-memory store) on a free port; stopped with the
        rest (``stop_all``)."""
        node = peer_node()
        if node is None:
            raise RuntimeError("node or tests/peers/oidc-provider/node_modules is missing")
        port = self.ports.setdefault("peer", free_port())
        path = self.workdir / "peer-config.json"
        path.write_text(json.dumps({**config, "port": port}))
        argv = [node, str(PEER / "provider.mjs"), "@" + str(path)]
        proc = Process("peer", argv, dict(os.environ), port, self.workdir / "peer.log")
        self.processes["peer"] = proc
        proc.wait_ready("/jwks", timeout=30)
        return proc

    def start_auth(self, workers: int | None = None) -> Process:
        n = workers or self.workers
        port = self.ports["auth"]
        argv = [PY, "-m", "jwtwarden", "serve", "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--workers", str(n)]
        proc = Process("auth", argv, self.auth_env(), port, self.workdir / f"auth-w{n}.log")
        self.processes["auth"] = proc
        proc.wait_ready("/healthz")
        _wait_for_workers(proc, n)
        return proc

    def start_app(self, name: str, target: str, env: dict[str, str], workers: int | None = None):
        n = workers or self.workers
        port = self.ports.setdefault(name, free_port())
        full = {**os.environ, **env}
        argv = uvicorn_argv(target, port=port, workers=n)
        proc = Process(name, argv, full, port, self.workdir / f"{name}-w{n}.log")
        self.processes[name] = proc
        proc.wait_ready("/healthz")
        _wait_for_workers(proc, n)
        return proc

    def stop(self, name: str) -> None:
        proc = self.processes.pop(name, None)
        if proc is not None:
            proc.stop()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)


def _wait_for_workers(proc: Process, workers: int) -> None:
    """With several workers the parent answers through whichever worker is up first: wait
    until every worker has started (each has its own pools to warm)."""
    if workers <= 1:
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(proc.worker_pids()) < workers:
        time.sleep(0.2)
    time.sleep(1.0)


def peer_node() -> str | None:
    """The node executable, if oidc-provider is installed (``npm ci`` in tests/peers/...)."""
    import shutil

    path = shutil.which("node")
    if path is None or not (PEER / "node_modules" / "oidc-provider" / "package.json").is_file():
        return None
    return path


def run(coro: Any) -> Any:
    return asyncio.run(coro)
