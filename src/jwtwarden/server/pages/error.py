"""The error page: an authorization request that cannot be sent back to its client (unknown
client, unregistered redirect URI) is shown here and never redirected (RFC 6749 4.1.2.1,
RFC 9700 4.11: no open redirector); also expired forms and refused sign-in posts."""

from __future__ import annotations

from starlette.responses import HTMLResponse

from .layout import escape, page_response, template

__all__ = ["error_page"]

_BODY = template(
    """<h1>$title</h1>
<p class="lead" role="alert">$message</p>
<p class="notice">Error code: <code>$code</code>. Go back to the application and try again.</p>"""
)


def error_page(
    *, title: str, message: str, code: str, status: int = 400, headers: dict[str, str] | None = None
) -> HTMLResponse:
    body = _BODY.substitute(title=escape(title), message=escape(message), code=escape(code))
    return page_response(title=title, body=body, status=status, headers=headers)
