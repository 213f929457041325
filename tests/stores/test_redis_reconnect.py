"""``redis_client`` sends a command once more on a new connection when Redis closed the pooled
one (a restart, an idle timeout, ``CLIENT KILL``): plain commands and pipelines alike.

redis-py before 6 retried only errors named in ``retry_on_error`` (the lowest-versions leg of
issue 10 runs redis 5.2), so the first login after a Redis restart answered 503.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis

from jwtwarden.stores.redis import redis_client

pytestmark = pytest.mark.redis


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[tuple[Any, redis.Redis, str]]:
    # No health check: only the resend can save the command after its connection was closed.
    client = redis_client(redis_url, health_check_interval=0)
    # A synchronous client does the killing: the event loop does not run between the kill and
    # the next command, so the client cannot have seen the close before it sends (as after a
    # restart while the server was busy, which is when the 503 showed).
    killer = redis.Redis.from_url(redis_url)
    prefix = f"jwtwarden-test-{secrets.token_hex(4)}:"
    try:
        yield client, killer, prefix
    finally:
        keys = list(killer.scan_iter(match=prefix + "*"))
        if keys:
            killer.delete(*keys)
        await client.aclose()
        killer.close()


async def _kill_pooled_connection(client: Any, killer: redis.Redis) -> None:
    """Close, on the server side, the one connection ``client`` holds in its pool."""
    ident = await client.client_id()
    assert killer.client_kill_filter(_id=ident) == 1


async def test_should_resend_a_command_once_when_redis_closed_its_connection(
    clients: tuple[Any, redis.Redis, str],
) -> None:
    client, killer, prefix = clients
    await _kill_pooled_connection(client, killer)
    assert await client.set(prefix + "k", b"1") is True
    assert killer.get(prefix + "k") == b"1"


async def test_should_resend_a_pipeline_once_when_redis_closed_its_connection(
    clients: tuple[Any, redis.Redis, str],
) -> None:
    client, killer, prefix = clients
    await _kill_pooled_connection(client, killer)
    async with client.pipeline(transaction=True) as pipe:
        pipe.incr(prefix + "n")
        pipe.pexpire(prefix + "n", 60_000)
        assert await pipe.execute() == [1, True]
    assert killer.get(prefix + "n") == b"1"
