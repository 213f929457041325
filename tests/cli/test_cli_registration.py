"""Command registration: every command module registers through ``register(app)`` and is
imported only when one of its commands runs, so ``jwtwarden verify -`` starts without the
server stack, rich tables, the key store or the issuer (issue 6: batch start-up)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jwtwarden import KeySet, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.cli import app

runner = CliRunner()
MODULES = ("mint", "verify", "inspect", "server", "keys", "users")
# What the verify command must not load: other commands and the stacks behind them.
NOT_FOR_VERIFY = (
    "jwtwarden.cli.inspect",
    "jwtwarden.cli.keys",
    "jwtwarden.cli.mint",
    "jwtwarden.cli.server",
    "jwtwarden.explain",
    "jwtwarden.issue",
    "jwtwarden.keys.rotation",
    "jwtwarden.server",
    "rich.table",
    "fastapi",
    "sqlalchemy",
    "uvicorn",
)


def _registered(module_name: str) -> dict[str, str]:
    """The commands a module registers on a fresh app, with their first help line."""
    scratch = typer.Typer()
    importlib.import_module(f"jwtwarden.cli.{module_name}").register(scratch)
    group = typer.main.get_group(scratch)
    return {name: (cmd.help or "").splitlines()[0] for name, cmd in group.commands.items()}


def test_should_register_every_module_through_register_without_import_side_effects() -> None:
    for name in MODULES:
        importlib.import_module(f"jwtwarden.cli.{name}")
    # Importing a command module adds nothing to the shared app: registration is explicit.
    assert app.registered_commands == []
    assert app.registered_groups == []


def test_should_list_every_command_with_its_help_at_the_top_level() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    expected: dict[str, str] = {}
    for name in MODULES:
        expected.update(_registered(name))
    assert set(expected) == {"mint", "verify", "inspect", "serve", "keys", "users", "db"}
    lines = result.output.splitlines()
    for command, help_line in expected.items():
        assert any(f" {command} " in line and help_line[:40] in line for line in lines), command


def test_should_suggest_a_command_that_has_not_been_loaded_yet() -> None:
    result = runner.invoke(app, ["verfy"])
    assert result.exit_code == 2
    assert "Did you mean 'verify'" in result.output


def test_should_verify_a_batch_without_loading_the_other_commands(tmp_path: Path) -> None:
    key = generate_key("ES256", kid="k1")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(KeySet([key.public_key()]).public_jwks()))
    now = int(time.time())
    claims = {
        "iss": "https://i",
        "aud": "a",
        "sub": "u",
        "iat": now,
        "exp": now + 60,
        "jti": "j",
        "client_id": "client-1",
    }
    token = sign_compact({}, claims, key)
    probe = (
        "import sys\n"
        "from jwtwarden.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        f"print('LOADED', sorted(m for m in {NOT_FOR_VERIFY!r} if m in sys.modules))\n"
        "print('EXIT', code)\n"
    )
    args = ["verify", "-", "--jwks", str(jwks), "--issuer", "https://i", "--audience", "a"]
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        input=token + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    out = done.stdout.splitlines()
    assert json.loads(out[0])["valid"] is True, done.stderr
    assert "LOADED []" in out and "EXIT 0" in out, done.stdout


@pytest.mark.parametrize("command", ["mint", "keys", "inspect", "serve", "users", "db"])
def test_should_load_each_command_on_demand(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and command in result.output
