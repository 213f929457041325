"""Conventions shared by every ``jwtwarden`` command (issue 17, "CLI conventions"), in one
place so that each command module stays a plain typer module:

- metavars that read as values (``TEXT``, ``SECONDS``, ``FILE``, ``URL``), never typer's
  ``<list[str]>``, and none at all on flags (``--json``, ``--help``);
- ``announce``: one line on stderr naming what a management command writes to (the database,
  the data directory), so a command run from the wrong folder says so;
- ``suggest``: "did you mean" for a misspelt name (difflib).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

if TYPE_CHECKING:
    # Imported where used: rich before 15 loads rich.table (and more) with rich.console, which
    # ``jwtwarden verify -`` must not pay for (tests/cli/test_cli_registration.py).
    from rich.console import Console

__all__ = [
    "announce",
    "apply_conventions",
    "describe_database",
    "embedded_database_path",
    "metavar_for",
    "slow_step",
    "suggest",
]

# Options whose number is a duration: their value reads as SECONDS.
_SECONDS = frozenset({"ttl", "leeway", "max_age", "timeout", "grace"})
_URLS = frozenset({"issuer", "jwks_url", "discovery", "url"})
_DIRECTORIES = frozenset({"directory", "data_dir", "dir", "out_dir"})
_ALGORITHMS = frozenset({"alg", "algorithm"})


def metavar_for(option: TyperOption) -> str:
    """The metavar an option's value reads as; ``""`` (nothing) for a flag."""
    if option.is_flag:
        return ""
    name = option.name or ""
    annotation = option.type_descriptor.annotation
    if option.type_descriptor.is_list:
        annotation = getattr(annotation, "__args__", (str,))[0]
    if option.type_descriptor.is_choice:
        return "|".join(str(c) for c in option.type_descriptor.choices or ())
    if annotation is Path or option.type_descriptor.is_path:
        return "DIR" if name in _DIRECTORIES else "FILE"
    if annotation is float or annotation is int:
        if name in _SECONDS or name.endswith("_ttl") or name.endswith("_seconds"):
            return "SECONDS"
        if name == "port":
            return "PORT"
        return "INTEGER" if annotation is int else "NUMBER"
    if name in _URLS:
        return "URL"
    if name in _ALGORITHMS:
        return "ALG"
    return "TEXT"


def _no_type_column(ctx: Any) -> None:
    # An argument's name column already reads as its value (TOKEN, EMAIL, KID); typer would add
    # its Python type (<str>) next to it.
    return None


def apply_conventions(command: Any) -> None:
    """Set the metavars of ``command`` and of every command under it (a typer/click tree)."""
    for param in command.params:
        if isinstance(param, TyperOption) and param.metavar is None:
            param.metavar = metavar_for(param)
        elif isinstance(param, TyperArgument):
            if param.metavar is None:
                param.metavar = (param.name or "value").upper()
            param.display_type_rich = _no_type_column  # type: ignore[method-assign]
    help_option = command.get_help_option(typer.Context(command))
    if help_option is not None:
        help_option.metavar = ""
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            apply_conventions(sub)


@contextmanager
def slow_step(label: str, *, enabled: bool, console: Console | None = None) -> Iterator[None]:
    """A spinner with ``label`` on stderr while a slow step runs, on a terminal only (a script
    or a pipe gets no animation); ``enabled`` says whether the step is slow at all."""
    if console is None:
        from rich.console import Console

        console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield
        return
    with console.status(f"{label}..."):
        yield
    console.print(f"{label}: done", highlight=False, markup=False)


def announce(message: str) -> None:
    """One line on stderr saying what a management command works on (never a secret)."""
    typer.echo(f"jwtwarden: {message}", err=True)


def embedded_database_path(settings: Any) -> Path | None:
    """The SQLite file of the default embedded database, or ``None`` for a configured URL."""
    if settings.database_url is not None:
        return None
    return Path(settings.data_dir, "jwtwarden.db").resolve()


def describe_database(settings: Any) -> str:
    """Which database: the SQLite file's path, or the server's kind, host, port and name.
    Never the user name or password of a URL."""
    embedded = embedded_database_path(settings)
    if embedded is not None:
        return f"sqlite {embedded} (data directory {settings.data_dir.resolve()})"
    from urllib.parse import urlsplit

    try:
        url = urlsplit(settings.database)
        host, port = url.hostname, url.port
    except ValueError:  # a bad URL is reported by the settings check; name nothing here
        return "the configured JWTWARDEN_DATABASE_URL"
    where = (host or "localhost") + (f":{port}" if port else "")
    backend = url.scheme.split("+", 1)[0]  # postgresql+asyncpg: the dialect, not the driver
    schema = f" (schema {settings.database_schema})" if settings.database_schema else ""
    return f"{backend} {where}{url.path}{schema}"


def suggest(name: str, known: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest known name, or ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
