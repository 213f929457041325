"""The SQL key store (shared keys, sealed private keys), the chores lease, and the migrations
agreeing with the schema the adapters use."""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from jwtwarden.errors import KeyEnvironmentError, KeyStoreError
from jwtwarden.keys.generate import generate_key
from jwtwarden.keys.records import KeyRecord, KeyState
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.stores.sql import SQLKeyStore, SQLLease, metadata
from jwtwarden.stores.sql.schema import signing_keys

from .dbs import DB

KEK = secrets.token_bytes(32)


@pytest.fixture
def store(db: DB) -> Iterator[SQLKeyStore]:
    s = SQLKeyStore(db.url, environment="production", kek=KEK, schema=db.schema)
    yield s
    s.close()


def _record(environment: str = "production") -> KeyRecord:
    key = generate_key("ES256", token_use="access", environment=environment)
    return KeyRecord(key=key, state=KeyState.ACTIVE, publish_at=1.0, activate_at=2.0)


def test_should_round_trip_a_record_with_its_private_key(store: SQLKeyStore) -> None:
    record = _record()
    store.save(record)
    (loaded,) = store.load()
    assert loaded.kid == record.kid and loaded.state is KeyState.ACTIVE
    assert loaded.key.is_private and loaded.key.environment == "production"
    assert loaded.key.export_private_jwk() == record.key.export_private_jwk()
    store.save(loaded.moved(state=KeyState.RETIRING, retire_at=3.0, remove_at=4.0))
    (moved,) = store.load()
    assert moved.state is KeyState.RETIRING and moved.remove_at == 4.0
    store.delete(record.kid)
    store.delete(record.kid)
    assert store.load() == []


async def test_should_store_the_private_key_sealed_never_in_clear(
    store: SQLKeyStore, engine: AsyncEngine
) -> None:
    record = _record()
    store.save(record)
    d = record.key.export_private_jwk()["d"]
    async with engine.connect() as conn:
        row = (await conn.execute(text("SELECT * FROM jw_signing_keys"))).one()
    # The row is this key's, it holds a private key, and that key is there only sealed.
    assert (row.kid, row.alg, row.private) == (record.kid, "ES256", True)
    assert len(row.sealed) > len(d) and row.nonce
    assert d not in str(tuple(row))


async def test_should_refuse_a_row_whose_metadata_was_edited(
    store: SQLKeyStore, engine: AsyncEngine
) -> None:
    record = _record()
    store.save(record.moved(state=KeyState.PENDING, activate_at=100.0))
    async with engine.begin() as conn:
        # An attacker with database access makes a pending key active now.
        await conn.execute(update(signing_keys).values(state="active", activate_at=1.0))
    with pytest.raises(KeyStoreError) as info:
        store.load()
    assert "cannot be decrypted" in str(info.value)
    assert record.key.export_private_jwk()["d"] not in str(info.value)


class _CountingSealer:
    """The store's own sealer, counting how many rows it opens (and opening them itself)."""

    def __init__(self, sealer: Any) -> None:
        self.sealer = sealer
        self.opened = 0

    def open(self, *args: Any, **kwargs: Any) -> Any:
        self.opened += 1
        return self.sealer.open(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sealer, name)


def test_should_open_an_unchanged_row_once_and_a_changed_one_again(store: SQLKeyStore) -> None:
    counting = _CountingSealer(store._sealer)
    store._sealer = counting  # type: ignore[assignment]
    first, second = _record(), _record()
    store.save(first)
    store.save(second)
    assert {r.kid for r in store.load()} == {first.kid, second.kid}
    assert counting.opened == 2
    assert {r.kid for r in store.load()} == {first.kid, second.kid}
    assert counting.opened == 2  # the periodic re-read: nothing changed, nothing re-opened
    store.save(first.moved(state=KeyState.RETIRING, retire_at=3.0, remove_at=4.0))
    loaded = {r.kid: r for r in store.load()}
    assert counting.opened == 3 and loaded[first.kid].state is KeyState.RETIRING
    store.delete(second.kid)
    assert [r.kid for r in store.load()] == [first.kid] and counting.opened == 3


async def test_should_refuse_a_row_edited_after_it_was_loaded(
    store: SQLKeyStore, engine: AsyncEngine
) -> None:
    # The cache never answers for a row whose columns changed: the edit is opened, and refused.
    record = _record()
    store.save(record.moved(state=KeyState.PENDING, activate_at=100.0))
    (loaded,) = store.load()
    assert loaded.state is KeyState.PENDING
    async with engine.begin() as conn:
        await conn.execute(update(signing_keys).values(state="active", activate_at=1.0))
    with pytest.raises(KeyStoreError) as info:
        store.load()
    assert "cannot be decrypted" in str(info.value)


def test_should_refuse_another_kek_and_another_environment(store: SQLKeyStore, db: DB) -> None:
    store.save(_record())
    other = SQLKeyStore(
        db.url, environment="production", kek=secrets.token_bytes(32), schema=db.schema
    )
    try:
        with pytest.raises(KeyStoreError):
            other.load()
    finally:
        other.close()
    staging = SQLKeyStore(db.url, environment="staging", kek=KEK, schema=db.schema)
    try:
        with pytest.raises(KeyEnvironmentError):
            staging.load()
        with pytest.raises(KeyEnvironmentError):
            staging.save(_record("production"))
    finally:
        staging.close()


def test_should_refuse_to_start_without_a_kek(db: DB) -> None:
    with pytest.raises(KeyStoreError, match="key-encryption key"):
        SQLKeyStore(db.url, environment="production", environ={}, schema=db.schema)
    with pytest.raises(KeyStoreError):
        SQLKeyStore(db.url, environment="production", environ={"JWTWARDEN_KEK": "short"})
    encoded = base64.urlsafe_b64encode(KEK).rstrip(b"=").decode()
    ok = SQLKeyStore(
        db.url, environment="production", environ={"JWTWARDEN_KEK": encoded}, schema=db.schema
    )
    ok.close()


def test_should_let_two_rings_on_one_database_see_each_others_rotation(
    store: SQLKeyStore, db: DB
) -> None:
    second_store = SQLKeyStore(db.url, environment="production", kek=KEK, schema=db.schema)
    try:
        first, second = KeyRing(store), KeyRing(second_store)
        first.ensure(["access"])
        second.reload()
        assert second.signing_key("access").kid == first.signing_key("access").kid
        new = first.rotate("access", immediate=True)
        second.reload()
        assert second.signing_key("access").kid == new.kid
        assert new.kid in {k["kid"] for k in second.jwks()["keys"]}
    finally:
        second_store.close()


def test_should_serialise_key_changes_across_stores_with_its_lock(
    store: SQLKeyStore, db: DB
) -> None:
    other = SQLKeyStore(db.url, environment="production", kek=KEK, schema=db.schema)
    order: list[str] = []
    try:
        with store.lock():
            worker = threading.Thread(
                target=lambda: (other.lock().__enter__(), order.append("other"))
            )
            worker.start()
            worker.join(0.5)
            order.append("first-done")
        worker.join(10)
        assert order == ["first-done", "other"]
    finally:
        other.close()


async def test_should_give_the_chores_lease_to_one_holder_at_a_time(engine: AsyncEngine) -> None:
    a = SQLLease(engine, "chores", holder="a", ttl=60)
    b = SQLLease(engine, "chores", holder="b", ttl=60)
    assert await a.acquire(1000.0)
    assert not await b.acquire(1001.0)
    assert await a.acquire(1030.0)  # renewal
    assert await b.acquire(1091.0)  # a's lease lapsed
    assert not await a.acquire(1092.0)


async def test_should_have_migrations_that_match_the_schema_the_adapters_use(
    engine: AsyncEngine,
) -> None:
    def diff(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
