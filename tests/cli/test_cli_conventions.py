"""CLI conventions (issue 17): ``--version``; help text on every option and metavars that read
as values (a walk over the whole typer/click tree); lower-case algorithm names get a suggestion;
a failed ``keys generate`` leaves nothing behind; slow steps show progress on a terminal only;
kids are never wrapped in tables; one name (``token_use``) in the table and the JSON."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.testing import CliRunner

import jwtwarden
from jwtwarden.cli import app
from jwtwarden.cli._conventions import slow_step

runner = CliRunner()
# typer's rendering of a Python type where a metavar belongs: <str>, <list[str]>, <bool>, <path>.
PYTHON_TYPE = re.compile(r"<(?:list\[)?(?:str|bool|int|float|path|Path)\]?>")


def _walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    if isinstance(command, TyperGroup):
        for name in command.list_commands(None):  # type: ignore[arg-type]
            yield from _walk(command.get_command(None, name), (*path, name))  # type: ignore[arg-type]


def _tree() -> list[tuple[tuple[str, ...], Any]]:
    import typer

    return list(_walk(typer.main.get_command(app)))


def test_should_print_the_version_and_exit_0() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"jwtwarden {jwtwarden.__version__}\n"


def test_should_walk_every_command_of_the_tree() -> None:
    names = {" ".join(path) for path, _ in _tree()}
    assert {"serve", "users create", "keys generate", "clients create", "db upgrade"} <= names


def test_should_give_every_option_and_argument_a_help_text() -> None:
    missing = [
        f"{' '.join(path)} {param.opts[0]}"
        for path, command in _tree()
        for param in command.params
        if isinstance(param, TyperOption | TyperArgument) and not (param.help or "").strip()
    ]
    assert missing == []


def test_should_show_metavars_that_read_as_values_and_none_on_flags() -> None:
    problems = []
    for path, command in _tree():
        for param in command.params:
            if isinstance(param, TyperOption):
                if param.is_flag and param.metavar != "":
                    problems.append(f"{' '.join(path)} {param.opts[0]}: flag shows {param.metavar}")
                if not param.is_flag and not (param.metavar or "").strip():
                    problems.append(f"{' '.join(path)} {param.opts[0]}: no metavar")
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, (path, shown.output)
        found = PYTHON_TYPE.findall(shown.stdout)
        if found:
            problems.append(f"{' '.join(path) or 'jwtwarden'} --help shows {found}")
    assert problems == []


@pytest.mark.parametrize(
    ("option", "metavar"),
    [("--ttl", "SECONDS"), ("--dir", "DIR"), ("--issuer", "URL"), ("--claim", "TEXT")],
)
def test_should_name_the_values_of_mint_options(option: str, metavar: str) -> None:
    shown = runner.invoke(app, ["mint", "--help"], env={"COLUMNS": "200"}).stdout
    line = next(line for line in shown.splitlines() if f" {option} " in line)
    assert f" {metavar} " in line


def test_should_not_say_that_mint_creates_the_directory_it_refuses_when_missing(
    tmp_path: Path,
) -> None:
    shown = runner.invoke(app, ["mint", "--help"], env={"COLUMNS": "300"}).stdout
    assert "created" not in shown and "must exist" in shown
    missing = tmp_path / "no keys here"
    args = ["mint", "--dir", str(missing), "--issuer", "https://a.example", "--sub", "u"]
    refused = runner.invoke(app, [*args, "--aud", "https://b.example"])
    assert refused.exit_code == 2
    # The hint is a command that runs as printed: the directory quoted for the shell.
    assert f"jwtwarden keys generate --dir '{missing}'" in refused.stderr
    assert not missing.exists()


@pytest.mark.parametrize(
    ("typed", "suggested"), [("es256", "ES256"), ("rs256", "RS256"), ("eddsa", "EdDSA")]
)
def test_should_suggest_the_algorithm_name_and_leave_nothing_behind_on_a_failed_generate(
    tmp_path: Path, typed: str, suggested: str
) -> None:
    directory = tmp_path / "keys"
    result = runner.invoke(app, ["keys", "generate", "--dir", str(directory), "--alg", typed])
    assert result.exit_code == 2
    assert f"did you mean {suggested}?" in result.stderr
    assert not directory.exists()


def test_should_remove_the_directory_a_generate_made_when_the_store_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Outside development there is no KEK to generate: the refusal comes after the store's
    # directory was made (before issue 17 an empty directory stayed behind).
    monkeypatch.delenv("JWTWARDEN_KEK", raising=False)
    directory = tmp_path / "keys"
    args = ["keys", "generate", "--dir", str(directory), "-e", "production"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "JWTWARDEN_KEK" in result.stderr
    assert not directory.exists()


def test_should_leave_an_existing_store_as_it_was_when_generate_fails(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    assert runner.invoke(app, ["keys", "generate", "--dir", str(directory)]).exit_code == 0
    before = sorted(p.name for p in directory.rglob("*"))
    refused = runner.invoke(app, ["keys", "generate", "--dir", str(directory), "--alg", "RS256"])
    assert refused.exit_code == 2
    assert sorted(p.name for p in directory.rglob("*")) == before
    # The replacement hint runs as printed: it names the directory.
    assert f"jwtwarden keys rotate --dir {directory} --use access --alg RS256" in refused.stderr


def test_should_name_the_key_store_a_changing_keys_command_writes_to(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    made = runner.invoke(app, ["keys", "generate", "--dir", str(directory)])
    assert f"jwtwarden: key store: {directory} (environment development)" in made.stderr
    rotated = runner.invoke(app, ["keys", "rotate", "--dir", str(directory)])
    assert f"key store: {directory}" in rotated.stderr
    listed = runner.invoke(app, ["keys", "jwks", "--dir", str(directory)])
    assert "key store:" not in listed.stderr  # read-only commands keep stderr for their output


def test_should_print_kids_whole_in_the_table_and_token_use_in_table_and_json(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "keys"
    made = runner.invoke(app, ["keys", "generate", "--dir", str(directory)])
    kid = made.stdout.split()[1]
    table = runner.invoke(app, ["keys", "list", "--dir", str(directory)]).stdout
    assert kid in table  # on one line, uncut: a copy-paste gives the whole kid
    assert "token_use" in table.splitlines()[2] or "token_use" in table
    header = next(line for line in table.splitlines() if " kid " in line)
    assert " use " not in header.replace("token_use", "")
    listed = runner.invoke(app, ["keys", "list", "--dir", str(directory), "--json"]).stdout
    assert json.loads(listed)[0]["token_use"] == "access"


def test_should_show_progress_for_a_slow_step_on_a_terminal_only() -> None:
    terminal = io.StringIO()
    with slow_step("generating", enabled=True, console=Console(file=terminal, force_terminal=True)):
        pass
    assert "generating: done" in terminal.getvalue()
    piped = io.StringIO()
    with slow_step("generating", enabled=True, console=Console(file=piped, force_terminal=False)):
        pass
    assert piped.getvalue() == ""
    fast = io.StringIO()
    with slow_step("generating", enabled=False, console=Console(file=fast, force_terminal=True)):
        pass
    assert fast.getvalue() == ""


def test_should_show_progress_for_an_rsa_4096_key_on_a_terminal_and_not_in_a_pipe(
    tmp_path: Path,
) -> None:
    import os
    import pty
    import select
    import sys
    import time

    argv = [sys.executable, "-m", "jwtwarden", "keys", "generate", "--alg", "RS256"]
    argv += ["--rsa-bits", "4096", "--dir", str(tmp_path / "tty")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTWARDEN_")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its terminal
        os.execve(sys.executable, argv, env)
    output, deadline = b"", time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child ended and closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert b"generating an RSA 4096-bit key: done" in output
    piped = runner.invoke(app, [*argv[3:-1], str(tmp_path / "piped")])
    assert piped.exit_code == 0, piped.output
    assert "generating" not in piped.output  # no animation in a pipe or a log
