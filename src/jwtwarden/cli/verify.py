"""``jwtwarden verify``: verify tokens against a key set and what the application expects.

One JSON object a line, in input order::

    {"valid": true, "header": {...}, "claims": {...}}
    {"valid": false, "error": "<code>", "detail": "..."}

Exit codes: 0 every token valid, 1 any token refused, 2 a usage or configuration error.
Batch mode builds the ``Verifier`` once and does nothing per token but verify and print.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, BinaryIO, TextIO

import typer

from ..errors import JWTWardenError, MalformedTokenError, TokenTooLargeError
from ..verify import Verifier
from ._common import (
    EXIT_OK,
    EXIT_REFUSED,
    AlgorithmOption,
    AllowLoopbackOption,
    DiscoveryOption,
    JWKSOption,
    JWKSURLOption,
    PEMOption,
    RequireClientIdOption,
    SecretFileOption,
    build_key_source,
    build_policy,
    usage_error,
)
from ._input import InputRefused, bounded_lines

__all__ = ["read_tokens", "register", "verify_command", "verify_lines"]

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


def read_tokens(stream: BinaryIO, max_size: int) -> Iterator[str | JWTWardenError]:
    """The lines of ``stream`` as tokens, each read with a cap of ``max_size`` bytes (the
    policy's ``max_token_size``): a longer line or one that is not UTF-8 is its refusal.

    Raises:
        InputRefused: one line runs past 1 MiB (``/dev/zero``, a binary file).
    """
    for raw in bounded_lines(stream, max_size):
        if raw is None:
            yield TokenTooLargeError(f"the line is over {max_size} bytes, the token size limit")
            continue
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield MalformedTokenError("the line is not valid UTF-8 (a JWT is ASCII)")


def verify_lines(
    verifier: Verifier, lines: Iterable[str | JWTWardenError], out: TextIO
) -> tuple[int, int]:
    """Verify each non-blank line and write one JSON result a line to ``out``.

    A line may already be a refusal (``read_tokens``: over-long, not UTF-8); it is written
    as one. Returns ``(tokens seen, tokens refused)``. Only jwtwarden errors are caught:
    anything else is a bug and is not turned into a refusal line.
    """
    seen = refused = 0
    write = out.write
    verify = verifier.verify
    for line in lines:
        if isinstance(line, JWTWardenError):
            seen += 1
            refused += 1
            write(_dumps({"valid": False, "error": line.code, "detail": line.detail}))
            write("\n")
            continue
        token = line.rstrip("\r\n")
        if not token or token.isspace():
            continue
        seen += 1
        try:
            result = verify(token)
        except JWTWardenError as exc:
            refused += 1
            record: dict[str, Any] = {"valid": False, "error": exc.code, "detail": exc.detail}
        else:
            record = {"valid": True, "header": result.header, "claims": result.claims}
        write(_dumps(record))
        write("\n")
    return seen, refused


def verify_command(
    issuer: Annotated[str, typer.Option("--issuer", help="The trusted issuer (exact match).")],
    audience: Annotated[
        list[str],
        typer.Option("--audience", help="This service's audience (repeat for several)."),
    ],
    token: Annotated[
        str | None,
        typer.Argument(
            metavar="[TOKEN | -]",
            help="The token; '-' or nothing reads tokens from stdin, one a line.",
        ),
    ] = None,
    jwks: JWKSOption = None,
    pem: PEMOption = None,
    secret_file: SecretFileOption = None,
    jwks_url: JWKSURLOption = None,
    discovery: DiscoveryOption = None,
    allow_loopback_http: AllowLoopbackOption = False,
    typ: Annotated[
        str | None,
        typer.Option("--type", help="The expected typ header, e.g. at+jwt (generic profile)."),
    ] = None,
    algorithm: AlgorithmOption = None,
    leeway: Annotated[
        float, typer.Option("--leeway", help="Clock skew allowed, in seconds.")
    ] = 30.0,
    max_age: Annotated[
        float | None, typer.Option("--max-age", help="Refuse tokens older than this (s).")
    ] = None,
    require: Annotated[
        list[str] | None,
        typer.Option("--require", help="A claim that must be present (repeatable)."),
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", help="generic, access (RFC 9068) or id (OpenID).")
    ] = "generic",
    require_client_id: RequireClientIdOption = True,
) -> None:
    """Verify tokens; print one JSON result a line. Exit 0 all valid, 1 any refused, 2 usage."""
    algorithms = list(algorithm or ())
    keys = build_key_source(
        jwks, jwks_url, discovery, allow_loopback_http, algorithms, pem=pem, secret_file=secret_file
    )
    policy = build_policy(
        keys,
        issuer=issuer,
        audiences=audience,
        typ=typ,
        algorithms=algorithms,
        leeway=leeway,
        max_age=max_age,
        require=list(require or ()),
        profile=profile,
        require_client_id=require_client_id,
    )
    verifier = Verifier(policy)
    lines: Iterable[str | JWTWardenError]
    if token is None or token == "-":
        lines = read_tokens(sys.stdin.buffer, policy.max_token_size)
    else:
        lines = (token,)
    try:
        seen, refused = verify_lines(verifier, lines, sys.stdout)
        sys.stdout.flush()
    except InputRefused as exc:
        sys.stdout.flush()
        usage_error(str(exc))
    except BrokenPipeError:
        # The reader went away (| head): stop quietly, and do not report success.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise typer.Exit(EXIT_REFUSED) from None
    if seen == 0:
        usage_error("no token given: pass TOKEN, or pipe tokens on stdin, one a line")
    raise typer.Exit(EXIT_REFUSED if refused else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add ``verify`` to the ``jwtwarden`` command line."""
    app.command("verify")(verify_command)
