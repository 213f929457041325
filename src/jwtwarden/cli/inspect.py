"""``jwtwarden inspect``: decode a token WITHOUT trusting it and explain it.

Shows the header and claims (times in UTC ISO form), findings (no ``exp``, long-lived access
tokens, ``alg`` none or HMAC, key-location headers, secrets or personal data in claims, size),
and, given ``--jwks``, ``--issuer`` and ``--audience``, each verifier check with its result.
The logic lives in ``jwtwarden.explain``; this module only renders it.

Exit codes: 0 decoded (and, with expectations, valid), 1 refused, 2 a usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..explain import Explanation, explain
from ._common import (
    EXIT_OK,
    EXIT_REFUSED,
    RequireClientIdOption,
    build_key_source,
    build_policy,
    usage_error,
)
from ._input import InputRefused, bounded_lines

# decode_unverified's own limit: inspect looks at larger tokens than the verifier accepts.
_MAX_INSPECTED = 65536

__all__ = ["inspect_command", "register", "render"]

_MARK = {True: ("pass", "green"), False: ("FAIL", "bold red"), None: ("-", "dim")}
_SEVERITY_STYLE = {"danger": "bold red", "warn": "yellow", "info": "cyan"}


def _show(value: Any) -> str:
    # JSON with ASCII escapes: token content is hostile, and must not drive the terminal
    # (control sequences) or rich markup.
    return json.dumps(value, ensure_ascii=True)


def _safe(text: str) -> str:
    """``text`` with every non-printable character escaped (``\x1b``, ``\x9b``, ``\u202e``).

    Findings and check details quote claim names and values from the token: an ESC, a C1
    CSI or a bidi override in them would otherwise reach the terminal as a control sequence.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def render(report: Explanation, console: Console) -> None:
    """Print ``report`` as rich tables."""
    console.print(Text(f"Token: {report.size} bytes, decoded without verification", "bold"))
    if report.decoded:
        header = Table(title="Header", show_header=False, title_justify="left")
        header.add_column("member", style="bold")
        header.add_column("value")
        for name, value in report.header.items():
            header.add_row(Text(_show(name)[1:-1]), Text(_show(value)))
        console.print(header)
        claims = Table(title="Claims", show_header=False, title_justify="left")
        claims.add_column("claim", style="bold")
        claims.add_column("value")
        claims.add_column("when")
        for name, value in (report.claims or {}).items():
            claims.add_row(
                Text(_show(name)[1:-1]), Text(_show(value)), Text(report.times.get(name, ""))
            )
        console.print(claims)
    findings = Table(title="Findings", title_justify="left")
    findings.add_column("severity")
    findings.add_column("code")
    findings.add_column("message")
    for f in report.findings:
        findings.add_row(
            Text(f.severity, _SEVERITY_STYLE[f.severity]),
            Text(_safe(f.code)),
            Text(_safe(f.message)),
        )
    if not report.findings:
        findings.add_row("", "", Text("nothing to report"))
    console.print(findings)
    if report.checks:
        checks = Table(title="Checks (the verifier's steps, one by one)", title_justify="left")
        checks.add_column("step")
        checks.add_column("result")
        checks.add_column("code")
        checks.add_column("why")
        for c in report.checks:
            label, style = _MARK[c.passed]
            checks.add_row(
                Text(_safe(c.step)),
                Text(label, style),
                Text(_safe(c.code or "")),
                Text(_safe(c.detail)),
            )
        console.print(checks)
    if report.valid is True:
        console.print(Text("Verdict: valid", "bold green"))
    elif report.valid is False:
        verdict = f"Verdict: refused ({report.error}): {report.error_detail}"
        console.print(Text(_safe(verdict), "bold red"))


def _token_from_stdin() -> str:
    """The first non-blank line of stdin, read with a cap; exit 1 if it cannot be a token."""
    try:
        for raw in bounded_lines(sys.stdin.buffer, _MAX_INSPECTED):
            if raw is None:
                _refuse(f"the token on stdin is over {_MAX_INSPECTED} bytes [token_too_large]")
            if raw.strip():
                try:
                    return raw.decode("utf-8").strip()
                except UnicodeDecodeError:
                    _refuse("the token on stdin is not valid UTF-8 (a JWT is ASCII) [malformed]")
    except InputRefused as exc:
        usage_error(str(exc))
    usage_error("no token on stdin")


def _refuse(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_REFUSED)


def _serve_web(port: int, allow_loopback_http: bool) -> NoReturn:
    """``--web``: the inspector page on loopback (``jwtwarden.inspector``)."""
    try:
        import uvicorn

        from ..inspector import inspector_app
    except ImportError:
        usage_error("--web needs jwtwarden[webapp] (pip install 'jwtwarden[webapp]')")
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
    app = inspector_app(
        allowed_hosts=hosts, allow_remote=True, allow_loopback_http=allow_loopback_http
    )
    typer.echo(f"Token inspector on http://127.0.0.1:{port}/ (loopback only; Ctrl-C stops it)")
    # No access log: nothing about the requests is written anywhere.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    raise typer.Exit(EXIT_OK)


def inspect_command(
    token: Annotated[
        str | None, typer.Argument(metavar="TOKEN", help="The token, or '-' for stdin.")
    ] = None,
    jwks: Annotated[
        Path | None, typer.Option("--jwks", help="The trusted keys, to run the checks.")
    ] = None,
    jwks_url: Annotated[str | None, typer.Option("--jwks-url")] = None,
    discovery: Annotated[str | None, typer.Option("--discovery")] = None,
    allow_loopback_http: Annotated[bool, typer.Option("--allow-loopback-http")] = False,
    issuer: Annotated[str | None, typer.Option("--issuer", help="The trusted issuer.")] = None,
    audience: Annotated[
        list[str] | None, typer.Option("--audience", help="This service's audience.")
    ] = None,
    typ: Annotated[str | None, typer.Option("--type", help="The expected typ header.")] = None,
    algorithm: Annotated[list[str] | None, typer.Option("--algorithm")] = None,
    leeway: Annotated[float, typer.Option("--leeway")] = 30.0,
    max_age: Annotated[float | None, typer.Option("--max-age")] = None,
    profile: Annotated[str, typer.Option("--profile")] = "generic",
    require_client_id: RequireClientIdOption = True,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document for machines.")] = (
        False
    ),
    web: Annotated[
        bool, typer.Option("--web", help="Serve the inspector page on 127.0.0.1 instead.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="The --web page's port.")] = 8765,
) -> None:
    """Decode a token without trusting it and explain it (and run the checks, given keys)."""
    if web:
        if token is not None:
            usage_error("--web takes no TOKEN: paste it into the page")
        _serve_web(port, allow_loopback_http)
    if token is None:
        usage_error("give the TOKEN (or '-' for stdin), or --web for the page")
    if token == "-":
        token = _token_from_stdin()
    expectations = [jwks, jwks_url, discovery, issuer, audience]
    policy = None
    if any(expectations):
        if not ((jwks or jwks_url or discovery) and issuer and audience):
            usage_error("to run the checks, give the keys (--jwks), --issuer and --audience")
        algorithms = list(algorithm or ())
        keys = build_key_source(
            jwks,
            jwks_url,
            discovery,
            allow_loopback_http,
            algorithms[0] if len(algorithms) == 1 else None,
        )
        assert issuer is not None and audience is not None
        policy = build_policy(
            keys,
            issuer=issuer,
            audiences=audience,
            typ=typ,
            algorithms=algorithms,
            leeway=leeway,
            max_age=max_age,
            profile=profile,
            require_client_id=require_client_id,
        )
    report = explain(token, policy)
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=True, indent=2) + "\n")
    else:
        render(report, Console(highlight=False))
    refused = report.valid is False or not report.decoded
    raise typer.Exit(EXIT_REFUSED if refused else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add ``inspect`` to the ``jwtwarden`` command line."""
    app.command("inspect")(inspect_command)
