"""The sign-out page: a confirm form (a GET never signs anyone out: a link or an image on
another site could), and the page shown once signed out."""

from __future__ import annotations

from starlette.responses import HTMLResponse

from .layout import escape, page_response, template

__all__ = ["signed_out_page", "signout_page"]

_CONFIRM = template(
    """<h1>Sign out</h1>
<p class="lead">You are signed in as $email.</p>
<form method="post" action="/signout">
<input type="hidden" name="csrf_token" value="$csrf">
<button type="submit">Sign out</button>
</form>
<p class="notice"><a href="/account">Back to your account</a></p>"""
)

_DONE = template(
    """<h1>You are signed out</h1>
<p class="lead" role="status">$message</p>
<p class="notice"><a href="/signin">Sign in again</a></p>"""
)


def signout_page(*, email: str, csrf_token: str) -> HTMLResponse:
    body = _CONFIRM.substitute(email=escape(email), csrf=escape(csrf_token))
    return page_response(title="Sign out", body=body)


def signed_out_page(message: str = "This browser is no longer signed in.") -> HTMLResponse:
    return page_response(title="Signed out", body=_DONE.substitute(message=escape(message)))
