"""``jwtwarden inspect``: decode a token WITHOUT trusting it and explain it.

Shows the header and claims (times in UTC ISO form), findings (no ``exp``, long-lived access
tokens, ``alg`` none or HMAC, key-location headers, secrets or personal data in claims, size),
given keys alone (``--jwks``, ``--pem``, ``--secret-file``...) whether the signature verifies,
and given keys, ``--issuer`` and ``--audience``, each verifier check with its result.
The logic lives in ``jwtwarden.explain``; this module only renders it.

Exit codes: 0 decoded (and, with expectations, valid), 1 refused, 2 a usage error.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import JWTWardenError
from ..explain import CheckResult, Explanation, explain
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
    default_algorithms,
    usage_error,
    warm_up,
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


def _signature_only(token: str, keys: Any, algorithms: list[str]) -> list[CheckResult]:
    """The JOSE layer alone (``JWSVerifier``): structure, header, key and signature."""
    from ..verify import JWSVerifier

    if not algorithms:
        algorithms = default_algorithms(keys)
    try:
        verifier = JWSVerifier(keys=keys, algorithms=algorithms, max_token_size=_MAX_INSPECTED)
    except (ValueError, TypeError) as exc:
        usage_error(f"unsafe or invalid policy: {exc}")
    warm_up(keys)
    try:
        verifier.verify(token)
    except JWTWardenError as exc:
        return [CheckResult(step="signature", passed=False, detail=exc.detail, code=exc.code)]
    return [
        CheckResult(
            step="signature", passed=True, detail="the signature verifies with a trusted key"
        ),
        CheckResult(
            step="claims",
            passed=None,
            detail="not checked: give --issuer and --audience to run the claim checks",
        ),
    ]


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
    jwks: JWKSOption = None,
    pem: PEMOption = None,
    secret_file: SecretFileOption = None,
    jwks_url: JWKSURLOption = None,
    discovery: DiscoveryOption = None,
    allow_loopback_http: AllowLoopbackOption = False,
    issuer: Annotated[
        str | None, typer.Option("--issuer", help="The trusted issuer (exact match).")
    ] = None,
    audience: Annotated[
        list[str] | None,
        typer.Option("--audience", help="This service's audience (repeat for several)."),
    ] = None,
    typ: Annotated[
        str | None, typer.Option("--type", help="The expected typ header (generic profile).")
    ] = None,
    algorithm: AlgorithmOption = None,
    leeway: Annotated[
        float, typer.Option("--leeway", help="Clock skew allowed, in seconds.")
    ] = 30.0,
    max_age: Annotated[
        float | None, typer.Option("--max-age", help="Refuse tokens older than this (s).")
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", help="generic, access (RFC 9068) or id (OpenID).")
    ] = "generic",
    require_client_id: RequireClientIdOption = True,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document for machines.")] = (
        False
    ),
    web: Annotated[
        bool, typer.Option("--web", help="Serve the inspector page on 127.0.0.1 instead.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="The --web page's port.")] = 8765,
) -> None:
    """Decode a token without trusting it and explain it. With keys alone, check its signature;
    with keys, --issuer and --audience, run every check of the verifier."""
    if web:
        if token is not None:
            usage_error("--web takes no TOKEN: paste it into the page")
        _serve_web(port, allow_loopback_http)
    if token is None:
        usage_error("give the TOKEN (or '-' for stdin), or --web for the page")
    if token == "-":
        token = _token_from_stdin()
    has_keys = bool(jwks or pem or secret_file or jwks_url or discovery)
    algorithms = list(algorithm or ())
    policy = None
    signature_checks: list[CheckResult] | None = None
    if has_keys or issuer or audience:
        if not has_keys:
            usage_error("to run the checks, give the keys too (--jwks, --pem, --secret-file...)")
        keys = build_key_source(
            jwks,
            jwks_url,
            discovery,
            allow_loopback_http,
            algorithms,
            pem=pem,
            secret_file=secret_file,
        )
        if issuer and audience:
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
        elif issuer or audience:
            usage_error("the claim checks need both --issuer and --audience (or neither)")
        else:
            signature_checks = _signature_only(token, keys, algorithms)
    report = explain(token, policy)
    if signature_checks is not None and report.decoded:
        failed = next((c for c in signature_checks if c.passed is False), None)
        report = dataclasses.replace(
            report,
            checks=tuple(signature_checks),
            valid=failed is None,
            error=failed.code if failed else None,
            error_detail=failed.detail if failed else None,
        )
    if as_json:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=True, indent=2) + "\n")
    else:
        render(report, Console(highlight=False))
        if signature_checks is not None and report.valid:
            typer.echo("signature valid; claims not checked (give --issuer and --audience)")
    refused = report.valid is False or not report.decoded
    raise typer.Exit(EXIT_REFUSED if refused else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add ``inspect`` to the ``jwtwarden`` command line."""
    app.command("inspect")(inspect_command)
