"""``SQLClientStore`` (the ``ClientStore`` port) and ``SQLAssertionReplayStore`` (single use
of ``private_key_jwt`` assertions) on SQL, with their tables (migration 0003).

A client's registration is one JSON column (read and written whole, like the record it is);
its secrets are rows of their own, keyed by their HMAC digest, so a rotation is a few
statements in one transaction that locks the client's row first: two concurrent rotations
run one after the other and leave exactly one current secret.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    exc,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ...clock import SYSTEM_CLOCK, Clock
from ...oauth._codec import client_from_stored, registration_json
from ...oauth.clients import Client, ClientSecretHash
from .driver import AttributeRow, DriverStatement, driver_connection
from .failures import translates_driver_errors
from .schema import metadata

__all__ = [
    "SQLAssertionReplayStore",
    "SQLClientStore",
    "assertion_jtis",
    "client_secrets",
    "clients",
]

clients = Table(
    "jw_oauth_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("client_type", String(16), nullable=False),
    Column("auth_method", String(32), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("updated_at", Double, nullable=False),
    Column("registration", Text, nullable=False),
    # The admin listing's order: a page is a walk of this index (as jw_users, migration 0002).
    Index("ix_jw_oauth_clients_created_at_id", "created_at", "client_id"),
)

client_secrets = Table(
    "jw_oauth_client_secrets",
    metadata,
    Column("digest", LargeBinary(64), primary_key=True),
    Column(
        "client_id",
        String(64),
        ForeignKey("jw_oauth_clients.client_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", Double, nullable=False),
    Column("expires_at", Double, nullable=True),
)

assertion_jtis = Table(
    "jw_oauth_assertion_jtis",
    metadata,
    # SHA-256 of (client_id, jti): bounded, and a jti of one client never blocks another's.
    Column("key", LargeBinary(32), primary_key=True),
    Column("expires_at", Double, nullable=False),
    Index("ix_jw_oauth_assertion_jtis_expires_at", "expires_at"),
)


def _secret(row: Any) -> ClientSecretHash:
    return ClientSecretHash(
        digest=bytes(row.digest), created_at=row.created_at, expires_at=row.expires_at
    )


# One statement for a client and its secrets (oldest first), for the asyncpg pool: a client
# without secrets is one row whose secret columns are NULL.
_GET_PG = DriverStatement(
    select(
        clients,
        client_secrets.c.digest,
        client_secrets.c.created_at.label("secret_created_at"),
        client_secrets.c.expires_at.label("secret_expires_at"),
    )
    .select_from(
        clients.outerjoin(client_secrets, client_secrets.c.client_id == clients.c.client_id)
    )
    .where(clients.c.client_id == bindparam("cid"))
    .order_by(client_secrets.c.created_at)
)


def _joined_secret(record: Any) -> ClientSecretHash:
    return ClientSecretHash(
        digest=bytes(record["digest"]),
        created_at=record["secret_created_at"],
        expires_at=record["secret_expires_at"],
    )


def _client(row: Any, secrets: tuple[ClientSecretHash, ...]) -> Client:
    return client_from_stored(
        client_id=row.client_id,
        name=row.name,
        client_type=row.client_type,
        auth_method=row.auth_method,
        disabled=bool(row.disabled),
        created_at=row.created_at,
        registration=row.registration,
        secrets=secrets,
    )


def _columns(client: Client, now: float) -> dict[str, Any]:
    return {
        "name": client.name,
        "client_type": client.type.value,
        "auth_method": client.token_endpoint_auth_method,
        "disabled": client.disabled,
        "updated_at": now,
        "registration": registration_json(client),
    }


@translates_driver_errors
class SQLClientStore:
    """Registered clients in ``jw_oauth_clients`` and ``jw_oauth_client_secrets``."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock
        self._postgres = engine.dialect.name == "postgresql"

    async def get(self, client_id: str) -> Client | None:
        if self._postgres:
            # Every client authentication and authorization request reads this: the asyncpg
            # pool directly (stores/sql/driver.py), one statement for the client and its
            # secrets, no BEGIN/COMMIT and no pre-ping round trip.
            async with driver_connection(self.engine) as driver:
                rows = await driver.fetch(_GET_PG.sql, *_GET_PG.args({"cid": client_id}))
            if not rows:
                return None
            found = tuple(_joined_secret(r) for r in rows if r["digest"] is not None)
            return _client(AttributeRow(rows[0]), found)
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(clients).where(clients.c.client_id == client_id))
            ).first()
            if row is None:
                return None
            secrets = await self._secrets(conn, [client_id])
        return _client(row, secrets.get(client_id, ()))

    @staticmethod
    async def _secrets(
        conn: AsyncConnection, ids: list[str]
    ) -> dict[str, tuple[ClientSecretHash, ...]]:
        stmt = (
            select(client_secrets)
            .where(client_secrets.c.client_id.in_(ids))
            .order_by(client_secrets.c.created_at)
        )
        out: dict[str, list[ClientSecretHash]] = {}
        for row in await conn.execute(stmt):
            out.setdefault(row.client_id, []).append(_secret(row))
        return {key: tuple(value) for key, value in out.items()}

    async def create(self, client: Client) -> None:
        values = {"client_id": client.client_id, "created_at": client.created_at}
        values.update(_columns(client, client.created_at))
        try:
            async with self.engine.begin() as conn:
                await conn.execute(insert(clients).values(**values))
                for record in client.secret_hashes:
                    await conn.execute(
                        insert(client_secrets).values(
                            digest=record.digest,
                            client_id=client.client_id,
                            created_at=record.created_at,
                            expires_at=record.expires_at,
                        )
                    )
        except exc.IntegrityError:
            raise ValueError("a client with this client_id exists") from None

    async def list(self, *, limit: int = 100, after: str | None = None) -> list[Client]:
        stmt = select(clients).order_by(clients.c.created_at, clients.c.client_id).limit(limit)
        async with self.engine.connect() as conn:
            if after is not None:
                cursor = (
                    await conn.execute(
                        select(clients.c.created_at).where(clients.c.client_id == after)
                    )
                ).scalar()
                if cursor is None:
                    return []
                stmt = stmt.where(
                    tuple_(clients.c.created_at, clients.c.client_id) > tuple_(cursor, after)
                    if self.engine.dialect.name == "postgresql"
                    else or_(
                        clients.c.created_at > cursor,
                        and_(clients.c.created_at == cursor, clients.c.client_id > after),
                    )
                )
            rows = list(await conn.execute(stmt))
            secrets = await self._secrets(conn, [row.client_id for row in rows])
        return [_client(row, secrets.get(row.client_id, ())) for row in rows]

    async def update(self, client: Client) -> bool:
        stmt = (
            update(clients)
            .where(clients.c.client_id == client.client_id)
            .values(**_columns(client, self.clock.now()))
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def set_disabled(self, client_id: str, disabled: bool) -> bool:
        stmt = (
            update(clients)
            .where(clients.c.client_id == client_id)
            .values(disabled=disabled, updated_at=self.clock.now())
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def rotate_secret(
        self, client_id: str, new: ClientSecretHash, *, previous_expires_at: float, now: float
    ) -> bool:
        lock = select(clients.c.client_id).where(clients.c.client_id == client_id)
        if self.engine.dialect.name == "postgresql":
            lock = lock.with_for_update()  # SQLite: BEGIN IMMEDIATE already serialises writers
        of_client = client_secrets.c.client_id == client_id
        async with self.engine.begin() as conn:
            if (await conn.execute(lock)).first() is None:
                return False
            await conn.execute(
                delete(client_secrets).where(of_client, client_secrets.c.expires_at.is_not(None))
            )
            await conn.execute(
                update(client_secrets)
                .where(of_client, client_secrets.c.expires_at.is_(None))
                .values(expires_at=max(now, previous_expires_at))
            )
            await conn.execute(
                insert(client_secrets).values(
                    digest=new.digest, client_id=client_id, created_at=new.created_at
                )
            )
            await conn.execute(
                update(clients).where(clients.c.client_id == client_id).values(updated_at=now)
            )
        return True

    async def delete(self, client_id: str) -> bool:
        async with self.engine.begin() as conn:
            # Secrets first: SQLite enforces the foreign key's cascade only when told to.
            await conn.execute(
                delete(client_secrets).where(client_secrets.c.client_id == client_id)
            )
            result = await conn.execute(delete(clients).where(clients.c.client_id == client_id))
        return result.rowcount == 1

    async def purge_expired_secrets(self, now: float) -> int:
        """Delete rotated-out secrets whose overlap ended (the chores run it)."""
        stmt = delete(client_secrets).where(
            client_secrets.c.expires_at.is_not(None), client_secrets.c.expires_at <= now
        )
        async with self.engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount


@translates_driver_errors
class SQLAssertionReplayStore:
    """``AssertionReplayStore`` in ``jw_oauth_assertion_jtis``: the primary key makes the
    first insert of a key win and every later one fail, across processes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def use_once(self, key: bytes, *, expires_at: float, now: float) -> bool:
        by_key = assertion_jtis.c.key == key  # the primary key: one index lookup each
        try:
            async with self.engine.begin() as conn:
                seen = (
                    await conn.execute(select(assertion_jtis.c.expires_at).where(by_key))
                ).scalar()
                if seen is not None:
                    if seen > now:
                        return False
                    # An expired marker (not purged yet) stands for an assertion refused as
                    # expired anyway: it makes way for the new one.
                    await conn.execute(delete(assertion_jtis).where(by_key))
                await conn.execute(insert(assertion_jtis).values(key=key, expires_at=expires_at))
        except exc.IntegrityError:
            return False  # a concurrent first use of the same key won
        return True

    async def purge(self, now: float) -> int:
        """Delete markers whose assertion has expired."""
        async with self.engine.begin() as conn:
            stmt = delete(assertion_jtis).where(assertion_jtis.c.expires_at <= now)
            return (await conn.execute(stmt)).rowcount
