"""The SQL engine: the async URL, ``create_engine`` (pools, timeouts, SQLite's ``BEGIN
IMMEDIATE``) and the SQLite file's permissions. Every engine jwtwarden uses is made here.

Transactions that decide something (rotation, revocation) are single transactions with
conditional updates. On SQLite every transaction starts with ``BEGIN IMMEDIATE``, taking the
write lock up front, so two writers never both read "unspent" and both spend (and no deferred
transaction dies with SQLITE_BUSY half way through); ``busy_timeout`` makes the others wait.
On PostgreSQL (READ COMMITTED) the row lock of ``UPDATE ... WHERE spent_at IS NULL`` does the
same: of N concurrent spends of one token, one updates a row, the others update none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ..._files import check_private_file, create_private_file, private_directory
from .driver import ACQUIRE_TIMEOUT, attach_driver_pool

__all__ = ["async_url", "create_engine", "prepare_sqlite_file"]

_SQLITE_BUSY_TIMEOUT_MS = 15000
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal", ".keys.lock")


def async_url(url: str | URL) -> URL:
    """The SQLAlchemy URL with the async driver jwtwarden uses for this database.

    ``postgresql://`` / ``postgres://`` become ``postgresql+asyncpg://``; ``sqlite://``
    becomes ``sqlite+aiosqlite://``. Other databases are refused.

    Raises:
        ValueError: an unsupported database or driver.
    """
    raw = str(url) if isinstance(url, URL) else url
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    try:
        parsed = make_url(raw)
    except Exception:
        raise ValueError("the database URL cannot be parsed") from None
    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name()
    if backend == "postgresql":
        if driver not in ("asyncpg", "psycopg2", "psycopg", ""):
            raise ValueError(f"PostgreSQL is used through asyncpg, not {driver}")
        return parsed.set(drivername="postgresql+asyncpg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ValueError(f"unsupported database {backend!r}: use PostgreSQL or SQLite")


def create_engine(
    url: str | URL,
    *,
    schema: str | None = None,
    pool_size: int = 10,
    max_overflow: int = 0,
    statement_timeout: float | None = None,
    lock_timeout: float | None = None,
    pool_timeout: float = ACQUIRE_TIMEOUT,
) -> AsyncEngine:
    """An async engine set up for jwtwarden's transactions.

    Parameters:
        url: a PostgreSQL or SQLite URL (the async driver is chosen for you).
        schema: PostgreSQL only: the schema to use (``search_path``).
        pool_size, max_overflow: connection pool bounds (PostgreSQL). No overflow by default:
            an overflow connection is closed as soon as it is returned while ``pool_size``
            others are idle, so under sustained load the pool keeps opening connections (a
            TCP and TLS handshake, authentication, the dialect's set-up queries and a fresh
            prepared-statement cache each), which measured slower than waiting for a pooled
            connection (docs/benchmarks-server.md). On PostgreSQL the hot paths (refresh,
            login, the auth-version lookup) have an asyncpg pool of their own with the same
            bound (``stores.sql.driver``), so a process opens at most twice ``pool_size``
            connections, each pool only as many as it has needed at once.
        statement_timeout, lock_timeout: PostgreSQL only, seconds: set on every connection
            (``statement_timeout``, ``lock_timeout``), so a stalled database or a held lock
            ends a request with an error (503) instead of holding it past the client's own
            timeout. ``None``: the server's setting (migrations run without one).
        pool_timeout: seconds a request waits for a pooled connection (both pools).

    Every PostgreSQL connection pins ``synchronous_commit=on``: a rotation or a revocation
    that was answered is on disk, even where the server's default is ``off`` (which loses
    the last commits in a crash: a rotated refresh token would come back unspent).

    Raises:
        ValueError: an unsupported database, or ``schema`` with SQLite.
    """
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        if schema is not None:
            raise ValueError("a schema is only for PostgreSQL")
        prepare_sqlite_file(parsed.database)
        engine = create_async_engine(
            parsed, connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        _setup_sqlite(engine)
        return engine
    server_settings = {"synchronous_commit": "on"}
    if schema is not None:
        if not schema.replace("_", "").isalnum():
            raise ValueError("schema must be letters, digits and underscores")
        server_settings["search_path"] = schema
    for name, seconds in (("statement_timeout", statement_timeout), ("lock_timeout", lock_timeout)):
        if seconds is not None:
            server_settings[name] = f"{max(1, round(seconds * 1000))}ms"
    engine = create_async_engine(
        parsed,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # A connection that sat idle in this pool while PostgreSQL restarted is dead; without
        # the ping its first use after the restart failed that request (a logout answered 503
        # with PostgreSQL up again: tests/reliability, the crash scenario). One round trip per
        # checkout, on the paths off the hot one (the hot paths use the driver pool, whose
        # asyncpg connections notice the closed socket themselves).
        pool_pre_ping=True,
        pool_timeout=pool_timeout,
        connect_args={"server_settings": server_settings},
    )
    # The hot paths' own asyncpg pool (stores/sql/driver.py), bounded by the same size.
    attach_driver_pool(
        engine, size=pool_size, server_settings=server_settings, acquire_timeout=pool_timeout
    )
    return engine


def prepare_sqlite_file(database: str | None) -> None:
    """Create the SQLite database file ``0600`` in a ``0700`` directory before SQLite does.

    SQLite creates a missing database ``0644`` (less the umask), in whatever directory it is
    told; its ``-wal``, ``-shm`` and ``-journal`` side files take the database file's mode. So
    the file is created first, with its final mode, and an existing file, side file or
    directory that group or others can reach is refused with the ``chmod`` to run (the file
    holds argon2id hashes, e-mails and sessions). In-memory databases are left alone.

    Raises:
        ValueError: the directory or a file is open to group or others, or cannot be created.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    private_directory(path.parent if str(path.parent) else Path("."), what="database directory")
    for suffix in _SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        check_private_file(side, what="SQLite side file")
    create_private_file(path, what="SQLite database")


def _setup_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (the driver's implicit BEGIN is DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # WAL: readers never block the writer; several processes may share the file.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock when the transaction starts, not at its first write.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
