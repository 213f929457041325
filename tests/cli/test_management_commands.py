"""Management commands (issue 17, "Traps"): each says which database it works on, none creates
a new embedded database without ``--create-database`` (``serve`` does, on first start), and
``serve`` says where it listens and its issuer, refuses a ``0.0.0.0`` issuer and reports a busy
port before anything is created. The password is asked for hidden on a terminal."""

from __future__ import annotations

import os
import pty
import select
import shlex
import signal
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jwtwarden.cli import app

runner = CliRunner()
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    before = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("JWTWARDEN_"):
            monkeypatch.delenv(name)
    yield
    # The CLI hands its options to workers through the environment (JWTWARDEN_CONFIG...):
    # nothing it set outlives the test.
    for name in list(os.environ):
        if name.startswith("JWTWARDEN_") and name not in before:
            del os.environ[name]


@pytest.mark.parametrize(
    "command",
    [
        ["users", "create", "ada@example.test", "--password-stdin"],
        ["db", "upgrade"],
        ["clients", "list"],
        ["clients", "create", "--name", "billing", "--grant", "client_credentials"],
    ],
    ids=["users create", "db upgrade", "clients list", "clients create"],
)
def test_should_refuse_to_create_a_new_embedded_database_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, command, input=PASSWORD + "\n")
    assert result.exit_code == 2, result.output
    expected = tmp_path / ".jwtwarden" / "jwtwarden.db"
    assert f"database: sqlite {expected}" in result.stderr  # which database, on stderr
    assert f"no database at {expected}" in result.stderr
    assert "--data-dir DIR or --config FILE" in result.stderr
    assert "--create-database" in result.stderr
    assert not (tmp_path / ".jwtwarden").exists()  # nothing created


def test_should_print_a_create_hint_that_runs_as_printed_for_commands_without_the_flag(
    tmp_path: Path,
) -> None:
    data = tmp_path / "my data"
    result = runner.invoke(app, ["clients", "list", "--data-dir", str(data)])
    assert result.exit_code == 2
    hint = f"jwtwarden db upgrade --create-database --data-dir '{data}'"
    assert hint in result.stderr
    created = runner.invoke(app, shlex.split(hint)[1:])  # as a shell would run it
    assert created.exit_code == 0, created.output


def test_should_create_the_database_when_asked_and_name_it_every_time(tmp_path: Path) -> None:
    data = tmp_path / "data"
    args = ["users", "create", "ada@example.test", "--password-stdin", "--data-dir", str(data)]
    made = runner.invoke(app, [*args, "--create-database"], input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    assert f"jwtwarden: database: sqlite {data / 'jwtwarden.db'}" in made.stderr
    assert "created user" in made.stdout and "database" not in made.stdout
    # Now that it exists, no flag is needed; the line still says which database.
    second = [*args[:2], "bob@example.test", *args[3:]]
    again = runner.invoke(app, second, input=PASSWORD + "\n")
    assert again.exit_code == 0, again.output
    assert f"database: sqlite {data / 'jwtwarden.db'}" in again.stderr


def test_should_name_a_configured_database_without_its_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jwtwarden.cli._conventions import describe_database
    from jwtwarden.server.settings import Settings

    url = "postgresql://admin:s3cr3t-pw@db.internal:5433/auth"
    described = describe_database(Settings(database_url=url, data_dir=tmp_path))
    assert described == "postgresql db.internal:5433/auth"
    assert "s3cr3t" not in described and "admin" not in described


def test_should_refuse_a_password_prompt_without_a_terminal(tmp_path: Path) -> None:
    args = ["users", "create", "ada@example.test", "--data-dir", str(tmp_path)]
    result = runner.invoke(app, args, input=PASSWORD + "\n")
    assert result.exit_code == 2
    assert "--password-stdin" in result.stderr and "no terminal" in result.stderr


def _read_until(fd: int, marker: bytes, deadline: float) -> bytes:
    seen = b""
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError(f"no {marker!r} on the terminal; got {seen!r}")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    return seen


def _wait_for_echo_off(fd: int, deadline: float) -> None:
    # The prompt is printed before getpass turns the echo off: typing at once would race it
    # (a person reads the prompt first). The pty's settings are read through the master.
    while termios.tcgetattr(fd)[3] & termios.ECHO:
        if time.monotonic() > deadline:
            raise AssertionError("the terminal's echo was never turned off")
        time.sleep(0.01)


def test_should_ask_for_the_password_twice_on_a_terminal_without_echoing_it(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    argv = [sys.executable, "-m", "jwtwarden", "users", "create", "ada@example.test"]
    argv += ["--data-dir", str(data), "--create-database"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTWARDEN_")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal
        os.execve(sys.executable, argv, env)
    deadline = time.monotonic() + 60
    status = None
    try:
        output = b""
        for prompt in (b"Password:", b"Repeat for confirmation:"):
            output += _read_until(fd, prompt, deadline)
            _wait_for_echo_off(fd, deadline)
            os.write(fd, PASSWORD.encode() + b"\n")
        output += _read_until(fd, b"created user", deadline)
        output += _read_until(fd, b"\n", deadline)
        _, status = os.waitpid(pid, 0)
    finally:
        if status is None:  # a failed step: never leave the child waiting for input
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert b"created user" in output and b"<ada@example.test>" in output
    assert PASSWORD.encode() not in output  # never echoed


# --- serve ---------------------------------------------------------------------------------


def test_should_refuse_a_0_0_0_0_development_issuer_naming_the_option(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = runner.invoke(
        app, ["serve", "--host", "0.0.0.0", "--port", "8123", "--data-dir", str(data)]
    )
    assert result.exit_code == 2
    assert "--host: 0.0.0.0 listens on every interface" in result.stderr
    assert "JWTWARDEN_ISSUER=http://localhost:8123" in result.stderr
    assert not data.exists()


def test_should_accept_0_0_0_0_with_an_explicit_issuer() -> None:
    from jwtwarden.server.settings import Settings

    settings = Settings(host="0.0.0.0", issuer="http://localhost:8000")
    assert settings.issuer_url == "http://localhost:8000"


def test_should_report_a_busy_port_before_creating_data_or_keys(
    tmp_path: Path, busy_port: int
) -> None:
    data = tmp_path / "data"
    result = runner.invoke(app, ["serve", "--port", str(busy_port), "--data-dir", str(data)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{busy_port}: the port is already in use" in result.stderr
    assert "--port" in result.stderr
    assert not data.exists()


def test_should_print_the_listen_address_and_the_issuer_on_separate_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from jwtwarden.cli.server import _banner
    from jwtwarden.server.settings import Settings

    _banner(Settings(host="0.0.0.0", port=8080, issuer="http://localhost:8080"))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "jwtwarden: listening on http://0.0.0.0:8080"
    assert lines[1] == "jwtwarden: issuer http://localhost:8080 (environment development)"
