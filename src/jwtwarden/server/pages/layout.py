"""The pages' shared layout, style and security headers.

Every page is a ``string.Template`` (``$name`` placeholders; every value is HTML-escaped by
``render`` unless it is markup this package built) inside one layout with ``lang``, a
``<main>`` landmark and a skip-free single column. The style is inline, allowed by a nonce in a
strict Content-Security-Policy: ``default-src 'none'`` (no script, image, font or connection at
all; the e-mail link landings alone run one constant script under the nonce),
``style-src 'nonce-…'``, ``form-action`` limited to this server (and, on the sign-in page,
the origin of the one redirect URI the flow goes back to: Chromium applies ``form-action``
to the redirect that follows a form's submission), ``frame-ancestors 'none'``
and ``X-Frame-Options: DENY`` against clickjacking, ``base-uri 'none'``. Pages are never cached
(``Cache-Control: no-store`` from the edge) and never leak their URL to another site
(``Referrer-Policy: same-origin``: a page's query may hold an authorization request's
``state``). Not ``no-referrer``: under it Chromium sends ``Origin: null`` with the page's own
form posts (Fetch, "serializing a request origin"), and the sign-in's ``Origin`` check needs
the real one.
"""

from __future__ import annotations

import html
import secrets
from string import Template

from starlette.responses import HTMLResponse

__all__ = ["escape", "page_response", "template"]

_CSS = """
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #f6f7f9; --card: #fff; --muted: #57606a;
  --accent: #0b5cad; --accent-fg: #fff; --error: #b3261e; --border: #d0d7de; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --card: #161b22;
  --muted: #9da7b3; --accent: #4493f8; --accent-fg: #0d1117; --error: #ff8a80;
  --border: #30363d; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg);
  color: var(--fg); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { width: min(26rem, 100% - 2rem); margin: 2rem auto; padding: 2rem; background: var(--card);
  border: 1px solid var(--border); border-radius: 12px; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
p.lead { color: var(--muted); margin: 0 0 1.5rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .25rem; }
input[type=email], input[type=password] { width: 100%; padding: .6rem .75rem; font: inherit;
  color: inherit; background: transparent; border: 1px solid var(--border); border-radius: 8px; }
input[aria-invalid=true] { border-color: var(--error); }
button { margin-top: 1.5rem; width: 100%; padding: .7rem 1rem; font: inherit; font-weight: 600;
  color: var(--accent-fg); background: var(--accent); border: 0; border-radius: 8px;
  cursor: pointer; }
button.secondary { color: var(--fg); background: transparent; border: 1px solid var(--border); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.error { color: var(--error); font-weight: 600; margin: 1rem 0 0; }
.notice { margin: 1rem 0 0; }
ul.sessions { padding: 0; list-style: none; } ul.sessions li { padding: .5rem 0;
  border-bottom: 1px solid var(--border); }
a { color: var(--accent); }
"""

_LAYOUT = Template(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>$title</title>
<style nonce="$nonce">$css</style>
</head>
<body>
<main>
$body
</main>
$script</body>
</html>
"""
)


def escape(value: object) -> str:
    """HTML-escape ``value`` (quotes included: values go into attributes too)."""
    return html.escape(str(value), quote=True)


def template(text: str) -> Template:
    """A page template (``$name`` placeholders)."""
    return Template(text)


def page_response(
    *,
    title: str,
    body: str,
    status: int = 200,
    form_targets: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
    script: str | None = None,
) -> HTMLResponse:
    """The page ``body`` (markup built by a page module, its values escaped) in the layout,
    with the security headers. ``form_targets``: origins a form may end at besides this server
    (the redirect URI's origin on the sign-in page). ``script``: a constant inline script of
    this package (never built from request data), allowed by the page's nonce alone
    (CSP 3 ``script-src 'nonce-…'``); only the e-mail link landings have one."""
    nonce = secrets.token_urlsafe(16)
    tag = f'<script nonce="{nonce}">{script}</script>\n' if script else ""
    document = _LAYOUT.substitute(title=escape(title), nonce=nonce, css=_CSS, body=body, script=tag)
    form_action = " ".join(("'self'", *form_targets))
    scripts = f" script-src 'nonce-{nonce}';" if script else ""
    policy = (
        f"default-src 'none'; style-src 'nonce-{nonce}';{scripts} form-action {form_action}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    return HTMLResponse(
        document,
        status_code=status,
        headers={
            "Content-Security-Policy": policy,
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            **(headers or {}),
        },
    )
