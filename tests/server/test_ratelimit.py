"""The login rate limiter under floods of fresh buckets: memory bounded, work per attempt
bounded, and no per-account state for an attempt its address already used up. Operation
counts and sizes, never wall time."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from jwtwarden import FixedClock
from jwtwarden.errors import RateLimitedError
from jwtwarden.server.ratelimit import LoginLimiter
from jwtwarden.stores.memory import MemoryRateLimiter
from jwtwarden.stores.redis import RedisRateLimiter

NOW = 1_800_000_000.0  # a multiple of 60: windows start on it
WINDOW = 60


class _CountingBucket(str):
    """A bucket name that counts how often the table hashes it: a rebuild of the table
    hashes every key in it, a constant-cost attempt only a few."""

    hashes = 0

    def __hash__(self) -> int:
        _CountingBucket.hashes += 1
        return str.__hash__(self)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


async def test_should_keep_attempt_cost_flat_with_100k_fresh_emails(clock: FixedClock) -> None:
    # The review's case: past 100,000 buckets every attempt rebuilt the whole table under the
    # lock (14 us -> 21 ms an attempt), so 25-30 fresh emails a second stalled a worker.
    limiter = MemoryRateLimiter(clock=clock)
    for i in range(100_001):
        await limiter.hit(_CountingBucket(f"login:acct:{i}"), limit=5, window=WINDOW)
    before = _CountingBucket.hashes
    for i in range(100):
        await limiter.hit(_CountingBucket(f"login:acct:fresh{i}"), limit=5, window=WINDOW)
    per_attempt = (_CountingBucket.hashes - before) / 100
    assert per_attempt <= 8, per_attempt  # a handful of dict operations, not 100,000
    assert len(limiter) <= 100_000


async def test_should_bound_memory_under_fresh_emails_from_fresh_addresses(
    clock: FixedClock,
) -> None:
    # A distributed flood: every attempt a new address and a new email, none refused.
    table = MemoryRateLimiter(clock=clock, max_buckets=1000)
    limiter = LoginLimiter(table, per_account=5, per_address=5, window=WINDOW)
    work_before = table.operations
    for i in range(5000):
        await limiter.check(account=f"user{i}@example.test", address=f"10.{i >> 8}.{i & 255}.1")
    assert len(table) == 1000
    assert table.evictions == 2 * 5000 - 1000
    # Two buckets created and at most two evicted per attempt: bounded work at any size.
    assert table.operations - work_before <= 4 * 5000


async def test_should_create_no_account_bucket_for_an_attempt_its_address_already_used_up(
    clock: FixedClock,
) -> None:
    table = MemoryRateLimiter(clock=clock)
    limiter = LoginLimiter(table, per_account=100, per_address=3, window=WINDOW)
    for i in range(3):
        await limiter.check(account=f"fresh{i}@example.test", address="192.0.2.7")
    for i in range(3, 1003):
        with pytest.raises(RateLimitedError) as caught:
            await limiter.check(account=f"fresh{i}@example.test", address="192.0.2.7")
        assert caught.value.retry_after == WINDOW
    assert len(table) == 1 + 3  # the address and the three accounts it was allowed to try


async def test_should_keep_a_hammered_bucket_through_a_flood_of_fresh_ones(
    clock: FixedClock,
) -> None:
    # Eviction is least recently counted: the account an attacker keeps guessing stays
    # refused however many fresh buckets arrive in between.
    table = MemoryRateLimiter(clock=clock, max_buckets=100)
    for _ in range(3):
        assert await table.hit("login:acct:target", limit=3, window=WINDOW) is None
    for i in range(10_000):
        await table.hit(f"login:acct:fresh{i}", limit=3, window=WINDOW)
        if i % 50 == 0:
            assert await table.hit("login:acct:target", limit=3, window=WINDOW) is not None
    assert len(table) == 100


async def test_should_drain_the_table_once_its_window_has_passed(clock: FixedClock) -> None:
    table = MemoryRateLimiter(clock=clock)
    for i in range(1000):
        await table.hit(f"login:acct:{i}", limit=5, window=WINDOW)
    clock.advance(WINDOW)
    for _ in range(500):
        await table.hit("login:addr:192.0.2.1", limit=1000, window=WINDOW)
    assert len(table) == 1


async def test_should_count_a_bucket_afresh_in_each_window(clock: FixedClock) -> None:
    table = MemoryRateLimiter(clock=clock)
    answers = [await table.hit("b", limit=2, window=WINDOW) for _ in range(3)]
    clock.advance(WINDOW - 1)
    late = await table.hit("b", limit=2, window=WINDOW)
    clock.advance(1)
    fresh = [await table.hit("b", limit=2, window=WINDOW) for _ in range(3)]
    assert answers == [None, None, WINDOW] and late == 1
    assert fresh == [None, None, WINDOW]
    assert len(table) == 1


@pytest.mark.parametrize("bound", [0, -1, True, 1.5])
def test_should_refuse_a_table_bound_that_cannot_work(bound: object) -> None:
    with pytest.raises(ValueError):
        MemoryRateLimiter(max_buckets=bound)  # type: ignore[arg-type]


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[tuple[aioredis.Redis, str]]:
    client = aioredis.Redis.from_url(redis_url)
    prefix = f"jwtwarden-test-rl-{secrets.token_hex(4)}:"
    try:
        yield client, prefix
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def _keys(client: aioredis.Redis, prefix: str) -> list[bytes]:
    return [key async for key in client.scan_iter(match=prefix + "*")]


async def test_should_create_no_redis_account_key_for_an_attempt_its_address_used_up(
    redis_client: tuple[aioredis.Redis, str], clock: FixedClock
) -> None:
    client, prefix = redis_client
    limiter = LoginLimiter(
        RedisRateLimiter(client, prefix=prefix, clock=clock),
        per_account=100,
        per_address=2,
        window=WINDOW,
    )
    refused = 0
    for i in range(50):
        try:
            await limiter.check(account=f"fresh{i}@example.test", address="192.0.2.9")
        except RateLimitedError:
            refused += 1
    assert refused == 48
    assert len(await _keys(client, prefix)) == 1 + 2


async def test_should_give_every_redis_rate_limit_key_an_expiry_within_its_window(
    redis_client: tuple[aioredis.Redis, str], clock: FixedClock
) -> None:
    client, prefix = redis_client
    table = RedisRateLimiter(client, prefix=prefix, clock=clock)
    for i in range(20):
        for _ in range(3):
            await table.hit(f"login:acct:{i}", limit=1, window=WINDOW)
    keys = await _keys(client, prefix)
    ttls = [await client.ttl(key) for key in keys]
    assert len(keys) == 20
    assert all(0 < ttl <= WINDOW + 1 for ttl in ttls), ttls
