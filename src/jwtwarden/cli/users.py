"""``jwtwarden users create | list | show | disable | enable | set-password | delete | roles``:
the accounts of the auth server's database (needs ``jwtwarden[server]``).

``create`` lives in ``cli/server.py``; the others here. They run the same operations as the
admin API (``accounts.admin.AccountAdmin`` and the session service over the server's own
stores, built by ``server.runtime.Runtime``), so disabling, a new password and deletion end the
account's sessions and stop its tokens exactly as through the API. ``USER`` is an account id or
its email. Exit codes: 0 done, 1 no such account (or an unknown role), 2 a usage or
configuration error.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from .server import (
    EXIT_REFUSED,
    ConfigFile,
    DataDir,
    _data_dir,
    _fail,
    _read_password,
    _settings,
    _startup_error,
    users_app,
)

__all__ = ["register"]

T = TypeVar("T")

Json = Annotated[bool, typer.Option("--json", help="Print JSON (one object, or one list).")]
User = Annotated[str, typer.Argument(help="The account's id or email.", metavar="USER")]


def _run(settings: Any, operation: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``operation(runtime)`` against the configured database; map failures to exits."""
    from ..errors import PasswordPolicyError, UnknownRoleError, UserNotFoundError

    _data_dir(settings)
    try:
        return asyncio.run(_with_runtime(settings, operation))
    except (UserNotFoundError, UnknownRoleError) as exc:
        _fail(exc.detail, EXIT_REFUSED)
    except PasswordPolicyError as exc:
        _fail(exc.detail)
    except ValueError as exc:
        _fail(str(exc))
    except Exception as exc:
        _startup_error(exc)


async def _with_runtime(settings: Any, operation: Callable[[Any], Awaitable[T]]) -> T:
    from ..server.migrate import check_schema, upgrade
    from ..server.runtime import Runtime

    if settings.effective_auto_migrate:
        await asyncio.to_thread(upgrade, settings.database, schema=settings.database_schema)
    # The server's own build: its stores, denylist and hasher, so the CLI ends sessions and
    # denies their tokens where the server looks (no chores are started).
    runtime = Runtime(settings)
    try:
        await check_schema(runtime.engine)
        return await operation(runtime)
    finally:
        await runtime.close()


async def _find(runtime: Any, user: str) -> Any:
    """The account named by id or email."""
    from ..errors import UserNotFoundError
    from ..sessions.service import normalize_email

    if "@" in user:
        normalised = normalize_email(user)
        found = await runtime.users.user_by_email(normalised) if normalised else None
    else:
        found = await runtime.users.user_by_id(user)
    if found is None:
        raise UserNotFoundError(f"expected an existing account id or email, got {user!r}")
    return found


def _roles(assignments: Any) -> list[dict[str, Any]]:
    return [{"role": a.role, "client_id": a.client_id} for a in assignments]


def _when(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat(timespec="seconds")


def _echo(body: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(body, sort_keys=True))
        return
    for name in sorted(body):
        value = body[name]
        if name == "created_at":
            value = _when(value)
        elif name == "roles":
            value = ", ".join(
                r["role"] + (f" (client {r['client_id']})" if r["client_id"] else "") for r in value
            )
        typer.echo(f"{name}: {value}")


def list_users(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most (100).")] = 100,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many (0).")] = 0,
    as_json: Json = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """List accounts, oldest first."""
    from ..accounts.admin import account_fields

    settings = _settings(config, data_dir=data_dir)

    async def operation(runtime: Any) -> list[Any]:
        return list(await runtime.users.list_users(limit=limit, offset=offset))

    users = _run(settings, operation)
    if as_json:
        typer.echo(json.dumps([account_fields(u) for u in users], sort_keys=True))
        return
    for u in users:
        flags = [f for f, on in (("admin", u.is_admin), ("disabled", u.disabled)) if on]
        typer.echo(f"{u.id}  {u.email}  {_when(u.created_at)}  {' '.join(flags)}".rstrip())


def show(
    user: User, as_json: Json = False, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Show one account and its roles (never its password hash)."""
    from ..accounts.admin import account_fields

    settings = _settings(config, data_dir=data_dir)

    async def operation(runtime: Any) -> dict[str, Any]:
        found = await _find(runtime, user)
        body = account_fields(found)
        body["roles"] = _roles(await runtime.accounts.roles_of(found.id))
        return body

    _echo(_run(settings, operation), as_json)


def _set_disabled(user: str, disabled: bool, as_json: bool, settings: Any) -> None:
    async def operation(runtime: Any) -> dict[str, Any]:
        found = await _find(runtime, user)
        await runtime.service.set_disabled(found.id, disabled)
        return {"id": found.id, "disabled": disabled}

    _echo(_run(settings, operation), as_json)


def disable(
    user: User, as_json: Json = False, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Disable an account: logins refused, every session ended, its tokens stop."""
    _set_disabled(user, True, as_json, _settings(config, data_dir=data_dir))


def enable(
    user: User, as_json: Json = False, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Enable a disabled account (its old sessions stay ended)."""
    _set_disabled(user, False, as_json, _settings(config, data_dir=data_dir))


def set_password(
    user: User,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    as_json: Json = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Set an account's password (read from stdin, never the command line); every session
    ends and every access token stops."""
    if not password_stdin:
        _fail("pass --password-stdin and pipe the password (never on the command line)")
    password = _read_password()
    if not password:
        _fail("no password on standard input")
    settings = _settings(config, data_dir=data_dir)

    async def operation(runtime: Any) -> dict[str, Any]:
        found = await _find(runtime, user)
        version = await runtime.accounts.set_password(found.id, password)
        return {"id": found.id, "auth_version": version}

    _echo(_run(settings, operation), as_json)


def delete(
    user: User,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
    as_json: Json = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Delete an account: its sessions end, its tokens stop, its data is removed."""
    if not yes:
        _fail("deleting an account cannot be undone: pass --yes to confirm")
    settings = _settings(config, data_dir=data_dir)

    async def operation(runtime: Any) -> dict[str, Any]:
        found = await _find(runtime, user)
        ended = await runtime.accounts.delete_user(found.id)
        return {"id": found.id, "deleted": True, "sessions_ended": ended}

    _echo(_run(settings, operation), as_json)


def roles(
    user: User,
    add: Annotated[
        list[str] | None, typer.Option("--add", metavar="ROLE", help="Add a role (repeat).")
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", metavar="ROLE", help="Remove a role (repeat).")
    ] = None,
    client: Annotated[
        str | None,
        typer.Option("--client", metavar="CLIENT_ID", help="Only for this client (default: all)."),
    ] = None,
    as_json: Json = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Show an account's roles, or change them with --add and --remove. A removed role's
    scopes leave the account's tokens at their next refresh."""
    settings = _settings(config, data_dir=data_dir)

    async def operation(runtime: Any) -> dict[str, Any]:
        found = await _find(runtime, user)
        changed = await runtime.accounts.change_roles(
            found.id, add=add or (), remove=remove or (), client_id=client
        )
        return {"id": found.id, "roles": _roles(changed)}

    _echo(_run(settings, operation), as_json)


def register(app: typer.Typer) -> None:
    """Add ``users`` (with ``create`` from ``cli/server.py``) to the ``jwtwarden`` command."""
    present = {c.name for c in users_app.registered_commands}
    for name, command in _COMMANDS.items():
        if name not in present:  # registering twice (another scratch app) adds nothing
            users_app.command(name)(command)
    app.add_typer(users_app, name="users")


_COMMANDS: dict[str, Callable[..., None]] = {
    "list": list_users,
    "show": show,
    "disable": disable,
    "enable": enable,
    "set-password": set_password,
    "delete": delete,
    "roles": roles,
}
