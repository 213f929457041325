"""The server's refresh successor key (``server/successor_key.py``): one per deployment."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jwtwarden.server.successor_key import KEY_FILE, successor_key
from jwtwarden.sessions.rotation import derive_successor_key


def test_should_derive_the_key_from_the_kek_and_write_nothing(tmp_path: Path) -> None:
    kek = os.urandom(32)
    assert successor_key(kek, tmp_path / "data") == derive_successor_key(kek)
    assert not (tmp_path / "data").exists()


def test_should_keep_one_private_development_key_for_every_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with ThreadPoolExecutor(8) as pool:  # workers starting together agree on one key
        keys = set(pool.map(lambda _: successor_key(None, data), range(8)))
    assert len(keys) == 1 and len(keys.pop()) == 32
    assert stat.S_IMODE(os.stat(data / KEY_FILE).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    assert [p.name for p in data.iterdir()] == [KEY_FILE]  # no temporary file left behind
    assert successor_key(None, data) == (data / KEY_FILE).read_bytes()  # a restart: the same


def test_should_refuse_a_key_file_others_can_read_or_that_is_not_a_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    successor_key(None, data)
    os.chmod(data / KEY_FILE, 0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        successor_key(None, data)
    os.chmod(data / KEY_FILE, 0o600)
    (data / KEY_FILE).write_bytes(b"short")
    with pytest.raises(ValueError, match="32-byte key"):
        successor_key(None, data)
