"""Private files and directories for what jwtwarden writes to disk (the SQLite database and
its side files, the data directory, key directories), and the one cross-process file lock.

Everything is created with its final mode (``mkdir(0o700)``, ``open(O_CREAT | O_EXCL, 0o600)``)
rather than created and then ``chmod``-ed: between the two a file would sit readable by anyone
who can enter the directory. A umask can only take bits away from those modes, never add them.
Existing paths that group or others can reach are refused with the ``chmod`` to run, as the key
directory already was: a database of argon2id hashes and e-mails is as private as the keys.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

__all__ = ["check_private_file", "create_private_file", "exclusive_file_lock", "private_directory"]

_OPEN_TO_OTHERS = 0o077


def private_directory(path: Path, *, what: str, create: bool = True) -> None:
    """Make sure ``path`` is a directory only its owner can enter.

    Missing: created ``0700`` (its parents, if missing too, with the default mode) unless
    ``create`` is false. A symlinked directory is fine; its target is checked.

    Raises:
        ValueError: ``path`` is not a directory, is open to group or others, or cannot be made.
    """
    try:
        if create and not path.exists():
            with contextlib.suppress(FileExistsError):
                path.mkdir(mode=0o700, parents=True)
        info = os.stat(path)
    except OSError as exc:
        raise ValueError(f"{what} {str(path)!r} is unusable: {exc.strerror}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise ValueError(f"{what} {str(path)!r} is not a directory")
    if info.st_mode & _OPEN_TO_OTHERS:
        raise ValueError(
            f"{what} {str(path)!r} is open to group or others "
            f"(mode {stat.S_IMODE(info.st_mode):o}, expected 700); run: chmod 700 {path}"
        )


def check_private_file(path: Path, *, what: str) -> bool:
    """Whether ``path`` exists; if it does, it must be a regular file only its owner can read.

    Raises:
        ValueError: it is not a regular file, or group or others may read or write it.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ValueError(f"{what} {str(path)!r} is unusable: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{what} {str(path)!r} is not a regular file")
    if info.st_mode & _OPEN_TO_OTHERS:
        raise ValueError(
            f"{what} {str(path)!r} is readable or writable by group or others "
            f"(mode {stat.S_IMODE(info.st_mode):o}, expected 600); run: chmod 600 {path}"
        )
    return True


def create_private_file(path: Path, *, what: str) -> None:
    """Create ``path`` empty with mode ``0600`` unless it exists; check it if it does.

    Raises:
        ValueError: an existing file is open to group or others, or it cannot be created.
    """
    if check_private_file(path, what=what):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:  # created meanwhile by another process: check that one
        check_private_file(path, what=what)
        return
    except OSError as exc:
        raise ValueError(f"cannot create {what} {str(path)!r}: {exc.strerror}") from None
    os.close(fd)


def random_key_file(path: Path, *, size: int, what: str) -> bytes:
    """The ``size`` random bytes kept in ``path`` (``0600``), made on first use.

    The key is written whole under a temporary name, then linked into place: ``link`` fails if
    another process got there first (its key wins), and a reader never sees a partial file.
    For development keys that every worker of one host must share (no KEK to derive them from).

    Raises:
        ValueError: the file is open to others, is not a regular file, or is not ``size`` bytes.
    """
    if not check_private_file(path, what=what):
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(secrets.token_bytes(size))
                file.flush()
                os.fsync(file.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    check_private_file(path, what=what)
    key = path.read_bytes()
    if len(key) != size:
        raise ValueError(f"{what} {str(path)!r} is not a {size}-byte key")
    return key


@contextlib.contextmanager
def exclusive_file_lock(path: Path | str) -> Iterator[None]:
    """Hold an exclusive ``flock(2)`` on ``path`` (created ``0600`` if missing) while inside.

    The lock serialises processes on one host (``DirectoryKeyStore``'s ``.lock``, the SQLite
    key store's ``.keys.lock``); it is released when the block ends or the process dies. A
    fresh descriptor per entry, so the same thread entering twice deadlocks: callers make
    it re-entrant (``keys._store_rules.reentrant``). ``O_NOFOLLOW``: a symlink planted in
    the lock's place is refused rather than followed to a file we would create or lock.

    Raises:
        OSError: the lock file cannot be opened or locked.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
