"""``jwtwarden users list | show | disable | enable | set-password | delete | roles`` on a SQLite
data directory, in process; and a deletion by the CLI ending a session of a running app."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jwtwarden.cli import app as cli
from jwtwarden.server.app import create_app
from jwtwarden.server.settings import Settings
from tests.server.support import App, clean_env, run_cli

PASSWORD = "a perfectly long password"
ENV = {
    "JWTWARDEN_SCOPES": "items:read,items:write",
    "JWTWARDEN_ROLES": '{"editor": ["items:read", "items:write"], "reader": ["items:read"]}',
}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def _run(data: Path, *args: str, stdin: str = "") -> Any:
    result = CliRunner().invoke(cli, [*args, "--data-dir", str(data)], input=stdin, env=ENV)
    return result


def _json(data: Path, *args: str, stdin: str = "") -> Any:
    result = _run(data, *args, "--json", stdin=stdin)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _create(data: Path, email: str) -> str:
    made = _run(
        data,
        "users",
        "create",
        email,
        "--password-stdin",
        "--create-database",
        stdin=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    return str(made.stdout.split()[2])


def test_should_list_and_show_accounts_without_their_password_hashes(data: Path) -> None:
    ada = _create(data, "ada@example.test")
    _create(data, "bob@example.test")
    listed = _json(data, "users", "list")
    assert [u["email"] for u in listed] == ["ada@example.test", "bob@example.test"]
    shown = _json(data, "users", "show", "ADA@example.test")
    assert shown["id"] == ada and shown["roles"] == [] and shown["email_verified"] is False
    everything = _run(data, "users", "list").stdout + _run(data, "users", "show", ada).stdout
    assert "argon2" not in everything and "password" not in everything
    assert _run(data, "users", "list", "--limit", "1").stdout.count("@example.test") == 1


def test_should_add_and_remove_roles_and_refuse_unknown_ones(data: Path) -> None:
    ada = _create(data, "ada@example.test")
    added = _json(data, "users", "roles", "ada@example.test", "--add", "editor", "--add", "reader")
    assert added["roles"] == [
        {"role": "editor", "client_id": None},
        {"role": "reader", "client_id": None},
    ]
    scoped = _json(
        data, "users", "roles", "ada@example.test", "--add", "reader", "--client", "app-1"
    )
    assert {"role": "reader", "client_id": "app-1"} in scoped["roles"]
    removed = _json(data, "users", "roles", ada, "--remove", "editor")
    assert [r["role"] for r in removed["roles"]] == ["reader", "reader"]
    unknown = _run(data, "users", "roles", ada, "--add", "superuser")
    assert unknown.exit_code == 1 and "configured roles (editor, reader)" in unknown.stderr
    assert "reader (client app-1)" in _run(data, "users", "show", ada).stdout


def test_should_disable_enable_and_set_a_password(data: Path) -> None:
    ada = _create(data, "ada@example.test")
    assert _json(data, "users", "disable", ada) == {"id": ada, "disabled": True}
    assert _json(data, "users", "show", ada)["disabled"] is True
    assert _json(data, "users", "enable", "ada@example.test") == {"id": ada, "disabled": False}
    no_stdin = _run(data, "users", "set-password", ada)
    assert no_stdin.exit_code == 2 and "--password-stdin" in no_stdin.stderr
    weak = _run(data, "users", "set-password", ada, "--password-stdin", stdin="short\n")
    assert weak.exit_code == 2
    changed = _json(data, "users", "set-password", ada, "--password-stdin", stdin="new long pass\n")
    assert changed == {"id": ada, "auth_version": 4}  # disable, enable, new password


@pytest.mark.parametrize(
    "args",
    [
        ("users", "show", "nobody@example.test"),
        ("users", "disable", "no-such-id"),
        ("users", "roles", "no-such-id", "--add", "reader"),
        ("users", "delete", "no-such-id", "--yes"),
    ],
    ids=[
        "should exit 1 showing an unknown email",
        "should exit 1 disabling an unknown id",
        "should exit 1 changing the roles of an unknown id",
        "should exit 1 deleting an unknown id",
    ],
)
def test_commands_on_an_unknown_account(data: Path, args: tuple[str, ...]) -> None:
    _create(data, "ada@example.test")
    result = _run(data, *args)
    assert result.exit_code == 1 and "expected an existing account" in result.stderr


def test_should_refuse_to_delete_without_yes(data: Path) -> None:
    ada = _create(data, "ada@example.test")
    result = _run(data, "users", "delete", ada)
    assert result.exit_code == 2 and "--yes" in result.stderr
    assert _json(data, "users", "show", ada)["id"] == ada


async def test_should_end_the_sessions_of_an_account_deleted_by_the_cli(data: Path) -> None:
    # The CLI runs its own event loop (asyncio.run): in a thread, beside the test's.
    ada = await asyncio.to_thread(_create, data, "ada@example.test")
    await asyncio.to_thread(_json, data, "users", "roles", ada, "--add", "reader")
    app = create_app(
        Settings(data_dir=data, scopes=ENV["JWTWARDEN_SCOPES"], roles={"reader": ["items:read"]})
    )
    async with app.router.lifespan_context(app), App(app).client() as c:
        login = await c.post(
            "/auth/login",
            json={"email": "ada@example.test", "password": PASSWORD, "scope": "items:read"},
        )
        assert login.status_code == 200 and login.json()["scope"] == "items:read"
        # Another process, as an operator's shell would be, on the same database.
        env = clean_env({**ENV, "JWTWARDEN_DATA_DIR": str(data)})
        done = await asyncio.to_thread(run_cli, ["users", "delete", ada, "--yes", "--json"], env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"id": ada, "deleted": True, "sessions_ended": 1}
        form = {"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]}
        refused = await c.post("/oauth/token", data=form)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        # /auth/logout answers 200 whatever it is sent (RFC 7009 2.2): userinfo verifies.
        stopped = await c.get("/oauth/userinfo", headers=bearer)
        assert stopped.status_code == 401
        assert 'error="invalid_token"' in stopped.headers["www-authenticate"]
    assert await asyncio.to_thread(_json, data, "users", "list") == []
