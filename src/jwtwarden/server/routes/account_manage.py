"""The signed-in account's lifecycle pages (issue 15), linked from ``GET /account``: change of
e-mail address (``GET``/``POST /account/change-email``) and deletion of the account
(``GET``/``POST /account/delete-account``), each with the password. The same lifecycle
functions and rate limits as ``POST /account/email`` and ``POST /account/delete``; the same
Origin and session CSRF checks as the account page's other forms (``routes/account.py``)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ...errors import InvalidCredentialsError
from .. import openapi as api
from ..pages.lifecycle import Field, form_page, message_page
from ..runtime import Runtime
from ..signin_sessions import current_signin, end_signin
from . import check_password_guess, runtime_of
from .account import _posted
from .account_pages import _CHECK, _PASSWORD, _clean, _limited

router = APIRouter()
_S = {"type": "string"}
_SIGNED_IN_POST = api.page_responses(
    200, 400, 403, *api.EDGE, 415, 429, *api.STORE, redirects=(303,)
)
_WRONG = "The password is wrong."
_BACK = (("/account", "Back to your account"),)


def _email_form(
    csrf: str, email: str = "", error: str | None = None, status: int = 200
) -> Response:
    return form_page(
        title="Change your e-mail address",
        lead="A link goes to the new address; the change is made when you follow it.",
        action="/account/change-email",
        csrf_token=csrf,
        fields=(
            Field(name="email", label="New email", type="email", autocomplete="email", value=email),
            _PASSWORD,
        ),
        button="Send the link",
        error=error,
        links=_BACK,
        status=status,
    )


def _delete_form(csrf: str, error: str | None = None, status: int = 200) -> Response:
    return form_page(
        title="Delete your account",
        lead="This signs you out everywhere and removes your account. It cannot be undone.",
        action="/account/delete-account",
        csrf_token=csrf,
        fields=(_PASSWORD,),
        button="Delete my account",
        error=error,
        links=_BACK,
        status=status,
    )


async def _csrf_of(request: Request, runtime: Runtime) -> str | None:
    session = await current_signin(request, runtime)
    return None if session is None else runtime.signin_state.session_csrf(session.id)


@router.get(
    "/account/change-email",
    response_class=HTMLResponse,
    responses=api.page_responses(200, *api.STORE, redirects=(303,)),
)
async def change_email_form(request: Request) -> Response:
    csrf = await _csrf_of(request, runtime_of(request))
    return RedirectResponse("/signin", status_code=303) if csrf is None else _email_form(csrf)


@router.post(
    "/account/change-email",
    response_class=HTMLResponse,
    responses=_SIGNED_IN_POST,
    openapi_extra=api.form_body(
        {"csrf_token": _S, "email": _S, "password": _S}, ("csrf_token", "email", "password")
    ),
)
async def change_email(request: Request) -> Response:
    runtime = runtime_of(request)
    posted = await _posted(request, runtime)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    email, password = form.get("email", ""), form.get("password", "")

    def again(error: str | None, status: int) -> Response:
        return _email_form(form["csrf_token"], _clean(email, 320), error, status)

    if not email or not password or len(email) > 320 or len(password) > 4096:
        return again("Enter the new address and your password.", 400)
    # A password guess: the login's budget, as POST /account/email.
    guess = check_password_guess(request, runtime, session.user_id, metric="account")
    refused = await _limited(guess, again)
    if refused is not None:
        return refused
    try:
        await runtime.lifecycle.request_email_change(session.user_id, password, email)
    except InvalidCredentialsError:
        return again(_WRONG, 400)
    except ValueError:
        return again("Enter a valid e-mail address.", 400)
    return message_page(title="Check your e-mail", message=_CHECK, links=_BACK)


@router.get(
    "/account/delete-account",
    response_class=HTMLResponse,
    responses=api.page_responses(200, *api.STORE, redirects=(303,)),
)
async def delete_account_form(request: Request) -> Response:
    csrf = await _csrf_of(request, runtime_of(request))
    return RedirectResponse("/signin", status_code=303) if csrf is None else _delete_form(csrf)


@router.post(
    "/account/delete-account",
    response_class=HTMLResponse,
    responses=_SIGNED_IN_POST,
    openapi_extra=api.form_body({"csrf_token": _S, "password": _S}, ("csrf_token", "password")),
)
async def delete_account(request: Request) -> Response:
    runtime = runtime_of(request)
    posted = await _posted(request, runtime)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    password = form.get("password", "")

    def again(error: str | None, status: int) -> Response:
        return _delete_form(form["csrf_token"], error, status)

    if not password or len(password) > 4096:
        return again("Enter your password.", 400)
    guess = check_password_guess(request, runtime, session.user_id, metric="account")
    refused = await _limited(guess, again)
    if refused is not None:
        return refused
    try:
        await runtime.lifecycle.delete_account(session.user_id, password)
    except InvalidCredentialsError:
        return again(_WRONG, 400)
    response = message_page(title="Account deleted", message="Your account is deleted.")
    await end_signin(runtime, response, session.id)
    return response
