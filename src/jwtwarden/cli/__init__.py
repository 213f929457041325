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
from . import inspect as _inspect  # noqa: E402
from . import keys as _keys  # noqa: E402, F401
from . import mint as _mint  # noqa: E402, F401
from . import server as _server  # noqa: E402
from . import verify as _verify  # noqa: E402

_verify.register(app)
_inspect.register(app)
_server.register(app)
# --- end of command registration ------------------------------------------------------------


def main() -> None:
    app()
