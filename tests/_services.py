"""PostgreSQL and Redis for the test suite, without touching anyone's servers.

``scripts/test`` runs ``python -m tests._services up STATE_DIR`` before pytest and
``python -m tests._services down STATE_DIR`` after it. ``up`` prints the shell lines that set
``JWTWARDEN_TEST_POSTGRES_URL`` and ``JWTWARDEN_TEST_REDIS_URL``, chosen in this order:

1. a URL already set in the environment is used exactly as it is;
2. otherwise the server on its standard loopback port, when it answers with the documented
   defaults (PostgreSQL: user ``postgres`` without a password, database ``test``; Redis: no
   password), is used as it is: nothing is changed on it (no password, role or setting);
3. otherwise a **throwaway** instance is started from the installed binaries in ``STATE_DIR``
   on a free port (PostgreSQL's ``initdb`` refuses root, so as root it runs as the ``postgres``
   user, or as an unprivileged ``jwtwarden-test`` user it creates), and ``down`` stops it and
   removes its files. When the binaries are missing, Debian's packages are installed, and that
   is said first.

Tests use Redis database 11 with key prefixes of their own, never database 0 of someone's Redis.
The reliability tests (which kill and restart servers) start throwaway instances of their own
through :func:`start_postgres` and :func:`start_redis`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "REDIS_TEST_DB",
    "ThrowawayPostgres",
    "ThrowawayRedis",
    "free_port",
    "start_postgres",
    "start_redis",
]

REDIS_TEST_DB = 11
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_TEST_DB}"
UNPRIVILEGED_USER = "jwtwarden-test"


def say(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


# --- checks against servers that are already running (read-only) ---------------------------


def postgres_answers(url: str) -> bool:
    """True when ``url`` accepts a connection and ``select 1`` (no password prompt)."""
    import asyncpg

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(url, timeout=3)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        try:
            return bool(await conn.fetchval("select 1") == 1)
        finally:
            await conn.close()

    return asyncio.run(probe())


def redis_answers(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


# --- binaries ----------------------------------------------------------------------------


def _apt_install(package: str) -> None:
    say(f"{package} is not installed: installing Debian's package '{package}' (apt-get)")
    root = os.geteuid() == 0
    prefix = [] if root else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*prefix, "apt-get", "install", "-y", "-qq", package],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def postgres_bindir() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    which = shutil.which("initdb")
    return Path(which).resolve().parent if which else None


def _ensure_postgres_binaries() -> Path:
    bindir = postgres_bindir()
    if bindir is None:
        _apt_install("postgresql")
        bindir = postgres_bindir()
    if bindir is None:
        raise SystemExit("services: PostgreSQL's initdb and pg_ctl were not found")
    return bindir


def _ensure_redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        _apt_install("redis-server")
        found = shutil.which("redis-server")
    if found is None:
        raise SystemExit("services: redis-server was not found")
    return found


def _as_user(user: str | None) -> dict[str, object]:
    """subprocess arguments that run a child as ``user`` with that user's groups only.

    ``user=`` alone keeps root's group, and a root-owned 0701 folder then denies the child
    (the group bits apply, not the other bits)."""
    if user is None:
        return {}
    info = pwd.getpwnam(user)
    return {"user": info.pw_uid, "group": info.pw_gid, "extra_groups": []}


def _unprivileged_user() -> str | None:
    """The user to run PostgreSQL as (None: the current one, when it is not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", UNPRIVILEGED_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    say(f"running as root: creating the unprivileged system user '{UNPRIVILEGED_USER}'")
    subprocess.run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            UNPRIVILEGED_USER,
        ],
        check=True,
    )
    return UNPRIVILEGED_USER


# --- throwaway instances -----------------------------------------------------------------


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL cluster of its own in ``directory``, on ``port``, database ``test``."""

    directory: Path
    port: int
    bindir: Path
    user: str | None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/test"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            check=check,
            cwd=self.directory,
            **_as_user(self.user),  # type: ignore[arg-type]
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.directory} "
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        done = self._run(
            "pg_ctl", "-D", str(self.directory / "data"), "-l", str(self.directory / "pg.log"),
            "-o", options, "-w", "-t", "60", "start", check=False,
        )  # fmt: skip
        if done.returncode != 0:
            log = (self.directory / "pg.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr.decode()}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        self._run(
            "pg_ctl", "-D", str(self.directory / "data"), "-m", mode, "-w", "stop", check=False
        )

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl -m MODE restart`` with the options it was started with (postmaster.opts):
        ``immediate`` kills every backend without a checkpoint (a crash, recovered from the WAL
        at start), ``fast`` rolls back open transactions and disconnects every client."""
        done = self._run(
            "pg_ctl", "-D", str(self.directory / "data"), "-l", str(self.directory / "pg.log"),
            "-m", mode, "-w", "-t", "60", "restart", check=False,
        )  # fmt: skip
        if done.returncode != 0:
            log = (self.directory / "pg.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"PostgreSQL did not restart: {done.stderr.decode()}\n{log}")

    def remove(self) -> None:
        """Stop the cluster and delete its files."""
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL the postmaster (a crash, for fault injection)."""
        pid_file = self.directory / "data" / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGKILL)


def start_postgres(directory: Path, port: int | None = None) -> ThrowawayPostgres:
    """initdb a new cluster, start it, create database ``test``.

    The cluster lives in ``directory`` when it runs as the current user. Run as another user
    (as root), it lives in a new folder of its own under the system's temporary folder, owned by
    that user (``directory`` is often a 0700 folder of root's, such as pytest's, that the user
    cannot enter; its modes are never changed), and ``directory`` holds a link to it.
    """
    bindir = _ensure_postgres_binaries()
    user = _unprivileged_user()
    directory.mkdir(parents=True, exist_ok=True)
    if user is not None:
        info = pwd.getpwnam(user)
        own = Path(tempfile.mkdtemp(prefix="jwtwarden-pg-"))
        os.chown(own, info.pw_uid, info.pw_gid)
        (directory / "cluster").symlink_to(own)
        directory = own
    instance = ThrowawayPostgres(directory, port or free_port(), bindir, user)
    instance._run(
        "initdb", "-D", str(directory / "data"), "-U", "postgres", "--auth=trust",
        "-E", "UTF8", "--no-sync", "--locale=C",
    )  # fmt: skip
    instance.start()
    subprocess.run(
        [
            str(bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(instance.port),
            "-U",
            "postgres",
            "test",
        ],
        check=True,
        cwd=directory,
        **_as_user(user),  # type: ignore[arg-type]
    )
    return instance


@dataclass
class ThrowawayRedis:
    """A Redis server of its own, in memory only (no RDB, no AOF), on ``port``."""

    directory: Path
    port: int
    binary: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/{REDIS_TEST_DB}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.directory),
                "--logfile", str(self.directory / "redis.log"), "--daemonize", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        (self.directory / "redis.pid").write_text(str(self.process.pid))
        if not _wait_port(self.port, 20):
            raise RuntimeError("Redis did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)

    def pause(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            os.kill(self.process.pid, signal.SIGCONT)


def start_redis(directory: Path, port: int | None = None) -> ThrowawayRedis:
    binary = _ensure_redis_binary()
    directory.mkdir(parents=True, exist_ok=True)
    instance = ThrowawayRedis(directory, port or free_port(), binary)
    instance.start()
    return instance


# --- the command line scripts/test uses ------------------------------------------------------


def up(state: Path) -> dict[str, str]:
    state.mkdir(parents=True, exist_ok=True)
    started: dict[str, object] = {}
    urls: dict[str, str] = {}

    pg_url = os.environ.get("JWTWARDEN_TEST_POSTGRES_URL")
    if pg_url:
        say("PostgreSQL: JWTWARDEN_TEST_POSTGRES_URL is set; using it as it is")
    elif postgres_answers(DEFAULT_POSTGRES_URL):
        pg_url = DEFAULT_POSTGRES_URL
        say(f"PostgreSQL: using the server at {pg_url} (nothing on it is changed)")
    else:
        say("PostgreSQL: none answers at 127.0.0.1:5432 as postgres@test; starting a throwaway one")
        pg = start_postgres(state / "postgres")
        pg_url = pg.url
        started["postgres"] = {
            "directory": str(pg.directory),
            "bindir": str(pg.bindir),
            "user": pg.user,
        }
        say(f"PostgreSQL: throwaway instance at {pg_url}")
    urls["JWTWARDEN_TEST_POSTGRES_URL"] = pg_url

    redis_url = os.environ.get("JWTWARDEN_TEST_REDIS_URL")
    if redis_url:
        say("Redis: JWTWARDEN_TEST_REDIS_URL is set; using it as it is")
    elif redis_answers(DEFAULT_REDIS_URL):
        redis_url = DEFAULT_REDIS_URL
        say(
            f"Redis: using the server at 127.0.0.1:6379, database {REDIS_TEST_DB}, own key prefixes"
        )
    else:
        say("Redis: none answers at 127.0.0.1:6379; starting a throwaway one")
        rd = start_redis(state / "redis")
        redis_url = rd.url
        started["redis"] = {
            "directory": str(rd.directory),
            "pid": rd.process.pid if rd.process else None,
        }
        say(f"Redis: throwaway instance at {redis_url}")
    urls["JWTWARDEN_TEST_REDIS_URL"] = redis_url

    (state / "started.json").write_text(json.dumps(started))
    return urls


def down(state: Path) -> None:
    record = state / "started.json"
    if not record.exists():
        return
    started = json.loads(record.read_text())
    if "postgres" in started:
        info = started["postgres"]
        ThrowawayPostgres(Path(info["directory"]), 0, Path(info["bindir"]), info["user"]).remove()
        say("PostgreSQL: throwaway instance stopped")
    if "redis" in started and started["redis"].get("pid"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(started["redis"]["pid"]), signal.SIGTERM)
        say("Redis: throwaway instance stopped")
    record.unlink()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"up", "down"}:
        print("usage: python -m tests._services up|down STATE_DIR", file=sys.stderr)
        return 2
    state = Path(argv[1])
    if argv[0] == "up":
        for name, value in up(state).items():
            print(f"export {name}='{value}'")
    else:
        down(state)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
