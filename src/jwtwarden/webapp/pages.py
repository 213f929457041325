"""The few pages the SDK answers itself (session ended, sign-in failed, provider down, the
sign-out confirmation), and the cookie and header helpers both framework adapters share.

Plain HTML, every interpolated value escaped, no script, served with a Content-Security-Policy
that allows nothing but the page's own form (and never inside a frame).
"""

from __future__ import annotations

import html

from ..errors import (
    CSRFError,
    ProviderUnavailableError,
    SessionEndedError,
    SessionTooLargeError,
    SignInError,
    StoreUnavailableError,
    WebSessionError,
)
from .csrf import CSRF_FIELD

__all__ = [
    "clear_cookie",
    "error_page",
    "page",
    "page_headers",
    "set_cookie",
    "sign_in_page",
    "sign_out_page",
]


def page_headers(provider_origin: str) -> dict[str, str]:
    """The headers of the SDK's pages. ``form-action`` names the provider too: CSP applies
    it to the redirects after a form submission, and sign-out redirects to the provider."""
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; form-action 'self' {provider_origin}; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "Cache-Control": "no-store",
        # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on a
        # form POST (the sign-out form), which the CSRF Origin check refuses.
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
    }


def set_cookie(name: str, value: str, max_age: int) -> str:
    """A ``Set-Cookie`` value: ``__Host-`` rules (RFC 6265bis 4.1.3.2: Secure, Path=/, no
    Domain), HttpOnly (no script reads it), SameSite=Lax (no cross-site POST carries it)."""
    return f"{name}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax"


def clear_cookie(name: str) -> str:
    """A ``Set-Cookie`` value that deletes the cookie ``name``."""
    return f"{name}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"


def page(title: str, body: str) -> str:
    """A complete page; ``body`` is HTML the caller escaped."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body><main>"
        f"<h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


def error_page(exc: WebSessionError | StoreUnavailableError, login_path: str) -> tuple[int, str]:
    """The status and page for an SDK error (never a 500 for a refused session)."""
    if isinstance(exc, StoreUnavailableError):
        # The server-side session store is down: a 503, and the cookie stays.
        return 503, page(
            "Sessions are unavailable",
            "<p>Please try again in a moment; you are still signed in.</p>",
        )
    sign_in = f'<p><a id="sign-in" href="{html.escape(login_path)}">Sign in again</a></p>'
    if isinstance(exc, SessionEndedError):
        return 401, page(
            "Your session has ended",
            "<p>You were signed out: the sign-in provider no longer accepts this session "
            "(it was ended elsewhere, or its credentials were used from another place).</p>"
            + sign_in,
        )
    if isinstance(exc, SignInError):
        return 400, page("Sign-in did not complete", f"<p>{html.escape(exc.detail)}</p>" + sign_in)
    if isinstance(exc, ProviderUnavailableError):
        return 503, page(
            "The sign-in provider is unavailable",
            "<p>Please try again in a moment; you are still signed in.</p>",
        )
    if isinstance(exc, CSRFError):
        return 403, page("Request refused", "<p>This request did not come from this site.</p>")
    if isinstance(exc, SessionTooLargeError):
        return 500, page(
            "Session too large", "<p>The application keeps too much in the session.</p>"
        )
    return 400, page("Request refused", f"<p>{html.escape(exc.detail)}</p>")


def sign_in_page(login_path: str) -> str:
    """The answer to a request that needs a session and has none (not a GET: no redirect)."""
    link = f'<p><a id="sign-in" href="{html.escape(login_path)}">Sign in</a></p>'
    return page("Sign-in required", link)


def sign_out_page(logout_path: str, csrf_token: str) -> str:
    """The sign-out confirmation (sign-out is a POST: a link or image cannot sign you out)."""
    return page(
        "Sign out",
        f'<form method="post" action="{html.escape(logout_path)}">'
        f'<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(csrf_token)}">'
        '<button id="sign-out" type="submit">Sign out</button></form>',
    )
