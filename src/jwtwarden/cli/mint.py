"""``jwtwarden mint``: sign a token with the active key of a directory key store.

For development and operations (a token for a smoke test, a support case); applications mint
with ``jwtwarden.issue.Issuer``. The same claim lint, lifetime caps and size budget apply.

Exit codes: 0 printed, 1 refused (a claim looks like a secret, the token is over budget),
2 a usage or configuration error (no key, no KEK, a lifetime out of range).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import NoSigningKeyError
from ..issue import Issuer
from .keys import DirOption, EnvironmentOption, cli_errors, fail, open_ring

__all__ = ["mint", "register"]


def _claims(pairs: list[str], json_pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for raw, as_json in [(p, False) for p in pairs] + [(p, True) for p in json_pairs]:
        name, sep, value = raw.partition("=")
        if not sep or not name:
            fail(f"--claim{'-json' if as_json else ''} takes NAME=VALUE, not {raw[:40]!r}")
        if name in out:
            fail(f"claim {name!r} is given twice")
        if as_json:
            try:
                out[name] = json.loads(value)
            except ValueError:
                fail(f"the value of claim {name!r} is not valid JSON")
        else:
            out[name] = value
    return out


def mint(
    directory: DirOption,
    issuer: Annotated[str, typer.Option("--issuer", help="The iss claim (your server's URL).")],
    sub: Annotated[str, typer.Option("--sub", help="The subject (a stable user id).")],
    aud: Annotated[list[str], typer.Option("--aud", help="The audience; repeat for several.")],
    profile: Annotated[
        str, typer.Option("--type", help="The profile: access, id or reset.")
    ] = "access",
    claim: Annotated[
        list[str] | None, typer.Option("--claim", help="NAME=VALUE, a string claim; repeatable.")
    ] = None,
    claim_json: Annotated[
        list[str] | None,
        typer.Option("--claim-json", help="NAME=JSON, a claim of any JSON type; repeatable."),
    ] = None,
    ttl: Annotated[float | None, typer.Option("--ttl", help="Lifetime in seconds.")] = None,
    nonce: Annotated[str | None, typer.Option("--nonce", help="ID tokens: the nonce.")] = None,
    allow_long_ttl: Annotated[
        bool, typer.Option("--allow-long-ttl", help="Allow a lifetime over the profile's max.")
    ] = False,
    environment: EnvironmentOption = "development",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the token and its claims as JSON.")
    ] = False,
) -> None:
    """Mint a token signed by the active key of its profile and print it."""
    extra = _claims(claim or [], claim_json or [])
    with cli_errors(), _generate_hint(Path(directory), environment):
        # Minting signs with the active key; it changes nothing in the store (read-only).
        ring = open_ring(Path(directory), environment, read_only=True)
        minter = Issuer(issuer=issuer, keys=ring, environment=environment)
        token, claims = minter.mint_with_claims(
            profile,
            sub=sub,
            audience=aud[0] if len(aud) == 1 else aud,
            claims=extra,
            ttl=ttl,
            nonce=nonce,
            allow_long_ttl=allow_long_ttl,
        )
    if as_json:
        typer.echo(json.dumps({"token": token, "claims": claims}, indent=2))
    else:
        typer.echo(token)


@contextmanager
def _generate_hint(directory: Path, environment: str) -> Iterator[None]:
    # The library's message names a library call; on the command line, the hint is the command
    # that creates the missing key, runnable as printed (this --dir, this environment).
    try:
        yield
    except NoSigningKeyError as exc:
        use = re.search(r"for use '([^']+)'", exc.detail)
        command = f"jwtwarden keys generate --dir {shlex.quote(str(directory))}"
        command += f" --use {use.group(1) if use else 'USE'}"
        if environment != "development":
            command += f" -e {shlex.quote(environment)}"
        fail(
            f"no active signing key for that token profile in {directory} (environment "
            f"{environment!r}); create one with: {command} [{exc.code}]"
        )


def register(app: typer.Typer) -> None:
    """Add ``mint`` to the ``jwtwarden`` command line."""
    app.command("mint")(mint)
