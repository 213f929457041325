"""The token inspector page: ``jwtwarden inspect`` in a browser.

Paste a token (and optionally a JWK Set, or an issuer to discover one, with an audience) and
see the header, the claims with human times, the findings and the verifier's steps, exactly as
``jwtwarden inspect`` reports them (``jwtwarden.explain`` does the work; this only renders).

The token never leaves the machine and nothing is kept: the page POSTs to the server that
served it (``jwtwarden inspect --web`` listens on loopback only), the answer is rendered in
memory, never logged, stored or cached (``Cache-Control: no-store``), and the token is not
echoed back into the page. The page runs no script at all, under a Content-Security-Policy
allowing only its own stylesheet and form, never framed. Requests whose ``Host`` is not the
expected one are refused (a DNS-rebinding page cannot use the inspector), and a POST must come
from the page's own origin.

The server mounts it at ``/inspect/`` when ``JWTWARDEN_INSPECTOR=true`` (off by default);
there it checks pasted JWK Sets only and never fetches an issuer (no outbound requests on a
visitor's say-so).
"""

from __future__ import annotations

import html
import json
from collections.abc import Collection
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from .errors import JWTWardenError
from .explain import Explanation, explain
from .keys.keyset import KeySet
from .policy import VerificationPolicy

__all__ = ["inspector_app"]

MAX_FORM_BYTES = 256 * 1024
_CSP = (
    "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "Cache-Control": "no-store",
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on the
    # form POST, which the Origin check rightly refuses.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px}h1{font-size:1.5em;margin:0 0 4px}
p.lead{color:#57606a;margin:0 0 18px}form{background:#fff;border:1px solid #d0d7de;
border-radius:8px;padding:16px;display:grid;gap:10px}label{font-weight:600}
textarea,input,select{font:13px ui-monospace,monospace;width:100%;box-sizing:border-box;
padding:8px;border:1px solid #d0d7de;border-radius:6px}textarea{min-height:90px}
.row{display:grid;grid-template-columns:1fr 1fr 160px;gap:10px}
button{justify-self:start;background:#0969da;color:#fff;border:0;border-radius:6px;
padding:8px 18px;font-weight:600;cursor:pointer}button:focus,a:focus,textarea:focus,
input:focus,select:focus{outline:3px solid #fb8500;outline-offset:1px}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:12px 16px;
margin-top:16px}h2{font-size:1.1em;margin:4px 0 8px}table{border-collapse:collapse;
width:100%}td,th{text-align:left;padding:4px 8px;border-top:1px solid #eaeef2;
vertical-align:top;font:13px ui-monospace,monospace;word-break:break-all}
.danger{color:#cf222e;font-weight:700}.warn{color:#9a6700;font-weight:700}.info{color:#0969da}
.pass{color:#1a7f37;font-weight:700}.fail{color:#cf222e;font-weight:700}
.verdict{font-size:1.1em;font-weight:700}
"""
_MARK = {True: ("pass", "pass"), False: ("FAIL", "fail"), None: ("-", "")}
_PROFILES = ("generic", "access", "id")


def _e(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=True)
    return html.escape(str(text))


def _policy(
    form: dict[str, str], *, allow_remote: bool, allow_loopback_http: bool
) -> VerificationPolicy | None:
    jwks, issuer, audience = form.get("jwks", ""), form.get("issuer", ""), form.get("audience", "")
    if not (jwks.strip() or issuer.strip() or audience.strip()):
        return None
    if not issuer.strip() or not audience.strip():
        raise ValueError("to run the checks, give the issuer and the audience (and the keys)")
    algorithms = [a for a in form.get("algorithm", "").replace(",", " ").split() if a]
    keys: Any
    if jwks.strip():
        keys = KeySet.from_jwks(jwks)
        algorithms = algorithms or sorted(keys.algorithms)
    elif allow_remote:
        from .jwks import RemoteJWKS

        keys = RemoteJWKS.from_discovery(issuer.strip(), allow_loopback_http=allow_loopback_http)
        algorithms = algorithms or ["ES256", "RS256"]
    else:
        raise ValueError("paste the issuer's JWK Set (this inspector fetches nothing)")
    common: dict[str, Any] = {
        "algorithms": algorithms,
        "issuer": issuer.strip(),
        "audience": [a for a in audience.split() if a],
        "keys": keys,
    }
    profile = form.get("profile", "generic")
    if profile == "access":
        return VerificationPolicy.access_token(**common)
    if profile == "id":
        return VerificationPolicy.id_token(**common)
    return VerificationPolicy(**common)


def _table(rows: Collection[tuple[str, ...]], head: tuple[str, ...]) -> str:
    cells = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def render_report(report: Explanation) -> str:
    """The report as HTML sections (every value from the token escaped)."""
    parts = [
        f'<section id="summary"><p>{report.size} bytes, decoded without verification</p></section>'
    ]
    if report.decoded:
        header = [(_e(k), _e(v)) for k, v in report.header.items()]
        parts.append(f'<section id="header"><h2>Header</h2>{_table(header, ("member", "value"))}')
        claims = [
            (_e(k), _e(v), _e(report.times.get(k, ""))) for k, v in (report.claims or {}).items()
        ]
        parts.append(
            '</section><section id="claims"><h2>Claims</h2>'
            f"{_table(claims, ('claim', 'value', 'when'))}</section>"
        )
    findings = [
        (f'<span class="{f.severity}">{f.severity}</span>', _e(f.code), _e(f.message))
        for f in report.findings
    ] or [("", "", "nothing to report")]
    table = _table(findings, ("severity", "code", "message"))
    parts.append(f'<section id="findings"><h2>Findings</h2>{table}</section>')
    if report.checks:
        rows = []
        for c in report.checks:
            label, css = _MARK[c.passed]
            rows.append(
                (_e(c.step), f'<span class="{css}">{label}</span>', _e(c.code or ""), _e(c.detail))
            )
        parts.append(
            '<section id="checks"><h2>Checks (the verifier\'s steps, one by one)</h2>'
            f"{_table(rows, ('step', 'result', 'code', 'why'))}</section>"
        )
    if report.valid is True:
        parts.append('<section><p class="verdict pass" id="verdict">Verdict: valid</p></section>')
    elif report.valid is False:
        verdict = f"Verdict: refused ({report.error}): {report.error_detail}"
        parts.append(f'<section><p class="verdict fail" id="verdict">{_e(verdict)}</p></section>')
    return "".join(parts)


def _page(base: str, form: dict[str, str], result: str, *, allow_remote: bool) -> str:
    selected = form.get("profile", "generic")
    options = "".join(
        f'<option value="{p}"{" selected" if p == selected else ""}>{p}</option>' for p in _PROFILES
    )
    keys_hint = "or leave empty and give the issuer (discovery)" if allow_remote else "pasted only"
    # The token is deliberately not echoed back into the page (it stays on screen only as
    # long as the form does); the expectations are, to try variations quickly.
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>jwtwarden token inspector</title><link rel="stylesheet" href="{base}style.css">'
        "</head><body><main><h1>Token inspector</h1>"
        '<p class="lead">Decoded without trusting it; the token is sent to this machine only '
        "and is neither stored nor logged.</p>"
        f'<form method="post" action="{base}" autocomplete="off">'
        '<label for="token">Token</label>'
        '<textarea id="token" name="token" required spellcheck="false"></textarea>'
        f'<label for="jwks">JWK Set ({keys_hint})</label>'
        f'<textarea id="jwks" name="jwks" spellcheck="false">{_e(form.get("jwks", ""))}</textarea>'
        '<div class="row"><div><label for="issuer">Issuer</label>'
        f'<input id="issuer" name="issuer" value="{_e(form.get("issuer", ""))}"></div>'
        '<div><label for="audience">Audience</label>'
        f'<input id="audience" name="audience" value="{_e(form.get("audience", ""))}"></div>'
        f'<div><label for="profile">Profile</label><select id="profile" name="profile">{options}'
        "</select></div></div>"
        '<button id="inspect" type="submit">Inspect</button></form>'
        f"{result}</main></body></html>"
    )


def inspector_app(
    *,
    allowed_hosts: Collection[str] | None = None,
    allow_remote: bool = False,
    allow_loopback_http: bool = False,
) -> Starlette:
    """The inspector as an ASGI app (mount it, or serve it on loopback).

    Parameters:
        allowed_hosts: the ``Host`` values accepted (``None``: any, for a mounted app the
            server's own host checks cover).
        allow_remote: fetch an issuer's keys by discovery when no JWK Set is pasted.
        allow_loopback_http: the development switch for that fetch.
    """
    hosts = frozenset(h.lower() for h in allowed_hosts) if allowed_hosts is not None else None

    def refused(request: Request) -> Response | None:
        host = request.headers.get("host", "").lower()
        if hosts is not None and host not in hosts:
            return PlainTextResponse("unknown host", status_code=421)
        if request.method == "POST":
            origin = request.headers.get("origin")
            if origin is not None and origin.lower() != f"{request.url.scheme}://{host}":
                return PlainTextResponse("cross-origin request refused", status_code=403)
        return None

    def base(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/") + "/"

    async def index(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        form: dict[str, str] = {}
        result = ""
        if request.method == "POST":
            if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
                return PlainTextResponse("too large", status_code=413)
            raw = await request.form()
            form = {k: v for k, v in raw.items() if isinstance(v, str)}
            result = _result(form, allow_remote=allow_remote, loopback=allow_loopback_http)
        body = _page(base(request), form, result, allow_remote=allow_remote)
        return HTMLResponse(body, headers=_HEADERS)

    async def style(request: Request) -> Response:
        return Response(_CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    return Starlette(
        routes=[Route("/", index, methods=["GET", "POST"]), Route("/style.css", style)]
    )


def _result(form: dict[str, str], *, allow_remote: bool, loopback: bool) -> str:
    token = form.get("token", "").strip()
    if not token:
        return '<section><p class="fail">Paste a token.</p></section>'
    try:
        policy = _policy(form, allow_remote=allow_remote, allow_loopback_http=loopback)
    except (ValueError, TypeError, JWTWardenError) as exc:
        detail = exc.detail if isinstance(exc, JWTWardenError) else str(exc)
        return f'<section><p class="fail" id="problem">{_e(detail)}</p></section>'
    return render_report(explain(token, policy))
