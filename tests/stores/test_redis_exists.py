"""The pipelined denylist reader: right answers under concurrency, and fail closed on every
kind of trouble (refused set-up, a server that goes away, a reply out of protocol)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from jwtwarden.errors import RevocationUnavailableError
from jwtwarden.stores._redis_exists import ExistsReader, ReaderError, reader_for
from jwtwarden.stores.redis import RedisDenylist, redis_client


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    redis = redis_client(redis_url)
    try:
        yield redis
    finally:
        await redis.aclose()


async def test_should_answer_each_of_many_concurrent_lookups_with_its_own_key(
    client: aioredis.Redis,
) -> None:
    prefix = f"jwtwarden-test-{secrets.token_hex(4)}:"
    denylist = RedisDenylist(client, prefix=prefix, fast_reads=True)
    assert denylist._reader is not None  # the plain-TCP client gets the pipelined reader
    denied = [f"jti-{i}" for i in range(0, 200, 3)]
    for jti in denied:
        await denylist.deny_token(jti, until=9_999_999_999)
    try:
        answers = await asyncio.gather(
            *(denylist.is_denied(jti=f"jti-{i}", sid=None) for i in range(200))
        )
        assert answers == [f"jti-{i}" in denied for i in range(200)]
    finally:
        await client.delete(*[prefix + "deny:j:" + jti for jti in denied])
        await denylist.aclose()


async def test_should_fail_closed_when_redis_refuses_the_connection_set_up(
    redis_url: str,
) -> None:
    # This Redis has no password: AUTH is answered with an error, never "+OK".
    redis = aioredis.Redis.from_url(redis_url, password="not-the-password")
    denylist = RedisDenylist(redis, fast_reads=True)
    try:
        with pytest.raises(RevocationUnavailableError):
            await denylist.is_denied(jti="a", sid="b")
    finally:
        await denylist.aclose()
        await redis.aclose()


async def _fake_redis(reply: bytes) -> tuple[asyncio.Server, int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        writer.write(reply)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize(
    "reply",
    [b"-ERR something\r\n", b"$5\r\nhello\r\n", b"+OK\r\n", b":x1\r\n", b""],
    ids=["error", "bulk string", "status", "not a number", "connection closed"],
)
async def test_should_fail_closed_on_any_reply_but_an_integer(reply: bytes) -> None:
    server, port = await _fake_redis(reply)
    reader = ExistsReader(host="127.0.0.1", port=port, timeout=2.0)
    try:
        with pytest.raises(ReaderError):
            await reader.exists(["k"])
    finally:
        await reader.aclose()
        server.close()
        await server.wait_closed()


async def test_should_fail_closed_when_redis_does_not_answer_in_time() -> None:
    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader = ExistsReader(host="127.0.0.1", port=port, timeout=0.2)
    try:
        with pytest.raises(ReaderError):
            await reader.exists(["k"])
    finally:
        await reader.aclose()
        done.set()
        server.close()
        await server.wait_closed()


def test_should_leave_tls_clients_to_redis_py() -> None:
    tls = aioredis.Redis.from_url("rediss://127.0.0.1:6380/0")
    assert reader_for(tls, timeout=0.5) is None
    plain = aioredis.Redis.from_url("redis://127.0.0.1:6379/2")
    assert reader_for(plain, timeout=0.5) is not None
