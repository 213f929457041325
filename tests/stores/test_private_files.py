"""The files that hold secrets are private (issue 11, class 4): the SQLite database (argon2id
hashes, e-mails, sessions) and its side files are created 0600 in a 0700 directory whatever the
umask, and an existing database, side file or data directory that group or others can reach is
refused with the chmod to run."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from jwtwarden.cli import app as cli
from jwtwarden.stores.sql import create_engine

PASSWORD = "a perfectly long password"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o022, 0o002, 0o000], ids=["umask-022", "umask-002", "umask-000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def test_should_create_the_sqlite_database_and_its_side_files_0600_in_a_0700_directory(
    tmp_path: Path, umask: int
) -> None:
    directory = tmp_path / "data"
    database = directory / "auth.db"
    engine_url = f"sqlite:///{database}"

    async def _keep_open() -> dict[str, int]:
        engine = create_engine(engine_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("CREATE TABLE t (x TEXT)"))
                await conn.execute(text("INSERT INTO t VALUES ('secret')"))
            # The WAL and shared-memory files exist while a connection is open.
            async with engine.connect() as conn:
                await conn.execute(text("SELECT x FROM t"))
                return {p.name: _mode(p) for p in directory.iterdir()}
        finally:
            await engine.dispose()

    modes = asyncio.run(_keep_open())
    assert _mode(directory) == 0o700
    assert {"auth.db", "auth.db-wal", "auth.db-shm"} <= set(modes), modes
    assert modes == dict.fromkeys(modes, 0o600)


def test_should_create_the_users_database_0600_from_the_cli_whatever_the_umask(
    tmp_path: Path, umask: int
) -> None:
    data = tmp_path / "data"
    result = CliRunner().invoke(
        cli,
        [
            *("users", "create", "ada@example.test", "--password-stdin"),
            *("--create-database", "--data-dir", str(data)),
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert _mode(data) == 0o700
    assert _mode(data / "jwtwarden.db") == 0o600
    for path in data.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert _mode(path) == expected, path


@pytest.mark.parametrize(
    ("make_open", "message"),
    [
        (lambda d: d.chmod(0o755), "chmod 700"),
        (lambda d: d.chmod(0o750), "chmod 700"),
        (lambda d: d.chmod(0o701), "chmod 700"),
        (lambda d: (d / "auth.db").touch(0o644), "chmod 600"),
        (lambda d: (d / "auth.db").touch(0o640), "chmod 600"),
        (lambda d: (d / "auth.db-wal").touch(0o604), "chmod 600"),
        (lambda d: (d / "auth.db-journal").touch(0o660), "chmod 600"),
    ],
    ids=["dir-755", "dir-750", "dir-701", "db-644", "db-640", "wal-604", "journal-660"],
)
def test_should_refuse_an_open_sqlite_database_or_directory_with_the_chmod_to_run(
    tmp_path: Path, make_open: object, message: str
) -> None:
    directory = tmp_path / "data"
    directory.mkdir(mode=0o700)
    previous = os.umask(0)
    try:
        make_open(directory)  # type: ignore[operator]
    finally:
        os.umask(previous)
    with pytest.raises(ValueError, match=message):
        create_engine(f"sqlite:///{directory / 'auth.db'}")


@pytest.mark.parametrize(
    "command",
    [
        ["db", "upgrade", "--create-database"],
        ["users", "create", "ada@example.test", "--password-stdin", "--create-database"],
    ],
    ids=["db upgrade", "users create"],
)
def test_should_refuse_to_start_on_an_open_data_directory_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    # (serve with a busy port is refused before it looks at the data directory: see
    # tests/cli/test_cli_conventions.py.)
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    result = CliRunner().invoke(cli, [*command, "--data-dir", str(data)], input=PASSWORD + "\n")
    assert result.exit_code == 2, result.output
    assert "chmod 700" in result.output and "Traceback" not in result.output
    assert list(data.iterdir()) == []  # nothing written into it


def test_should_refuse_an_open_database_file_at_start_with_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "jwtwarden.db").touch()
    (data / "jwtwarden.db").chmod(0o644)
    result = CliRunner().invoke(cli, ["db", "upgrade", "--data-dir", str(data)])
    assert result.exit_code == 2, result.output
    assert "chmod 600" in result.output and "Traceback" not in result.output
    assert (data / "jwtwarden.db").stat().st_size == 0


def test_should_leave_no_lock_file_behind_for_an_in_memory_key_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jwtwarden.stores.sql import SQLKeyStore

    monkeypatch.chdir(tmp_path)
    store = SQLKeyStore("sqlite://", environment="test", kek=bytes(32))
    try:
        with store.lock():
            pass
    finally:
        store.close()
    assert list(tmp_path.iterdir()) == []
