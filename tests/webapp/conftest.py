"""Fixtures of the web-app SDK tests: real Redis clients (database 11 through ``redis_url``)
and a key prefix of each test's own, whose keys are deleted afterwards."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis

from jwtwarden.stores.redis import redis_client


@pytest.fixture
def prefix() -> str:
    return f"jwtwarden-test-{secrets.token_hex(4)}:"


@pytest.fixture
async def async_redis(redis_url: str, prefix: str) -> AsyncIterator[Any]:
    client = redis_client(redis_url)
    try:
        yield client
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def sync_redis(redis_url: str, prefix: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    try:
        yield client
    finally:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()
