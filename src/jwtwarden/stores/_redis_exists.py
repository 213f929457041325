"""Denylist lookups on Redis without redis-py's per-command machinery: ``EXISTS`` pipelined on
one connection per process.

redis-py's asyncio client spends 75-100 us of CPU per command (pool checkout, retry wrapper,
response callbacks), and more under concurrency; a denylist lookup runs on every protected
request, and its round trip on loopback costs about a tenth of that. This reader speaks just
enough RESP2 (the Redis serialization protocol specification) for ``AUTH``, ``SELECT`` and
``EXISTS``: requests are written as length-prefixed bulk strings (no key can inject a
command), replies are matched to requests in order (Redis answers a connection in order), so
every concurrent lookup of a process shares one connection and one syscall per request.

Failures fail closed: any error, timeout or unexpected reply raises ``ReaderError`` (the
denylist turns it into ``RevocationUnavailableError``) and drops the connection, so a stream
that may be out of step is never read again; the next lookup reconnects. Only plain TCP and
Unix-socket clients get a reader (TLS and RESP3 set-ups keep redis-py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any, cast

__all__ = ["ExistsReader", "ReaderError", "reader_for"]

_MAX_LINE = 512


class ReaderError(Exception):
    """The lookup could not be answered (the message names the cause, never a key)."""


class _LostError(ReaderError):
    """The connection was closed under the lookup (Redis restarted): worth one more try."""


def _command(*parts: bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.pending: deque[asyncio.Future[bytes]] = deque()
        self.buffer = bytearray()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n")
            if end < 0:
                if len(self.buffer) > _MAX_LINE:
                    self.fail(ReaderError("an over-long reply line"))
                return
            line = bytes(self.buffer[:end])
            del self.buffer[: end + 2]
            if not self.pending:
                self.fail(ReaderError("a reply nobody asked for"))
                return
            future = self.pending.popleft()
            if not future.done():  # a cancelled caller's reply is read and dropped
                future.set_result(line)

    def fail(self, error: Exception) -> None:
        self.closed = True
        while self.pending:
            future = self.pending.popleft()
            if not future.done():
                future.set_exception(error)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.fail(_LostError("the connection was closed"))


class ExistsReader:
    """``EXISTS`` over one pipelined connection (per event loop), reconnecting on demand."""

    def __init__(
        self,
        *,
        host: str | None = None,
        port: int = 6379,
        path: str | None = None,
        db: int = 0,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 0.5,
    ) -> None:
        if (host is None) == (path is None):
            raise ValueError("give a host or a Unix socket path")
        self._host, self._port, self._path = host or "", port, path
        self._hello: list[bytes] = []
        if password is not None:
            auth = [b"AUTH"] + ([username.encode()] if username else []) + [password.encode()]
            self._hello.append(_command(*auth))
        if db:
            self._hello.append(_command(b"SELECT", str(int(db)).encode()))
        self._timeout = timeout
        self._protocol: _Protocol | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None

    async def _connection(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        protocol = self._protocol
        if protocol is not None and not protocol.closed and self._loop is loop:
            return protocol
        if self._loop is not loop or self._connecting is None:
            self._loop, self._connecting, self._protocol = loop, asyncio.Lock(), None
        async with self._connecting:
            protocol = self._protocol
            if protocol is not None and not protocol.closed:
                return protocol
            async with asyncio.timeout(self._timeout):
                if self._path is not None:
                    _, protocol = await loop.create_unix_connection(_Protocol, self._path)
                else:
                    _, protocol = await loop.create_connection(_Protocol, self._host, self._port)
                for command in self._hello:
                    reply = await self._send(protocol, command)
                    if reply != b"+OK":
                        protocol.fail(ReaderError("Redis refused the connection set-up"))
                        raise ReaderError("Redis refused the connection set-up")
            self._protocol = protocol
            return protocol

    @staticmethod
    def _send(protocol: _Protocol, command: bytes) -> asyncio.Future[bytes]:
        if protocol.closed or protocol.transport is None:
            raise _LostError("the connection was closed")
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        protocol.pending.append(future)
        protocol.transport.write(command)
        return future

    async def exists(self, keys: list[str]) -> int:
        """How many of ``keys`` exist.

        A lookup whose connection Redis closed (a restart) is sent once more on a new
        connection: ``EXISTS`` only reads, and without it every lookup in flight during a
        restart would answer 503 while Redis is back up.

        Raises:
            ReaderError: Redis could not answer in time, or answered something unexpected.
        """
        try:
            return await self._exists(keys)
        except _LostError:
            return await self._exists(keys)

    async def _exists(self, keys: list[str]) -> int:
        try:
            protocol = await self._connection()
            future = self._send(protocol, _command(b"EXISTS", *(k.encode() for k in keys)))
            async with asyncio.timeout(self._timeout):
                reply = await future
        except ReaderError:
            raise
        except TimeoutError:
            self._drop("timed out")
            raise ReaderError("Redis did not answer in time") from None
        except OSError as exc:
            self._drop(type(exc).__name__)
            raise ReaderError(f"cannot reach Redis ({type(exc).__name__})") from None
        if reply[:1] != b":" or not reply[1:].isdigit():
            self._drop("unexpected reply")
            kind = "an error" if reply[:1] == b"-" else "an unexpected reply"
            raise ReaderError(f"Redis answered {kind} to EXISTS")
        return int(reply[1:])

    def _drop(self, why: str) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.fail(ReaderError(f"the connection was dropped ({why})"))

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            self._drop("closed")


def reader_for(client: Any, *, timeout: float) -> ExistsReader | None:
    """A reader with the connection settings of a redis-py asyncio client, or ``None`` when
    its connections are not plain TCP or Unix sockets speaking RESP2."""
    from redis.asyncio.connection import Connection, UnixDomainSocketConnection

    pool = getattr(client, "connection_pool", None)
    if pool is None:
        return None
    kwargs = pool.connection_kwargs
    if kwargs.get("protocol") not in (None, 2, "2"):
        return None
    common = {
        "db": int(kwargs.get("db") or 0),
        "username": kwargs.get("username"),
        "password": kwargs.get("password"),
        "timeout": timeout,
    }
    if pool.connection_class is UnixDomainSocketConnection:
        return ExistsReader(path=kwargs["path"], **common)
    if pool.connection_class is Connection:
        host, port = kwargs.get("host") or "localhost", int(kwargs.get("port") or 6379)
        return ExistsReader(host=host, port=port, **common)
    return None  # TLS, sentinels, custom classes: redis-py
