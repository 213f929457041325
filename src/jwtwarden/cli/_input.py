"""Bounded reads of everything the command line is handed: key files, PEMs, the config TOML,
token lines and the password on stdin.

Each read has an explicit byte cap: a file is read with ``read(cap + 1)`` and refused if it is
longer, a line with ``readline(cap + 2)`` (the line and its ``\\r\\n``). ``--jwks /dev/zero``
once grew to 2.5 GB before a ``MemoryError``; now it is one ``error:`` line and exit 2.
Only regular files are read: a device (``/dev/zero``), a FIFO (its ``open`` would block until
a writer came), a socket or a directory is refused by what it is, before a byte is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "MAX_CONFIG_FILE",
    "MAX_KEY_FILE",
    "MAX_PASSWORD",
    "MAX_SKIPPED_LINE",
    "InputRefused",
    "bounded_lines",
    "read_bounded_line",
    "read_regular_file",
]

# A JWK Set of a few dozen RSA keys is tens of KiB; 1 MiB is the remote JWKS client's cap too.
MAX_KEY_FILE = 1 << 20
MAX_CONFIG_FILE = 1 << 20
# argon2 hashes any length, but no passphrase is 4 KiB; the server's own field cap is 4096.
MAX_PASSWORD = 4096
# Past this many bytes of one over-long line, stdin is not "one token a line" (/dev/zero).
MAX_SKIPPED_LINE = 1 << 20
_CHUNK = 1 << 16


class InputRefused(Exception):
    """An input the command line will not read; the message says what was expected."""


def _size(n: int) -> str:
    return f"{n // (1 << 20)} MiB" if n >= 1 << 20 and n % (1 << 20) == 0 else f"{n} bytes"


def read_regular_file(path: Path, cap: int, what: str) -> bytes:
    """The bytes of ``path``, a regular file of at most ``cap`` bytes.

    Raises:
        InputRefused: a directory, a device, a FIFO or a socket; or more than ``cap`` bytes.
        OSError: it cannot be opened (missing, permissions).
    """
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputRefused(f"the {what} {str(path)!r} is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise InputRefused(
                f"the {what} {str(path)!r} is not a regular file (a device, FIFO or socket)"
            )
        if info.st_size > cap:
            raise InputRefused(
                f"the {what} {str(path)!r} is {info.st_size} bytes; the limit is {_size(cap)}"
            )
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        left = cap + 1  # one byte more than allowed: a file that grew since fstat shows it
        while left > 0:
            chunk = os.read(fd, min(left, _CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > cap:
            raise InputRefused(f"the {what} {str(path)!r} is over the limit of {_size(cap)}")
        return data
    finally:
        os.close(fd)


def bounded_lines(stream: BinaryIO, cap: int) -> Iterator[bytes | None]:
    """Each line of ``stream`` without its line end, or ``None`` for a line over ``cap`` bytes
    (its rest is read and dropped, so the next line is still the next token).

    Raises:
        InputRefused: one line goes on for more than ``MAX_SKIPPED_LINE`` bytes (``/dev/zero``
            or a binary file is not one token a line).
    """
    limit = cap + 2  # the line, then "\r\n"
    while True:
        chunk = stream.readline(limit)
        if not chunk:
            return
        if chunk.endswith(b"\n") or len(chunk) < limit:  # a whole line, or the last one
            line = chunk.rstrip(b"\r\n")
            yield line if len(line) <= cap else None
            continue
        skipped = len(chunk)
        while not chunk.endswith(b"\n"):
            chunk = stream.readline(_CHUNK)
            if not chunk:
                break
            skipped += len(chunk)
            if skipped > MAX_SKIPPED_LINE:
                raise InputRefused(
                    f"a line on standard input is over {_size(MAX_SKIPPED_LINE)}: "
                    "expected one token a line"
                )
        yield None


def read_bounded_line(stream: BinaryIO, cap: int, what: str) -> str:
    """The first line of ``stream`` as UTF-8 text, at most ``cap`` bytes (``""`` at EOF).

    Raises:
        InputRefused: longer than ``cap`` bytes, or not UTF-8.
    """
    chunk = stream.readline(cap + 2)
    line = chunk.rstrip(b"\r\n")
    if len(line) > cap or (len(chunk) == cap + 2 and not chunk.endswith(b"\n")):
        raise InputRefused(f"the {what} is over {_size(cap)}")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise InputRefused(f"the {what} is not valid UTF-8") from None
