"""``jwtwarden serve``, ``jwtwarden users create`` and ``jwtwarden db upgrade``: the auth
server's command line (needs ``jwtwarden[server]``).

Options override ``JWTWARDEN_*`` variables, which override the ``--config`` TOML file.
Exit codes: 0 done, 1 refused (the account exists), 2 a usage or configuration error.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

__all__ = ["register"]

EXIT_REFUSED = 1
EXIT_USAGE = 2

users_app = typer.Typer(help="Manage the auth server's accounts.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the auth server's database schema.", no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where SQLite and development keys live (./.jwtwarden)."),
]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="A TOML file of settings (JWTWARDEN_CONFIG).")
]


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"jwtwarden: {message}", err=True)
    raise typer.Exit(code)


def _settings(config: Path | None, *, export: bool = False, **overrides: Any) -> Any:
    """Validated settings, or exit 2 with every problem listed under the name the user typed
    (``--port``, ``JWTWARDEN_PORT``, the TOML key), values never echoed."""
    try:
        from ..server.settings import Settings
        from ..server.settings_report import (
            SettingsSources,
            describe_settings_errors,
            unknown_variables,
        )
    except ImportError:
        _fail("the auth server needs the server extra: pip install 'jwtwarden[server]'")
    config_name = str(config) if config is not None else os.environ.get("JWTWARDEN_CONFIG")
    config_keys = _read_config_file(Path(config_name)) if config_name else {}
    if config is not None:
        # Set once the file is known to be good (the Settings' TOML source reads it from here).
        os.environ["JWTWARDEN_CONFIG"] = str(config)
    given = {k: v for k, v in overrides.items() if v is not None}
    fields = list(Settings.model_fields)
    sources = SettingsSources(
        options={name: "--" + name.replace("_", "-") for name in given},
        environ=dict(os.environ),
        config_file=config_name,
        config_keys=config_keys,
    )
    problems, warnings = unknown_variables(os.environ, fields)
    for warning in warnings:
        typer.echo(f"jwtwarden: warning: {warning}", err=True)
    settings = None
    try:
        settings = Settings(**given)
    except Exception as exc:
        problems.extend(describe_settings_errors(exc, sources, fields))
    if problems or settings is None:
        _fail("configuration error:\n" + "\n".join(f"  {line}" for line in problems))
    if export:
        # Workers are separate processes that read the environment: hand them the options.
        for name, value in given.items():
            os.environ["JWTWARDEN_" + name.upper()] = str(value)
    return settings


def _read_config_file(config: Path) -> dict[str, Any]:
    """The TOML document of ``--config``; exit 2 unless it is a regular file of at most 1 MiB,
    in UTF-8 and valid TOML (naming the file and the line)."""
    import tomllib

    from ._input import MAX_CONFIG_FILE, InputRefused, read_regular_file

    try:
        raw = read_regular_file(config, MAX_CONFIG_FILE, "config file")
        return tomllib.loads(raw.decode("utf-8"))  # TOML 1.0: a document is UTF-8
    except OSError as exc:
        _fail(f"cannot read the config file {str(config)!r}: {exc.strerror or exc}")
    except InputRefused as exc:
        _fail(str(exc))
    except UnicodeDecodeError:
        _fail(f"the config file {str(config)!r} is not UTF-8 (TOML must be)")
    except tomllib.TOMLDecodeError as exc:
        _fail(f"the config file {str(config)!r} is not valid TOML: {exc}")


def _read_password() -> str:
    """The first line of stdin, at most 4096 bytes of UTF-8; exit 2 otherwise."""
    from ._input import MAX_PASSWORD, InputRefused, read_bounded_line

    try:
        return read_bounded_line(sys.stdin.buffer, MAX_PASSWORD, "password on standard input")
    except InputRefused as exc:
        _fail(str(exc))


def _data_dir(settings: Any, *, create_database: bool = False, offer_create: bool = True) -> None:
    """Say which database the command works on (one line on stderr), refuse to create a new
    embedded one unless asked (``--create-database``), then make the data directory 0700 if
    used; exit 2 if group or others can enter it, or if the database does not exist."""
    from ..server.runtime import prepare_data_dir
    from ._conventions import announce, describe_database, embedded_database_path

    announce(f"database: {describe_database(settings)}")
    missing = embedded_database_path(settings)
    if missing is not None and not missing.exists() and not create_database:
        # Issue 17: run from another folder, a management command would make a new, empty
        # ./.jwtwarden and the running server would never see the account it created.
        here = f" --data-dir {shlex.quote(str(settings.data_dir))}"
        create = (
            "add --create-database"
            if offer_create
            else f"create it with: jwtwarden db upgrade --create-database{here}"
        )
        _fail(
            f"no database at {missing}; refusing to create a new, empty one. Point at the "
            "running server's with --data-dir DIR or --config FILE (or JWTWARDEN_DATA_DIR), "
            f"or, to start a new one, {create}"
        )
    try:
        prepare_data_dir(settings)
    except ValueError as exc:
        _fail(f"cannot start: {exc}")


CreateDatabase = Annotated[
    bool,
    typer.Option(
        "--create-database",
        help="Create the embedded SQLite database if it does not exist yet (else refused).",
    ),
]


def _startup_error(exc: BaseException) -> NoReturn:
    from ..errors import JWTWardenError
    from ..server.migrate import SchemaNotCurrentError

    if isinstance(exc, JWTWardenError | SchemaNotCurrentError | ValueError):
        _fail(f"cannot start: {exc}")
    # Driver messages can quote connection details; name the failure, not its text.
    _fail(f"cannot start: {type(exc).__name__} (is the database reachable and migrated?)")


async def _prepare(settings: Any) -> None:
    from ..server.runtime import Runtime

    runtime = Runtime(settings)
    try:
        await runtime.start()
    finally:
        await runtime.close()


def _banner(settings: Any) -> None:
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    lines = [
        # Where it listens and what it calls itself are two things (behind a proxy, or with
        # --host 0.0.0.0 and an explicit issuer): say both.
        f"jwtwarden: listening on http://{host}:{settings.port}",
        f"jwtwarden: issuer {settings.issuer_url} (environment {settings.environment})",
    ]
    if settings.is_development:
        lines.append(
            "jwtwarden: DEVELOPMENT MODE: "
            f"{settings.database_kind} database, {settings.effective_key_store} key store "
            f"(development keys in {settings.data_dir / 'keys'}), "
            f"{settings.effective_denylist} denylist. Not for production: set "
            "JWTWARDEN_ENVIRONMENT=production, JWTWARDEN_ISSUER, JWTWARDEN_KEK, "
            "JWTWARDEN_DATABASE_URL and JWTWARDEN_REDIS_URL."
        )
    for line in lines:
        typer.echo(line, err=True)


def _check_port_free(host: str, port: int) -> None:
    """Exit 2 if ``host:port`` cannot be bound, before anything is created (issue 17)."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: SO_REUSEADDR, so a port in TIME_WAIT is not reported as busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                _fail(
                    f"cannot listen on {host}:{port}: the port is already in use (another "
                    "jwtwarden serve?); stop it or choose another with --port"
                )
            _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def serve(
    host: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="Address to listen on (127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (8000).")] = None,
    data_dir: DataDir = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (1).")] = None,
    config: ConfigFile = None,
) -> None:
    """Run the auth server (FastAPI on uvicorn). With no configuration: development mode on
    SQLite, development keys and an in-process denylist in ./.jwtwarden."""
    settings = _settings(
        config, export=True, host=host, port=port, data_dir=data_dir, workers=workers
    )
    # A busy port is reported before the data directory, the database or a key is created.
    _check_port_free(settings.host, settings.port)
    import uvicorn

    from ..server.logs import configure_logging, logging_config

    configure_logging(settings.log_level)
    _banner(settings)
    # serve creates the embedded database on first start: the development default.
    _data_dir(settings, create_database=True)
    try:
        # Migrate and create the first key once, here, before any worker races to do it.
        asyncio.run(_prepare(settings))
    except Exception as exc:
        _startup_error(exc)
    uvicorn.run(
        "jwtwarden.server.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        access_log=False,
        proxy_headers=settings.trusted_proxies is not None,
        forwarded_allow_ips=settings.trusted_proxies,
        server_header=False,
        # Slow and oversized clients (docs/server.md): a request line and headers of at most
        # 16 KiB (h11; else 431/400), idle keep-alive connections closed after 5 s, bodies
        # bounded in size and time by the app (max_body_bytes, body_timeout). uvicorn has no
        # header-read timeout: against slowloris that is the TLS proxy's client_header_timeout.
        h11_max_incomplete_event_size=16 * 1024,
        timeout_keep_alive=5,
        log_config=logging_config(settings.log_level),
        lifespan="on",
    )


@users_app.command("create")
def create_user(
    email: Annotated[str, typer.Argument(help="The account's email.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input (for scripts).",
        ),
    ] = False,
    admin: Annotated[bool, typer.Option("--admin", help="May use the admin API.")] = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
    create_database: CreateDatabase = False,
) -> None:
    """Create an account. The password is asked for on a terminal (hidden, twice) or read
    from stdin with --password-stdin; never from the command line."""
    if password_stdin:
        password = _read_password()
        if not password:
            _fail("no password on standard input")
    elif not sys.stdin.isatty():
        _fail(
            "no terminal to ask for the password: pipe it with --password-stdin "
            "(never on the command line)"
        )
    settings = _settings(config, data_dir=data_dir)
    _data_dir(settings, create_database=create_database)
    if not password_stdin:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    from ..errors import PasswordPolicyError, UserExistsError

    try:
        user = asyncio.run(_create_user(settings, email, password, admin))
    except (PasswordPolicyError, ValueError) as exc:
        _fail(str(exc))
    except UserExistsError as exc:
        _fail(str(exc), EXIT_REFUSED)
    except Exception as exc:
        _startup_error(exc)
    typer.echo(f"created user {user.id} <{user.email}>{' (admin)' if admin else ''}")


async def _create_user(settings: Any, email: str, password: str, admin: bool) -> Any:
    from ..server.migrate import check_schema, upgrade
    from ..sessions.passwords import PasswordHasher
    from ..sessions.ports import UserRecord
    from ..sessions.service import normalize_email
    from ..stores.sql import SQLUserStore, create_engine

    if settings.effective_auto_migrate:
        await asyncio.to_thread(upgrade, settings.database, schema=settings.database_schema)
    engine = create_engine(settings.database, schema=settings.database_schema, pool_size=1)
    try:
        await check_schema(engine)
        normalised = normalize_email(email)
        if normalised is None:
            raise ValueError(f"{email!r} is not an email address")
        import time
        import uuid

        hasher = PasswordHasher(min_length=settings.password_min_length)
        user = UserRecord(
            id=str(uuid.uuid4()),
            email=normalised,
            password_hash=await hasher.ahash(password),
            is_admin=admin,
            created_at=time.time(),
        )
        await SQLUserStore(engine).create_user(user)
        return user
    finally:
        await engine.dispose()


@db_app.command("upgrade")
def db_upgrade(
    data_dir: DataDir = None, config: ConfigFile = None, create_database: CreateDatabase = False
) -> None:
    """Bring the database schema to the newest migration (Alembic)."""
    settings = _settings(config, data_dir=data_dir)
    from ..server.migrate import head_revision, upgrade

    _data_dir(settings, create_database=create_database)
    try:
        upgrade(settings.database, schema=settings.database_schema)
    except Exception as exc:
        _startup_error(exc)
    typer.echo(f"database schema at revision {head_revision()}")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``db`` to the ``jwtwarden`` command (``users``, whose ``create`` is
    above: ``cli/users.py``)."""
    app.command("serve")(serve)
    app.add_typer(db_app, name="db")
