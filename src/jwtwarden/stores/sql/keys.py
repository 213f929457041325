"""``SQLKeyStore``: signing keys and their lifecycle in the server's database, so several
server processes share one key ring (a key rotated by one is used and published by all).

Private keys are sealed exactly like ``DirectoryKeyStore``'s files (the same
``jwtwarden.keys.sealing.KeySealer``): AES-256-GCM (``cryptography``'s ``AESGCM``) under the KEK
from ``$JWTWARDEN_KEK``, a random 96-bit nonce per write, and the record's whole metadata
(kid, alg, use, environment, state, dates) as the associated data, so editing a row's state
or moving a sealed key to another row makes it undecryptable rather than silently changing
which key signs.

``KeyStore`` is synchronous (the ``KeyRing`` is); the database drivers are async. Queries run
on a private event loop in a daemon thread with its own small engine; call the store from
ordinary threads (``asyncio.to_thread`` from async code), never from that loop.
``lock()`` holds a PostgreSQL advisory lock (or, on SQLite, an ``flock`` beside the database
file) so two processes never decide a rotation at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Coroutine, Iterator, Mapping
from typing import Any, TypeVar

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ..._files import exclusive_file_lock
from ...errors import JWTWardenError, KeyEnvironmentError, KeyStoreError
from ...keys._store_rules import check_record_environment, reentrant
from ...keys.records import KeyRecord
from ...keys.sealing import KEK_BYTES, METADATA, KeySealer, decode_kek
from .engine import async_url, create_engine
from .schema import signing_keys as kt

__all__ = ["SQLKeyStore"]

T = TypeVar("T")
_ADVISORY_LOCK = "SELECT pg_advisory_lock(hashtext('jwtwarden.signing_keys'))"
_ADVISORY_UNLOCK = "SELECT pg_advisory_unlock(hashtext('jwtwarden.signing_keys'))"
_TIMEOUT = 30.0


class _Loop:
    """An event loop in a daemon thread, for running async queries from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="jwtwarden-keystore", daemon=True
        )
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("SQLKeyStore cannot be called from its own event loop")
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(_TIMEOUT)

    def close(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()


class SQLKeyStore:
    """Key records in ``jw_signing_keys``, private keys sealed under a KEK.

    Parameters:
        url: the database URL (PostgreSQL or SQLite), as for ``create_engine``.
        environment: the environment this store serves; rows of another are refused.
        kek: the 32-byte key-encryption key; default: base64url from ``$kek_env``.
        schema: PostgreSQL schema (``search_path``).

    Raises:
        KeyStoreError: no KEK (a database of keys is never stored in clear).

    Example:
        >>> store = SQLKeyStore(  # doctest: +SKIP
        ...     "postgresql://app@db/auth", environment="production")
    """

    def __init__(
        self,
        url: str | URL,
        *,
        environment: str,
        kek: bytes | None = None,
        kek_env: str = "JWTWARDEN_KEK",
        environ: Mapping[str, str] | None = None,
        schema: str | None = None,
    ) -> None:
        self.environment = environment
        if kek is None:
            encoded = (os.environ if environ is None else environ).get(kek_env)
            if not encoded:
                raise KeyStoreError(
                    f"the database key store needs a key-encryption key: set ${kek_env} to the "
                    f"base64url encoding of {KEK_BYTES} random bytes"
                )
            kek = decode_kek(encoded, f"${kek_env}")
        self._sealer = KeySealer(kek, medium="row")  # ValueError unless 32 bytes
        parsed = async_url(url)
        self._sqlite_path = (
            (parsed.database or "") if parsed.get_backend_name() == "sqlite" else None
        )
        self._engine: AsyncEngine = create_engine(parsed, schema=schema, pool_size=2)
        self._postgres = self._engine.dialect.name == "postgresql"
        insert_fn: Any = pg_insert if self._postgres else sqlite_insert
        stmt = insert_fn(kt)
        self._upsert = stmt.on_conflict_do_update(
            index_elements=[kt.c.kid],
            set_={c.name: stmt.excluded[c.name] for c in kt.c if c.name != "kid"},
        )
        self._loop = _Loop()
        self._mutex = threading.RLock()
        self._opened: dict[tuple[Any, ...], KeyRecord] = {}
        self._local = threading.local()

    # --- the KeyStore protocol --------------------------------------------------------------

    def load(self) -> list[KeyRecord]:
        """Every record, keys decrypted.

        Raises:
            KeyEnvironmentError: a row records a key of another environment.
            KeyStoreError: the database cannot be read, or a row cannot be decrypted.
        """
        rows = self._run(self._select())
        # Every process re-reads the store every few seconds (KeyRing's refresh); opening a
        # row (AEAD, then importing the private key: milliseconds for RSA) is done once per
        # exact row. The cache key is every column the opening reads, so a row changed in any
        # way (state, dates, a new seal, another KEK or environment) is opened, and checked,
        # again; rows no longer in the store leave the cache with this load.
        opened: dict[tuple[Any, ...], KeyRecord] = {}
        records = []
        for row in rows:
            cache_key = (
                row.kek_id,
                row.nonce,
                row.sealed,
                *(getattr(row, name) for name in METADATA),
            )
            record = self._opened.get(cache_key)
            if record is None:
                record = self._parse(row)
            opened[cache_key] = record
            records.append(record)
        self._opened = opened
        return records

    def save(self, record: KeyRecord) -> None:
        """Insert or replace one record (one statement: atomic).

        Raises:
            KeyEnvironmentError: the record's key belongs to another environment.
            KeyStoreError: the write failed.
        """
        if not isinstance(record, KeyRecord):
            raise TypeError("save takes a KeyRecord")
        check_record_environment(record, self.environment)
        metadata, nonce, sealed = self._sealer.seal(record)
        row = {
            **metadata,
            "private": record.key.is_private,
            "kek_id": self._sealer.kek_id,
            "nonce": nonce,
            "sealed": sealed,
            "updated_at": _now(),
        }
        self._run(self._write(self._upsert.values(**row)), f"cannot write key {record.kid[:64]!r}")

    def delete(self, kid: str) -> None:
        """Remove a record (an absent kid is not an error)."""
        self._run(self._write(delete(kt).where(kt.c.kid == kid)), f"cannot delete {kid[:64]!r}")

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the cross-process lock of this key ring; re-entrant within a thread."""
        return reentrant(self._local, self._exclusive)

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        with self._mutex, self._cross_process_lock():
            yield

    def close(self) -> None:
        """Dispose of the engine and stop the private loop."""
        with contextlib.suppress(Exception):
            self._loop.run(self._engine.dispose())
        self._loop.close()

    # --- internals --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _cross_process_lock(self) -> Iterator[None]:
        if self._sqlite_path in ("", ":memory:"):
            # An in-memory database lives in this process only: the mutex is the whole lock
            # (a lock file would be created in whatever the working directory is).
            yield
            return
        if self._sqlite_path is not None:
            with contextlib.ExitStack() as held:
                try:
                    held.enter_context(exclusive_file_lock(self._sqlite_path + ".keys.lock"))
                except OSError as exc:
                    raise KeyStoreError(f"cannot lock the key store: {exc.strerror}") from None
                yield
            return
        conn: AsyncConnection = self._run(self._advisory_lock(), "cannot lock the key store")
        try:
            yield
        finally:
            self._run(self._advisory_unlock(conn), "cannot unlock the key store")

    async def _advisory_lock(self) -> AsyncConnection:
        conn = await self._engine.connect()
        try:
            await conn.execute(text(_ADVISORY_LOCK))
            await conn.commit()
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _advisory_unlock(self, conn: AsyncConnection) -> None:
        try:
            await conn.execute(text(_ADVISORY_UNLOCK))
            await conn.commit()
        finally:
            await conn.close()

    def _run(self, coro: Coroutine[Any, Any, T], what: str = "cannot read the key store") -> T:
        try:
            return self._loop.run(coro)
        except JWTWardenError:
            raise
        except Exception as exc:
            # Driver messages may quote parameters (sealed keys); name the type only.
            raise KeyStoreError(f"{what}: {type(exc).__name__}") from None

    async def _select(self) -> list[Any]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(select(kt).order_by(kt.c.kid))).all())

    async def _write(self, stmt: Any) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    def _parse(self, row: Any) -> KeyRecord:
        label = f"key {str(row.kid)[:64]!r}"
        if row.environment != self.environment:
            raise KeyEnvironmentError(
                f"{label} is recorded for environment {row.environment!r}, not "
                f"{self.environment!r}; keys are never shared across environments"
            )
        if row.kek_id != self._sealer.kek_id:
            raise KeyStoreError(f"{label} is sealed under another key-encryption key")
        metadata = {name: getattr(row, name) for name in METADATA}
        metadata["revoked"] = bool(metadata["revoked"])
        return self._sealer.open(
            label, metadata, row.nonce, row.sealed, environment=self.environment
        )

    def __repr__(self) -> str:
        return (
            f"SQLKeyStore(environment={self.environment!r}, dialect={self._engine.dialect.name!r})"
        )


def _now() -> float:
    import time

    return time.time()
