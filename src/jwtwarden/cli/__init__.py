"""The ``jwtwarden`` command line: a thin edge over the library.

Exit codes: 0 success (every token valid), 1 a token or key was refused, 2 a usage or
configuration error (with a clear message on stderr).
Each command group lives in its own module and registers itself on ``app`` below.
"""

from __future__ import annotations

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="jwtwarden",
    help="JWT authentication that is correct by default: verify, inspect, keys, mint, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# --- command registration (one line per module) ---------------------------------------------
# --- end of command registration ------------------------------------------------------------


def main() -> None:
    app()
