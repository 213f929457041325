"""The account page: who is signed in, the user's sign-in sessions, "sign out everywhere",
and a change of password that needs the current one."""

from __future__ import annotations

import datetime

from starlette.responses import HTMLResponse

from ...oauth.signin import SignInSession
from .layout import escape, page_response, template

__all__ = ["account_page"]

_BODY = template(
    """<h1>Your account</h1>
<p class="lead">Signed in as $email.</p>
$notice
<h2>Where you are signed in</h2>
<ul class="sessions">$sessions</ul>
<form method="post" action="/account/sign-out-everywhere">
<input type="hidden" name="csrf_token" value="$csrf">
<button type="submit" class="secondary">Sign out everywhere</button>
</form>
<h2>Change password</h2>
<form method="post" action="/account/password" novalidate>
<input type="hidden" name="csrf_token" value="$csrf">
<label for="current_password">Current password</label>
<input id="current_password" name="current_password" type="password"
  autocomplete="current-password" required$invalid>
<label for="new_password">New password</label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password"
  required$invalid>
$error
<button type="submit">Change password</button>
</form>
<h2>Your address and your account</h2>
<p class="notice"><a href="/account/change-email">Change your e-mail address</a></p>
<p class="notice"><a href="/account/delete-account">Delete your account</a></p>
<p class="notice"><a href="/signout">Sign out</a></p>"""
)


def _when(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def account_page(
    *,
    email: str,
    current_id: str,
    sessions: list[SignInSession],
    csrf_token: str,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    items = "".join(
        f"<li>Signed in {escape(_when(s.auth_time))}"
        f"{' (this browser)' if s.id == current_id else ''}</li>"
        for s in sessions
    )
    body = _BODY.substitute(
        email=escape(email),
        notice=f'<p class="notice" role="status">{escape(notice)}</p>' if notice else "",
        sessions=items,
        csrf=escape(csrf_token),
        invalid=' aria-invalid="true" aria-describedby="password-error"' if error else "",
        error=(
            f'<p id="password-error" class="error" role="alert">{escape(error)}</p>'
            if error
            else ""
        ),
    )
    return page_response(title="Your account", body=body, status=status)
