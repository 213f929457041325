"""Schema migrations (Alembic) for the auth server: ``jwtwarden db upgrade``.

Alembic runs its environment with ``asyncio.run``; call these from synchronous code (the CLI,
or a worker thread), not from inside a running event loop.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

__all__ = [
    "HEAD",
    "SchemaNotCurrentError",
    "alembic_config",
    "check_schema",
    "current_revision",
    "head_revision",
    "upgrade",
]

_HERE = Path(__file__).resolve().parent / "migrations"
HEAD = "head"


def alembic_config(url: str, *, schema: str | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations and this database."""
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["url"] = url
    config.attributes["schema"] = schema
    return config


def upgrade(url: str, *, schema: str | None = None, revision: str = HEAD) -> None:
    """Bring the database schema up to ``revision`` (default: the latest).

    Blocking. From inside a running event loop it runs in a helper thread (Alembic's
    environment starts its own loop), blocking the caller until done; prefer
    ``await asyncio.to_thread(upgrade, url)`` there.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(alembic_config(url, schema=schema), revision)
        return
    with ThreadPoolExecutor(1) as pool:
        pool.submit(command.upgrade, alembic_config(url, schema=schema), revision).result()


def head_revision() -> str:
    """The newest migration's revision id."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


async def current_revision(connection: object) -> str | None:
    """The revision a database is at (``None``: never migrated). Takes an ``AsyncConnection``."""
    from sqlalchemy.ext.asyncio import AsyncConnection

    assert isinstance(connection, AsyncConnection)

    def _get(sync_connection: object) -> str | None:
        return MigrationContext.configure(sync_connection).get_current_revision()  # type: ignore[arg-type]

    return await connection.run_sync(_get)


class SchemaNotCurrentError(RuntimeError):
    """The database schema is not at the newest migration."""


async def check_schema(engine: object) -> None:
    """Refuse to serve on a schema that is not current (production does not auto-migrate).

    Raises:
        SchemaNotCurrentError: with the command to run.
    """
    from sqlalchemy.ext.asyncio import AsyncEngine

    assert isinstance(engine, AsyncEngine)
    async with engine.connect() as conn:
        current = await current_revision(conn)
    head = head_revision()
    if current != head:
        raise SchemaNotCurrentError(
            f"the database schema is at {current or 'nothing'}, not {head}: "
            "run `jwtwarden db upgrade` first"
        )
