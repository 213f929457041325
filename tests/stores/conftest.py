from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from jwtwarden.stores.sql import create_engine

from .dbs import DB, migrated


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DB]:
    with migrated(request.param, request, tmp_path) as database:
        yield database


@pytest.fixture
async def engine(db: DB) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db.url, schema=db.schema)
    yield eng
    await eng.dispose()
