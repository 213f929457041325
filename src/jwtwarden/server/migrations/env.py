"""Alembic environment: runs the migrations over the async engine jwtwarden uses.

The URL and the PostgreSQL schema come from the Alembic config's attributes (set by
``jwtwarden.server.migrate``), never from a file in the package.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import text

from jwtwarden.stores.sql import create_engine, metadata

config = context.config


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    url = config.attributes["url"]
    schema = config.attributes.get("schema")
    engine = create_engine(url, schema=schema, pool_size=1)
    try:
        async with engine.connect() as connection:
            if schema is not None:
                await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                await connection.commit()
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("jwtwarden migrations run online only (jwtwarden db upgrade)")
asyncio.run(_online())
