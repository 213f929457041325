"""The one cross-process file lock (``jwtwarden._files.exclusive_file_lock``), used by
``DirectoryKeyStore`` (``.lock``) and ``SQLKeyStore`` on SQLite (``.keys.lock``)."""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

import pytest

from jwtwarden._files import exclusive_file_lock
from jwtwarden.errors import KeyStoreError
from jwtwarden.stores.files import DirectoryKeyStore
from jwtwarden.stores.sql import SQLKeyStore

KEK = bytes(range(32))


def _held_elsewhere(path: Path) -> bool:
    """Whether another open file description cannot take the lock now (another process's view)."""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_should_hold_the_lock_inside_the_block_and_release_it_after(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with exclusive_file_lock(path):
        assert _held_elsewhere(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not _held_elsewhere(path)


def test_should_release_the_lock_when_the_block_raises(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with pytest.raises(RuntimeError), exclusive_file_lock(path):
        raise RuntimeError("boom")
    assert not _held_elsewhere(path)


def test_should_refuse_a_symlink_planted_in_the_locks_place(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    (tmp_path / "x.lock").symlink_to(target)
    with pytest.raises(OSError), exclusive_file_lock(tmp_path / "x.lock"):
        pass
    assert not target.exists()


def test_should_lock_the_key_directory_with_its_lock_file(tmp_path: Path) -> None:
    store = DirectoryKeyStore(tmp_path / "keys", environment="production", kek=KEK)
    with store.lock():
        assert _held_elsewhere(tmp_path / "keys" / ".lock")
    assert not _held_elsewhere(tmp_path / "keys" / ".lock")


def test_should_lock_the_sqlite_key_store_beside_its_database(tmp_path: Path) -> None:
    database = tmp_path / "auth.db"
    store = SQLKeyStore(f"sqlite:///{database}", environment="production", kek=KEK)
    try:
        with store.lock():
            assert _held_elsewhere(tmp_path / "auth.db.keys.lock")
        assert not _held_elsewhere(tmp_path / "auth.db.keys.lock")
    finally:
        store.close()


def test_should_refuse_with_a_key_store_error_when_the_lock_cannot_be_opened(
    tmp_path: Path,
) -> None:
    database = tmp_path / "auth.db"
    store = SQLKeyStore(f"sqlite:///{database}", environment="production", kek=KEK)
    (tmp_path / "auth.db.keys.lock").symlink_to(tmp_path / "elsewhere")
    try:
        with pytest.raises(KeyStoreError, match="cannot lock the key store"), store.lock():
            pass
    finally:
        store.close()
