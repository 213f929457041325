"""The account lifecycle's hosted pages (issue 15) over the same ``accounts.lifecycle``
functions and rate limits as the JSON endpoints (``routes/account_api.py``): never a second
implementation, so the answers are as uniform as theirs (one "check your e-mail" page whatever
the address).

- ``GET``/``POST /signup`` (only with ``JWTWARDEN_SIGNUP``), ``GET``/``POST /forgot-password``;
- the links' landings ``GET /account/verify`` and ``GET /account/email`` (posting to
  ``/account/verify-email``) and ``GET /account/reset`` (posting to ``/account/reset-password``);
- for a signed-in user: ``GET``/``POST /account/change-email`` and ``/account/delete-account``
  (password required).

Every post needs this server's ``Origin`` and a CSRF token: the pre-session cookie's (as the
sign-in page) for the signed-out pages, the sign-in session's for the signed-in ones; a refusal
is a 403 page that changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ...errors import (
    InvalidLinkError,
    PasswordPolicyError,
    RateLimitedError,
    SignupDisabledError,
)
from ...sessions.config import normalize_email
from .. import openapi as api
from ..pages.error import error_page
from ..pages.lifecycle import Field, form_page, message_page
from ..parsing import client_address, form_body
from ..runtime import Runtime
from ..signin_sessions import end_signin
from ..signin_state import PENDING_TTL, PRESIGNIN_COOKIE
from . import runtime_of
from .account import _csrf_refused
from .account_api import _limit

router = APIRouter()
_S = {"type": "string"}
_CHECK = "If the address can be used, a message with a link is on its way. Check your e-mail."
_BAD_LINK = "This link is not valid any more (used, expired or replaced). Ask for a new one."
# No token at all: the landing's script did not run (JavaScript off), so the link was never
# tried and may still be good; "ask for a new one" would send the person round in a circle.
_NO_TOKEN = (
    "This page did not get the link's code, so nothing changed. Turn JavaScript on for this "
    "site, then open the link from your e-mail again."
)
_EMAIL = Field(name="email", label="Email", type="email", autocomplete="email")
_PASSWORD = Field(
    name="password", label="Password", type="password", autocomplete="current-password"
)
_NEW_PASSWORD = Field(
    name="password", label="New password", type="password", autocomplete="new-password"
)
_SIGNED_OUT_POST = api.page_responses(200, 400, 403, *api.EDGE, 415, 429, *api.STORE)
Page = Callable[[str | None, int], Response]


def _presignin(request: Request, runtime: Runtime) -> tuple[str, bool]:
    """This browser's pre-session (new if it has none) and whether it is new."""
    existing = runtime.signin_state.presignin(request)
    return (existing, False) if existing else (runtime.signin_state.new_presignin(), True)


def _show(request: Request, runtime: Runtime, build: Callable[[str], Response]) -> Response:
    """A signed-out form with this browser's pre-session cookie and its CSRF token."""
    state = runtime.signin_state
    presignin, _ = _presignin(request, runtime)
    response = build(state.presignin_csrf(presignin))
    state.set_cookie(response, PRESIGNIN_COOKIE, presignin, max_age=int(PENDING_TTL))
    return response


async def _signed_out_post(request: Request, runtime: Runtime) -> dict[str, str] | Response:
    """The form of a signed-out page, if it passes the Origin and CSRF checks (login CSRF:
    RFC 6749 10.12; the pre-session cookie is ``SameSite=Lax`` and ``__Host-``)."""
    form = await form_body(request, allow_empty=True)
    state = runtime.signin_state
    presignin = state.presignin(request)
    if (
        not state.check_origin(request)
        or presignin is None
        or not state.csrf_matches(form.get("csrf_token"), state.presignin_csrf(presignin))
    ):
        return _csrf_refused()
    return form


async def _limited(check: Awaitable[None], again: Page) -> Response | None:
    """The same limiter buckets as the JSON endpoint; a 429 page with ``Retry-After``."""
    try:
        await check
    except RateLimitedError as exc:
        wait = max(1, int(exc.retry_after))
        response = again(f"Too many attempts. Try again in {wait} seconds.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    return None


def _clean(value: str, limit: int) -> str:
    return value[:limit].replace("\x00", "")


# --- sign-up --------------------------------------------------------------------------------


def _signup_form(
    csrf: str, email: str = "", error: str | None = None, status: int = 200
) -> Response:
    return form_page(
        title="Create an account",
        lead="Choose your e-mail address and a password.",
        action="/signup",
        csrf_token=csrf,
        fields=(
            Field(name="email", label="Email", type="email", autocomplete="email", value=email),
            _NEW_PASSWORD,
        ),
        button="Create account",
        error=error,
        links=(("/signin", "Already have an account? Sign in"),),
        status=status,
    )


def _signup_off() -> Response:
    return error_page(
        title="Sign-up is closed",
        message="This server does not take new accounts.",
        code="access_denied",
        status=403,
    )


@router.get("/signup", response_class=HTMLResponse, responses=api.page_responses(200, 403))
async def signup_form(request: Request) -> Response:
    runtime = runtime_of(request)
    if not runtime.settings.signup:
        return _signup_off()
    return _show(request, runtime, _signup_form)


@router.post(
    "/signup",
    response_class=HTMLResponse,
    responses=_SIGNED_OUT_POST,
    openapi_extra=api.form_body(
        {"csrf_token": _S, "email": _S, "password": _S}, ("csrf_token", "email", "password")
    ),
)
async def signup(request: Request) -> Response:
    runtime = runtime_of(request)
    form = await _signed_out_post(request, runtime)
    if isinstance(form, Response):
        return form
    if not runtime.settings.signup:
        return _signup_off()
    email, password = form.get("email", ""), form.get("password", "")
    csrf = form["csrf_token"]

    def again(error: str | None, status: int) -> Response:
        return _signup_form(csrf, _clean(email, 320), error, status)

    if not email or not password or len(email) > 320 or len(password) > 4096:
        return again("Enter an e-mail address and a password.", 400)
    account = normalize_email(email) or email
    refused = await _limited(_limit(request, runtime, account, "signup"), again)
    if refused is not None:
        return refused
    try:
        await runtime.lifecycle.sign_up(email, password)
    except SignupDisabledError:
        return _signup_off()
    except PasswordPolicyError as exc:
        return again(exc.detail, 400)
    except ValueError:
        return again("Enter a valid e-mail address.", 400)
    return message_page(title="Check your e-mail", message=_CHECK)


# --- forgot password ------------------------------------------------------------------------


def _forgot_form(csrf: str, error: str | None = None, status: int = 200) -> Response:
    return form_page(
        title="Forgot your password?",
        lead="We will send a link to choose a new one.",
        action="/forgot-password",
        csrf_token=csrf,
        fields=(_EMAIL,),
        button="Send the link",
        error=error,
        links=(("/signin", "Back to sign in"),),
        status=status,
    )


@router.get("/forgot-password", response_class=HTMLResponse, responses=api.page_responses(200))
async def forgot_form(request: Request) -> Response:
    return _show(request, runtime_of(request), _forgot_form)


@router.post(
    "/forgot-password",
    response_class=HTMLResponse,
    responses=_SIGNED_OUT_POST,
    openapi_extra=api.form_body({"csrf_token": _S, "email": _S}, ("csrf_token", "email")),
)
async def forgot(request: Request) -> Response:
    runtime = runtime_of(request)
    form = await _signed_out_post(request, runtime)
    if isinstance(form, Response):
        return form
    email = form.get("email", "")

    def again(error: str | None, status: int) -> Response:
        return _forgot_form(form["csrf_token"], error, status)

    if not email or len(email) > 320:
        return again("Enter your e-mail address.", 400)
    refused = await _limited(
        _limit(request, runtime, normalize_email(email) or email, "forgot"), again
    )
    if refused is not None:
        return refused
    await runtime.lifecycle.forgot_password(email)
    return message_page(title="Check your e-mail", message=_CHECK)


# --- the links' landings --------------------------------------------------------------------


def _verify_form(csrf: str, error: str | None = None, status: int = 200) -> Response:
    return form_page(
        title="Confirm your e-mail address",
        lead="Confirm that this address is yours.",
        action="/account/verify-email",
        csrf_token=csrf,
        fields=(),
        button="Confirm",
        error=error,
        link_token=True,
        status=status,
    )


@router.get("/account/verify", response_class=HTMLResponse, responses=api.page_responses(200))
async def verify_landing(request: Request) -> Response:
    """The landing of a sign-up's verification link (``#token=`` in the fragment)."""
    return _show(request, runtime_of(request), _verify_form)


@router.get("/account/email", response_class=HTMLResponse, responses=api.page_responses(200))
async def email_landing(request: Request) -> Response:
    """The landing of an e-mail change's link (the new address's verification)."""
    return _show(request, runtime_of(request), _verify_form)


@router.post(
    "/account/verify-email",
    response_class=HTMLResponse,
    responses=_SIGNED_OUT_POST,
    openapi_extra=api.form_body({"csrf_token": _S, "token": _S}, ("csrf_token", "token")),
)
async def verify_email(request: Request) -> Response:
    runtime = runtime_of(request)
    form = await _signed_out_post(request, runtime)
    if isinstance(form, Response):
        return form

    def again(error: str | None, status: int) -> Response:
        return _verify_form(form["csrf_token"], error, status)

    token = form.get("token", "")
    if not token:
        return again(_NO_TOKEN, 400)
    refused = await _limited(_limit(request, runtime, client_address(request), "link"), again)
    if refused is not None:
        return refused
    try:
        outcome = await runtime.lifecycle.verify_email(token[:2048])
    except InvalidLinkError:
        return again(_BAD_LINK, 400)
    message = (
        "Your new e-mail address is confirmed."
        if outcome == "email_changed"
        else "Your e-mail address is confirmed."
    )
    return message_page(title="Address confirmed", message=message, links=(("/signin", "Sign in"),))


def _reset_form(csrf: str, error: str | None = None, status: int = 200) -> Response:
    return form_page(
        title="Choose a new password",
        lead="Every device signed in to your account will be signed out.",
        action="/account/reset-password",
        csrf_token=csrf,
        fields=(_NEW_PASSWORD,),
        button="Set the password",
        error=error,
        link_token=True,
        status=status,
    )


@router.get("/account/reset", response_class=HTMLResponse, responses=api.page_responses(200))
async def reset_landing(request: Request) -> Response:
    """The landing of a reset link (``#token=`` in the fragment)."""
    return _show(request, runtime_of(request), _reset_form)


@router.post(
    "/account/reset-password",
    response_class=HTMLResponse,
    responses=_SIGNED_OUT_POST,
    openapi_extra=api.form_body(
        {"csrf_token": _S, "token": _S, "password": _S}, ("csrf_token", "token", "password")
    ),
)
async def reset_password(request: Request) -> Response:
    runtime = runtime_of(request)
    form = await _signed_out_post(request, runtime)
    if isinstance(form, Response):
        return form

    def again(error: str | None, status: int) -> Response:
        return _reset_form(form["csrf_token"], error, status)

    token, password = form.get("token", ""), form.get("password", "")
    if not token:
        return again(_NO_TOKEN, 400)
    if not password or len(password) > 4096:
        return again("Enter a new password.", 400)
    refused = await _limited(_limit(request, runtime, client_address(request), "link"), again)
    if refused is not None:
        return refused
    try:
        await runtime.lifecycle.reset_password(token[:2048], password)
    except InvalidLinkError:
        return again(_BAD_LINK, 400)
    except PasswordPolicyError as exc:
        return again(exc.detail, 400)
    response = message_page(
        title="Password changed",
        message="Your password is changed. Sign in with the new one.",
        links=(("/signin", "Sign in"),),
    )
    await end_signin(runtime, response, None)  # every session ended: this browser's cookie too
    return response
