"""The ``ClientStore`` and ``AssertionReplayStore`` contracts, run against every adapter: the
memory reference, SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from jwtwarden.oauth.client_secrets import SecretHasher
from jwtwarden.oauth.clients import Client, ClientSecretHash, ClientStore, ClientType
from jwtwarden.stores.memory import MemoryAssertionReplayStore, MemoryClientStore
from jwtwarden.stores.sql import SQLAssertionReplayStore, SQLClientStore, create_engine

from .dbs import migrated

NOW = 1_800_000_000.0
HASHER = SecretHasher(b"p" * 32)


@dataclass
class Stores:
    clients: ClientStore
    replay: Any


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "memory":
        yield Stores(MemoryClientStore(), MemoryAssertionReplayStore())
        return
    with migrated(request.param, request, tmp_path) as db:
        engine = create_engine(db.url, schema=db.schema)
        try:
            yield Stores(SQLClientStore(engine), SQLAssertionReplayStore(engine))
        finally:
            await engine.dispose()


def _confidential(client_id: str = "svc-1", created_at: float = NOW) -> tuple[Client, str]:
    secret, record = HASHER.new_secret(created_at)
    client = Client(
        client_id=client_id,
        name="Billing service",
        type=ClientType.CONFIDENTIAL,
        grant_types=frozenset({"client_credentials"}),
        scopes=frozenset({"items:read"}),
        audiences=("https://api.example.com",),
        access_token_ttl=300,
        token_endpoint_auth_method="client_secret_basic",
        created_at=created_at,
        secret_hashes=(record,),
    )
    return client, secret


def _public(client_id: str = "spa-1", created_at: float = NOW) -> Client:
    return Client(
        client_id=client_id,
        name="Web app",
        type=ClientType.PUBLIC,
        redirect_uris=("https://app.example.com/callback", "http://127.0.0.1/cb"),
        post_logout_redirect_uris=("https://app.example.com/",),
        created_at=created_at,
    )


async def test_should_round_trip_every_field_of_a_client(stores: Stores) -> None:
    client, _ = _confidential()
    jwks_client = Client(
        client_id="jwt-1",
        name="Signer",
        type=ClientType.CONFIDENTIAL,
        grant_types=frozenset({"client_credentials", "refresh_token"}),
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [{"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}]},
        refresh_idle_ttl=3600,
        refresh_absolute_ttl=7200,
        created_at=NOW + 1,
    )
    for original in (client, _public(), jwks_client):
        await stores.clients.create(original)
        assert await stores.clients.get(original.client_id) == original
        assert (await stores.clients.get(original.client_id)).jwks == original.jwks  # type: ignore[union-attr]


async def test_should_refuse_a_second_client_with_the_same_id(stores: Stores) -> None:
    await stores.clients.create(_public())
    with pytest.raises(ValueError, match="exists"):
        await stores.clients.create(_public())


async def test_should_answer_none_and_false_for_an_unknown_client(stores: Stores) -> None:
    client, _ = _confidential()
    assert await stores.clients.get("nobody") is None
    assert await stores.clients.update(replace(client, client_id="nobody")) is False
    assert await stores.clients.set_disabled("nobody", True) is False
    assert await stores.clients.delete("nobody") is False
    record = ClientSecretHash(digest=b"\x01" * 33, created_at=NOW)
    assert (
        await stores.clients.rotate_secret("nobody", record, previous_expires_at=NOW, now=NOW)
        is False
    )


async def test_should_page_through_clients_in_creation_order(stores: Stores) -> None:
    for index in range(5):
        await stores.clients.create(_public(f"c{4 - index}", created_at=NOW + index))
    first = await stores.clients.list(limit=2)
    assert [c.client_id for c in first] == ["c4", "c3"]
    rest = await stores.clients.list(limit=10, after="c3")
    assert [c.client_id for c in rest] == ["c2", "c1", "c0"]
    assert await stores.clients.list(after="gone") == []


async def test_should_update_the_registration_but_keep_secrets_and_creation_time(
    stores: Stores,
) -> None:
    client, secret = _confidential()
    await stores.clients.create(client)
    changed = replace(
        client, name="Renamed", scopes=frozenset({"a", "b"}), created_at=0.0, secret_hashes=()
    )
    assert await stores.clients.update(changed) is True
    stored = await stores.clients.get(client.client_id)
    assert stored is not None
    assert stored.name == "Renamed" and stored.scopes == {"a", "b"}
    assert stored.created_at == NOW
    assert HASHER.matches([secret], stored.secret_hashes, NOW)


async def test_should_disable_and_enable_idempotently(stores: Stores) -> None:
    await stores.clients.create(_public())
    for value in (True, True, False, False):
        assert await stores.clients.set_disabled("spa-1", value) is True
        stored = await stores.clients.get("spa-1")
        assert stored is not None and stored.disabled is value


async def test_should_keep_the_previous_secret_for_the_overlap_only(stores: Stores) -> None:
    client, old = _confidential()
    await stores.clients.create(client)
    new, record = HASHER.new_secret(NOW + 10)
    assert await stores.clients.rotate_secret(
        client.client_id, record, previous_expires_at=NOW + 100, now=NOW + 10
    )
    stored = await stores.clients.get(client.client_id)
    assert stored is not None
    assert HASHER.matches([old], stored.secret_hashes, NOW + 99)
    assert not HASHER.matches([old], stored.secret_hashes, NOW + 100)
    assert HASHER.matches([new], stored.secret_hashes, NOW + 10_000)
    # A second rotation drops the first secret at once, whatever its overlap was.
    newest, record2 = HASHER.new_secret(NOW + 20)
    await stores.clients.rotate_secret(
        client.client_id, record2, previous_expires_at=NOW + 200, now=NOW + 20
    )
    stored = await stores.clients.get(client.client_id)
    assert stored is not None
    assert len(stored.secret_hashes) == 2
    assert not HASHER.matches([old], stored.secret_hashes, NOW + 21)
    assert HASHER.matches([new], stored.secret_hashes, NOW + 21)
    assert HASHER.matches([newest], stored.secret_hashes, NOW + 21)


async def test_should_leave_one_current_secret_after_concurrent_rotations(stores: Stores) -> None:
    client, _ = _confidential()
    await stores.clients.create(client)
    records = [HASHER.new_secret(NOW + 1)[1] for _ in range(8)]
    await asyncio.gather(
        *(
            stores.clients.rotate_secret(
                client.client_id, record, previous_expires_at=NOW + 60, now=NOW + 1
            )
            for record in records
        )
    )
    stored = await stores.clients.get(client.client_id)
    assert stored is not None
    assert [r.expires_at for r in stored.secret_hashes].count(None) == 1
    assert len(stored.secret_hashes) == 2


async def test_should_delete_a_client_and_its_secrets(stores: Stores) -> None:
    client, secret = _confidential()
    await stores.clients.create(client)
    assert await stores.clients.delete(client.client_id) is True
    assert await stores.clients.get(client.client_id) is None
    # The same id can be registered again, with none of the old secrets.
    fresh, _ = _confidential()
    await stores.clients.create(replace(fresh, secret_hashes=fresh.secret_hashes))
    stored = await stores.clients.get(client.client_id)
    assert stored is not None and not HASHER.matches([secret], stored.secret_hashes, NOW)


async def test_should_accept_an_assertion_key_once_until_it_expires(stores: Stores) -> None:
    key = hashlib.sha256(secrets.token_bytes(16)).digest()
    assert await stores.replay.use_once(key, expires_at=NOW + 60, now=NOW) is True
    assert await stores.replay.use_once(key, expires_at=NOW + 60, now=NOW + 1) is False
    other = hashlib.sha256(b"other").digest()
    assert await stores.replay.use_once(other, expires_at=NOW + 60, now=NOW) is True
    assert await stores.replay.purge(NOW + 61) == 2


async def test_should_let_one_of_concurrent_uses_of_an_assertion_win(stores: Stores) -> None:
    key = hashlib.sha256(b"race").digest()
    results = await asyncio.gather(
        *(stores.replay.use_once(key, expires_at=NOW + 60, now=NOW) for _ in range(10))
    )
    assert results.count(True) == 1
