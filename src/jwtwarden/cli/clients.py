"""``jwtwarden clients create | list | show | disable | enable | rotate-secret | delete``: the
OAuth client registry of the auth server's database (needs ``jwtwarden[server]``).

Same operations and rules as the admin API (``/admin/clients``): both call
``oauth.registry.ClientRegistry``. A confidential client's secret is printed once, by
``create`` and ``rotate-secret``; nothing else ever shows it. Exit codes: 0 done, 1 no such
client, 2 a usage or configuration error (an invalid registration included).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer

from .server import EXIT_REFUSED, ConfigFile, DataDir, _data_dir, _fail, _settings, _startup_error

__all__ = ["register"]

T = TypeVar("T")

clients_app = typer.Typer(help="Manage the auth server's OAuth clients.", no_args_is_help=True)

Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ClientId = Annotated[str, typer.Argument(help="The client_id.")]


def _run(settings: Any, operation: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``operation(registry)`` against the configured database; map failures to exits."""
    from ..errors import ClientNotFoundError

    _data_dir(settings, offer_create=False)
    try:
        return asyncio.run(_with_registry(settings, operation))
    except ClientNotFoundError as exc:
        _fail(str(exc), EXIT_REFUSED)
    except ValueError as exc:
        _fail(str(exc))
    except Exception as exc:
        _startup_error(exc)


async def _with_registry(settings: Any, operation: Callable[[Any], Awaitable[T]]) -> T:
    from ..server.migrate import check_schema, upgrade
    from ..server.oauth_parts import client_registry, secret_hasher
    from ..stores.sql import SQLClientStore, create_engine

    if settings.effective_auto_migrate:
        await asyncio.to_thread(upgrade, settings.database, schema=settings.database_schema)
    engine = create_engine(settings.database, schema=settings.database_schema, pool_size=1)
    try:
        await check_schema(engine)
        registry = client_registry(
            settings, SQLClientStore(engine), secret_hasher(settings), _clock()
        )
        return await operation(registry)
    finally:
        await engine.dispose()


def _clock() -> Any:
    from ..clock import SYSTEM_CLOCK

    return SYSTEM_CLOCK


def _print(body: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(body, sort_keys=True))
        return
    for name in sorted(body):
        value = body[name]
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        typer.echo(f"{name}: {'' if shown is None else shown}")


@clients_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="A display name.")],
    redirect_uri: Annotated[
        list[str] | None, typer.Option("--redirect-uri", help="An exact redirect URI (repeat).")
    ] = None,
    client_type: Annotated[
        str, typer.Option("--type", help="public or confidential.")
    ] = "confidential",
    grant: Annotated[
        list[str] | None,
        typer.Option(
            "--grant", help="authorization_code, refresh_token or client_credentials (repeat)."
        ),
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="A scope it may ask for (repeat); none: identity only."),
    ] = None,
    audience: Annotated[
        list[str] | None, typer.Option("--audience", help="An aud for its tokens (repeat).")
    ] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None,
        typer.Option("--post-logout-redirect-uri", help="An exact post-logout URI (repeat)."),
    ] = None,
    auth_method: Annotated[
        str | None,
        typer.Option(
            "--auth-method",
            help="client_secret_basic (default), client_secret_post or private_key_jwt.",
        ),
    ] = None,
    jwks_uri: Annotated[
        str | None, typer.Option("--jwks-uri", help="private_key_jwt: the client's JWKS URL.")
    ] = None,
    jwks_file: Annotated[
        str | None, typer.Option("--jwks-file", help="private_key_jwt: a file of public JWKs.")
    ] = None,
    access_token_ttl: Annotated[
        int | None, typer.Option("--access-token-ttl", help="Seconds, within the server's.")
    ] = None,
    as_json: Json = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Register a client; prints its client_id and, if confidential, its secret (once)."""
    settings = _settings(config, data_dir=data_dir)
    jwks = _read_jwks(jwks_file) if jwks_file is not None else None

    async def operation(registry: Any) -> dict[str, Any]:
        created = await registry.create(
            name=name,
            type=client_type,
            redirect_uris=redirect_uri or (),
            post_logout_redirect_uris=post_logout_redirect_uri or (),
            grant_types=grant or None,
            scopes=scope or (),
            audiences=audience or (),
            token_endpoint_auth_method=auth_method,
            jwks=jwks,
            jwks_uri=jwks_uri,
            access_token_ttl=access_token_ttl,
        )
        body: dict[str, Any] = registry.view(created.client)
        if created.client_secret is not None:
            body["client_secret"] = created.client_secret
        return body

    _print(_run(settings, operation), as_json)


def _read_jwks(path: str) -> dict[str, Any]:
    from pathlib import Path

    from ._input import MAX_KEY_FILE, InputRefused, read_regular_file

    try:
        value = json.loads(read_regular_file(Path(path), MAX_KEY_FILE, "JWKS file"))
    except (OSError, InputRefused, ValueError) as exc:
        _fail(f"cannot read the JWKS file: {exc}")
    if not isinstance(value, dict):
        _fail("the JWKS file must hold a JSON object")
    return value


@clients_app.command("list")
def list_clients(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="At most this many clients.")
    ] = 100,
    after: Annotated[str | None, typer.Option("--after", help="A client_id (next page).")] = None,
    as_json: Json = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """List clients in registration order (never a secret)."""
    settings = _settings(config, data_dir=data_dir)

    async def operation(registry: Any) -> list[dict[str, Any]]:
        return [registry.view(c) for c in await registry.list(limit=limit, after=after)]

    clients = _run(settings, operation)
    if as_json:
        typer.echo(json.dumps({"clients": clients}, sort_keys=True))
        return
    for body in clients:
        state = " (disabled)" if body["disabled"] else ""
        typer.echo(f"{body['client_id']}  {body['client_type']}  {body['client_name']}{state}")


@clients_app.command("show")
def show(
    client_id: ClientId, as_json: Json = False, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Show one client (never its secret)."""
    settings = _settings(config, data_dir=data_dir)

    async def operation(registry: Any) -> dict[str, Any]:
        return dict(registry.view(await registry.get(client_id)))

    _print(_run(settings, operation), as_json)


def _set_disabled(
    client_id: str, disabled: bool, as_json: bool, data_dir: Any, config: Any
) -> None:
    settings = _settings(config, data_dir=data_dir)

    async def operation(registry: Any) -> dict[str, Any]:
        return dict(registry.view(await registry.set_disabled(client_id, disabled)))

    _print(_run(settings, operation), as_json)


@clients_app.command("disable")
def disable(
    client_id: ClientId, as_json: Json = False, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Disable a client: it can no longer authenticate; its client_credentials tokens stop
    being active at introspection."""
    _set_disabled(client_id, True, as_json, data_dir, config)


@clients_app.command("enable")
def enable(
    client_id: ClientId, as_json: Json = False, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Enable a disabled client."""
    _set_disabled(client_id, False, as_json, data_dir, config)


@clients_app.command("rotate-secret")
def rotate_secret(
    client_id: ClientId,
    overlap: Annotated[
        float | None,
        typer.Option("--overlap", help="Seconds the previous secret keeps working (86400)."),
    ] = None,
    as_json: Json = False,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """A new secret, printed once; the previous one works for the overlap, then never."""
    settings = _settings(config, data_dir=data_dir)

    async def operation(registry: Any) -> dict[str, Any]:
        secret = await registry.rotate_secret(client_id, overlap=overlap)
        body = dict(registry.view(await registry.get(client_id)))
        body["client_secret"] = secret
        return body

    _print(_run(settings, operation), as_json)


@clients_app.command("delete")
def delete(
    client_id: ClientId, as_json: Json = False, data_dir: DataDir = None, config: ConfigFile = None
) -> None:
    """Delete a client (its refresh tokens stop working at once)."""
    settings = _settings(config, data_dir=data_dir)

    async def operation(registry: Any) -> dict[str, Any]:
        await registry.delete(client_id)
        return {"client_id": client_id, "deleted": True}

    _print(_run(settings, operation), as_json)


def register(app: typer.Typer) -> None:
    """Add ``clients`` to the ``jwtwarden`` command."""
    app.add_typer(clients_app, name="clients")
