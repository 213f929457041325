"""The sign-in page: inputs ``email`` and ``password``, the CSRF token, and (in a flow) the
sealed authorization request. One uniform failure message for every credential failure
(no account enumeration), linked to both inputs with ``aria-describedby``."""

from __future__ import annotations

from starlette.responses import HTMLResponse

from .layout import escape, page_response, template

__all__ = ["FAILED", "signin_page"]

FAILED = "The email or password is wrong."

_FORM = template(
    """<h1>Sign in</h1>
<p class="lead">$lead</p>
<form method="post" action="/signin" novalidate>
<input type="hidden" name="csrf_token" value="$csrf">
$pending
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required
  value="$email"$invalid$autofocus_email>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required
  $invalid$autofocus_password>
$error
<button type="submit">Sign in</button>
</form>
<p class="notice"><a href="/forgot-password">Forgot your password?</a></p>
$signup"""
)


def signin_page(
    *,
    csrf_token: str,
    pending: str | None,
    client_name: str | None,
    error: str | None = None,
    email: str = "",
    status: int = 200,
    form_targets: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
    signup: bool = False,
) -> HTMLResponse:
    """The form (linking the forgot-password page, and the sign-up page if ``signup``);
    ``pending`` is the sealed authorization request (``None``: a plain sign-in that ends on the
    account page); ``error`` the message shown above the button."""
    lead = f"to continue to {escape(client_name)}" if client_name else "to manage your account"
    described = ' aria-invalid="true" aria-describedby="signin-error"' if error else ""
    body = _FORM.substitute(
        lead=lead,
        csrf=escape(csrf_token),
        pending=(
            f'<input type="hidden" name="request" value="{escape(pending)}">' if pending else ""
        ),
        email=escape(email),
        invalid=described,
        autofocus_email="" if email else " autofocus",
        autofocus_password=" autofocus" if email else "",
        signup='<p class="notice"><a href="/signup">Create an account</a></p>' if signup else "",
        error=(
            f'<p id="signin-error" class="error" role="alert">{escape(error)}</p>' if error else ""
        ),
    )
    return page_response(
        title="Sign in", body=body, status=status, form_targets=form_targets, headers=headers
    )
