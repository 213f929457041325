"""``jwtwarden keys``: generate, list, rotate, revoke and publish signing keys.

Works over a directory key store (``--dir``; the KEK comes from ``$JWTWARDEN_KEK``, and only
the ``development`` environment generates one). Private key material is never printed, except
by ``keys export KID --private``, which says so on stderr.

Exit codes: 0 done, 1 a key was refused (a strength floor), 2 a usage or configuration error.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from .._jose.algorithms import RSA_MIN_BITS, spec_for
from ..errors import (
    JWTWardenError,
    KeyEnvironmentError,
    KeyStoreError,
    NoSigningKeyError,
)
from ..keys.generate import DEFAULT_ALGORITHM, DEFAULT_RSA_BITS
from ..keys.records import KeyRecord
from ..keys.rotation import DEFAULT_ALGORITHMS, KeyChange, KeyRing
from ..stores.files import DirectoryKeyStore
from ._common import EXIT_REFUSED, EXIT_USAGE
from ._conventions import announce, slow_step

__all__ = ["keys_app", "register"]

keys_app = typer.Typer(
    name="keys",
    help="Generate, list, rotate, revoke and publish signing keys.",
    no_args_is_help=True,
)

# Configuration problems (exit 2) as opposed to refusals (exit 1).
_CONFIG_ERRORS = (KeyStoreError, KeyEnvironmentError, NoSigningKeyError)

DirOption = Annotated[
    Path,
    typer.Option(
        "--dir",
        envvar="JWTWARDEN_KEY_DIR",
        help="The key directory; it must exist (`jwtwarden keys generate --dir DIR` creates "
        "it). The KEK comes from $JWTWARDEN_KEK.",
    ),
]
NewDirOption = Annotated[
    Path,
    typer.Option(
        "--dir",
        envvar="JWTWARDEN_KEY_DIR",
        help="The key directory, created 0700 if it does not exist. The KEK comes from "
        "$JWTWARDEN_KEK.",
    ),
]
RSABitsOption = Annotated[
    int,
    typer.Option(
        "--rsa-bits",
        min=RSA_MIN_BITS,
        metavar="BITS",
        help="The modulus size of a new RSA key (RS*/PS* algorithms).",
    ),
]
EnvironmentOption = Annotated[
    str,
    typer.Option(
        "--environment",
        "-e",
        envvar="JWTWARDEN_ENVIRONMENT",
        help="The environment the keys belong to (production, staging, development...).",
    ),
]


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``message`` on stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn library errors into messages and exit codes (2 usage/config, 1 refused)."""
    try:
        yield
    except _CONFIG_ERRORS as exc:
        fail(f"{exc.detail} [{exc.code}]", EXIT_USAGE)
    except JWTWardenError as exc:
        fail(f"refused: {exc.detail} [{exc.code}]", EXIT_REFUSED)
    except (ValueError, TypeError) as exc:
        fail(str(exc), EXIT_USAGE)


def open_ring(
    directory: Path,
    environment: str,
    *,
    create: bool = False,
    read_only: bool = False,
    **options: Any,
) -> KeyRing:
    """A ``KeyRing`` over the directory store (raises library errors; wrap in cli_errors).

    Without ``algorithms=``, new keys (scheduled, rotated, replacements) keep the algorithm of
    the key they replace: the command line has no configuration to take another from. Only
    ``keys generate`` creates a store (``create=True``): a mistyped ``--dir`` given to any
    other command must not quietly make an empty store and a development KEK. Commands that
    only read (``list``, ``jwks``, ``export``) pass ``read_only=True``: they never create a
    file, not even the development KEK of an environment the directory does not hold.
    """
    if not create and not directory.is_dir():
        fail(
            f"no key store at {directory}; create one with: "
            f"jwtwarden keys generate --dir {shlex.quote(str(directory))}"
        )
    if not read_only:
        # A command that changes the store says which one, on stderr (issue 17).
        announce(f"key store: {directory.resolve()} (environment {environment})")
    store = DirectoryKeyStore(directory, environment=environment, read_only=read_only)
    options.setdefault("algorithms", {})
    return KeyRing(store, **options)


def _when(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _record_json(record: KeyRecord) -> dict[str, Any]:
    return record.to_metadata()


def _print_changes(changes: list[KeyChange], nothing: str) -> None:
    if not changes:
        typer.echo(nothing)
    for change in changes:
        typer.echo(f"{change.change:<9} {change.kid} (token_use {change.use})")


@keys_app.command("generate")
def generate(
    directory: NewDirOption,
    use: Annotated[str, typer.Option("--use", help="The token use it signs.")] = "access",
    alg: Annotated[str, typer.Option("--alg", help="The algorithm.")] = DEFAULT_ALGORITHM,
    environment: EnvironmentOption = "development",
    rsa_bits: RSABitsOption = DEFAULT_RSA_BITS,
) -> None:
    """Generate the first key of a use and make it active (use `rotate` to replace one)."""
    with cli_errors():
        spec_for(alg)  # a bad name is refused before anything is created (es256 -> ES256?)
    created = not directory.exists()
    try:
        _generate(directory, use, alg, environment, rsa_bits)
    except BaseException:
        # A failed generate leaves nothing behind: a directory it made (and the development
        # KEK in it) is removed; an existing store is left as it was.
        if created and directory.is_dir():
            shutil.rmtree(directory, ignore_errors=True)
        raise


def _generate(directory: Path, use: str, alg: str, environment: str, rsa_bits: int) -> None:
    with cli_errors():
        ring = open_ring(
            directory, environment, create=True, algorithms={use: alg}, rsa_bits=rsa_bits
        )
        active = [r for r in ring.status() if r.key.token_use == use and r.state == "active"]
        if active:
            current = active[-1]
            if current.key.alg == alg:
                typer.echo(f"token_use {use!r} already has an active {alg} key: {current.kid}")
                return
            fail(
                f"token_use {use!r} already has an active {current.key.alg} key "
                f"({current.kid}); replace it with: jwtwarden keys rotate "
                f"--dir {shlex.quote(str(directory))} --use {use} --alg {alg}"
                + (f" -e {shlex.quote(environment)}" if environment != "development" else "")
            )
        with slow_step(f"generating an RSA {rsa_bits}-bit key", enabled=_slow(alg, rsa_bits)):
            changes = ring.ensure([use])
        _print_changes(changes, "nothing to do")


def _slow(alg: str, rsa_bits: int) -> bool:
    # RSA key generation grows with the cube of the size: 4096 bits takes seconds.
    return alg[:2] in ("RS", "PS") and rsa_bits >= 4096


@keys_app.command("list")
def list_keys(
    directory: DirOption,
    environment: EnvironmentOption = "development",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List every key: kid, algorithm, use, environment, state and dates."""
    with cli_errors():
        records = open_ring(directory, environment, read_only=True).status()
    if as_json:
        typer.echo(json.dumps([_record_json(r) for r in records], indent=2))
        return
    table = Table(title=f"keys in {directory} ({environment})")
    # A kid is copied from here into commands: never wrapped or cut (no_wrap, no ellipsis).
    table.add_column("kid", no_wrap=True, overflow="ignore", min_width=43)
    # One name per concept: "token_use" as in --json (a JWK's own "use" is "sig", RFC 7517 4.2).
    for column in ("alg", "token_use", "environment", "state"):
        table.add_column(column, overflow="fold")
    for column in ("published", "activates", "retires", "removed"):
        table.add_column(column, no_wrap=True)
    for r in records:
        state = "revoked" if r.revoked else r.state.value
        table.add_row(
            r.kid,
            r.key.alg,
            r.key.token_use or "-",
            r.key.environment or "-",
            state,
            _when(r.publish_at),
            _when(r.activate_at),
            _when(r.retire_at),
            _when(r.remove_at),
        )
    Console(width=max(160, Console().width)).print(table)


@keys_app.command("rotate")
def rotate(
    directory: DirOption,
    use: Annotated[str, typer.Option("--use", help="The token use to rotate.")] = "access",
    environment: EnvironmentOption = "development",
    immediate: Annotated[
        bool, typer.Option("--immediate", help="Sign with the new key now (skips publishing).")
    ] = False,
    alg: Annotated[str | None, typer.Option("--alg", help="Algorithm of the new key.")] = None,
    rsa_bits: RSABitsOption = DEFAULT_RSA_BITS,
) -> None:
    """Start a rotation: a new key, published now, signing after the publish-ahead delay."""
    with cli_errors():
        ring = open_ring(directory, environment, rsa_bits=rsa_bits)
        if alg is None and not any(r.key.token_use == use for r in ring.status()):
            alg = DEFAULT_ALGORITHMS.get(use, DEFAULT_ALGORITHM)
        if alg is not None:
            spec_for(alg)
        bits_slow = _slow(alg or "", rsa_bits)
        with slow_step(f"generating an RSA {rsa_bits}-bit key", enabled=bits_slow):
            record = ring.rotate(use, immediate=immediate, algorithm=alg)
    typer.echo(
        f"{record.kid} ({record.key.alg}, token_use {use}) signs from {_when(record.activate_at)}"
    )


@keys_app.command("revoke")
def revoke(
    directory: DirOption,
    kid: Annotated[str, typer.Argument(help="The kid of the key to remove now.")],
    environment: EnvironmentOption = "development",
) -> None:
    """Remove a key at once (compromise); a replacement signs immediately."""
    with cli_errors():
        changes = open_ring(directory, environment).revoke(kid)
    _print_changes(changes, f"{kid} was already revoked")


@keys_app.command("tick")
def tick(directory: DirOption, environment: EnvironmentOption = "development") -> None:
    """Apply the rotation schedule (run from cron or a timer)."""
    with cli_errors():
        changes = open_ring(directory, environment).tick()
    _print_changes(changes, "no change")


@keys_app.command("jwks")
def jwks(directory: DirOption, environment: EnvironmentOption = "development") -> None:
    """Print the public JWK Set (public members, kid, alg, use; never an HMAC key)."""
    with cli_errors():
        ring = open_ring(directory, environment, read_only=True)
        document = ring.jwks()
        max_age = ring.jwks_max_age()
    typer.echo(json.dumps(document, indent=2))
    typer.echo(f"Cache-Control: public, max-age={max_age}", err=True)


@keys_app.command("export")
def export(
    directory: DirOption,
    kid: Annotated[str, typer.Argument(help="The kid of the key to export.")],
    environment: EnvironmentOption = "development",
    private: Annotated[
        bool, typer.Option("--private", help="Print the PRIVATE key (keep it secret).")
    ] = False,
) -> None:
    """Print one key as a JWK: public by default, the private key only with --private."""
    with cli_errors():
        ring = open_ring(directory, environment, read_only=True)
        found = [r for r in ring.status() if r.kid == kid]
        if not found:
            fail(f"no key {kid!r} in {directory} ({environment})")
        key = found[0].key
        if private:
            if not key.is_private:
                fail(f"key {kid!r} has no private half any more (revoked)")
            typer.echo("warning: printing a PRIVATE key; it can sign tokens", err=True)
            document = key.export_private_jwk()
        elif key.is_symmetric:
            fail("an HMAC key has no public half; export it with --private if you must")
        else:
            document = key.public_jwk()
    typer.echo(json.dumps(document, indent=2))
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add ``keys`` (and its subcommands) to the ``jwtwarden`` command line."""
    app.add_typer(keys_app, name="keys")
