"""The ``jwtwarden`` command line: a thin edge over the library.

Exit codes: 0 success (every token valid), 1 a token or key was refused, 2 a usage or
configuration error (with a clear message on stderr).
Each command group lives in its own module with a ``register(app)`` function, named in the
registration table below. A module is imported only when one of its commands runs (or a help
page lists it): ``jwtwarden verify -`` in a batch job does not pay for the server stack, rich
tables or the key store (issue 6: start-up counts in a batch job's throughput).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from ._conventions import apply_conventions

if TYPE_CHECKING:
    from typer._click import Command, Context

__all__ = ["app", "main"]

# --- command registration (one line per command: its name and the module registering it) -----
# In the order ``jwtwarden --help`` lists them.
_COMMANDS: dict[str, str] = {
    "mint": "mint",
    "verify": "verify",
    "inspect": "inspect",
    "serve": "server",
    "keys": "keys",
    "users": "users",
    "clients": "clients",
    "db": "server",
}
# --- end of command registration ------------------------------------------------------------


def _load(module_name: str, markup: typer.core.MarkupMode) -> dict[str, Command]:
    """Import one command module and build the click commands it registers."""
    module = importlib.import_module(f"{__name__}.{module_name}")
    scratch = typer.Typer(add_completion=False, rich_markup_mode=markup)
    module.register(scratch)
    # typer's own conversion, so options, help and panels are exactly as with eager loading.
    commands = dict(typer.main.get_group(scratch).commands)
    for command in commands.values():
        apply_conventions(command)
    return commands


class _LazyGroup(TyperGroup):
    """The top-level group: commands are built from their module on first use."""

    def get_help_option(self, ctx: Context) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""  # a flag: no <bool> after it
        return option

    def list_commands(self, ctx: Context) -> list[str]:
        return [*_COMMANDS, *(name for name in self.commands if name not in _COMMANDS)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            for name, command in _load(_COMMANDS[cmd_name], self.rich_markup_mode).items():
                self.commands.setdefault(name, command)
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        if args and args[0] not in _COMMANDS:
            # Not a command name (a typo, an option): build them all, so that typer's
            # "No such command ... Did you mean" has every command to suggest.
            for name in _COMMANDS:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="jwtwarden",
    cls=_LazyGroup,
    help="JWT authentication that is correct by default: verify, inspect, keys, mint, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"jwtwarden {__version__}")
        raise typer.Exit(0)


@app.callback()
def _group(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            metavar="",  # a flag: no <bool> after it
            help="Print the version of jwtwarden and exit.",
        ),
    ] = False,
) -> None:
    # Nothing to do: --version is handled by its eager callback.
    pass


def main() -> None:
    app()
