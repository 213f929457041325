"""The hosted account pages: ``GET``/``POST /signout`` and ``GET /account`` with its two
forms (``POST /account/sign-out-everywhere``, ``POST /account/password``). Each form post
needs the ``Origin`` of this server and the CSRF token of the sign-in session
(``server/signin_state.py``); a refusal is a 403 page that changes nothing."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ...errors import InvalidCredentialsError, PasswordPolicyError, RateLimitedError
from ...oauth.signin import SignInSession
from .. import openapi as api
from ..pages.account import account_page
from ..pages.error import error_page
from ..pages.signout import signed_out_page, signout_page
from ..parsing import form_body
from ..runtime import Runtime
from ..signin_sessions import current_signin, end_signin
from . import check_password_guess, runtime_of

router = APIRouter()
_S = {"type": "string"}
_REFUSED = error_page  # a form post failing the CSRF checks
# The two sign-out forms (this browser, every device) post nothing but the CSRF token.
_SIGN_OUT_POST = api.page_responses(200, 400, 403, *api.EDGE, 415, *api.STORE, redirects=(303,))
_SIGN_OUT_FORM = api.form_body({"csrf_token": _S}, ("csrf_token",))


def _csrf_refused() -> Response:
    return _REFUSED(
        title="Request refused",
        message="The form was not sent from this site's own page. Reload it and try again.",
        code="access_denied",
        status=403,
    )


async def _posted(
    request: Request, runtime: Runtime
) -> tuple[SignInSession, dict[str, str]] | Response:
    """The signed-in session of a form post that passed the Origin and CSRF checks."""
    form = await form_body(request, allow_empty=True)
    session = await current_signin(request, runtime)
    state = runtime.signin_state
    if session is None:
        return error_page(
            title="You are not signed in",
            message="Sign in, then try again.",
            code="login_required",
            status=403,
        )
    if not state.check_origin(request) or not state.csrf_matches(
        form.get("csrf_token"), state.session_csrf(session.id)
    ):
        return _csrf_refused()
    return session, form


@router.get("/signout", response_class=HTMLResponse, responses=api.page_responses(200, *api.STORE))
async def signout_form(request: Request) -> Response:
    runtime = runtime_of(request)
    session = await current_signin(request, runtime)
    if session is None:
        return signed_out_page()
    user = await runtime.users.user_by_id(session.user_id)
    return signout_page(
        email=user.email if user is not None else "",
        csrf_token=runtime.signin_state.session_csrf(session.id),
    )


@router.post(
    "/signout",
    response_class=HTMLResponse,
    responses=_SIGN_OUT_POST,
    openapi_extra=_SIGN_OUT_FORM,
)
async def signout(request: Request) -> Response:
    runtime = runtime_of(request)
    posted = await _posted(request, runtime)
    if isinstance(posted, Response):
        return posted
    session, _ = posted
    response = signed_out_page()
    await end_signin(runtime, response, session.id)
    return response


async def _account(
    runtime: Runtime,
    session: SignInSession,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    user = await runtime.users.user_by_id(session.user_id)
    return account_page(
        email=user.email if user is not None else "",
        current_id=session.id,
        sessions=await runtime.authorization_store.user_signins(
            session.user_id, now=runtime.clock.now()
        ),
        csrf_token=runtime.signin_state.session_csrf(session.id),
        notice=notice,
        error=error,
        status=status,
    )


@router.get(
    "/account",
    response_class=HTMLResponse,
    responses=api.page_responses(200, *api.STORE, redirects=(303,)),
)
async def account(request: Request) -> Response:
    runtime = runtime_of(request)
    session = await current_signin(request, runtime)
    if session is None:
        return RedirectResponse("/signin", status_code=303)
    return await _account(runtime, session)


@router.post(
    "/account/sign-out-everywhere",
    response_class=HTMLResponse,
    responses=_SIGN_OUT_POST,
    openapi_extra=_SIGN_OUT_FORM,
)
async def sign_out_everywhere(request: Request) -> Response:
    """End every sign-in session of the user and every refresh session (apps included)."""
    runtime = runtime_of(request)
    posted = await _posted(request, runtime)
    if isinstance(posted, Response):
        return posted
    session, _ = posted
    now = runtime.clock.now()
    await runtime.authorization_store.revoke_user_signins(session.user_id, now=now)
    await runtime.service.end_all_sessions(session.user_id, reason="signout_everywhere")
    response = signed_out_page("You are signed out on every device and in every app.")
    await end_signin(runtime, response, None)
    return response


@router.post(
    "/account/password",
    response_class=HTMLResponse,
    responses=api.page_responses(200, 400, 403, *api.EDGE, 415, 429, *api.STORE, redirects=(303,)),
    openapi_extra=api.form_body(
        {"csrf_token": _S, "current_password": _S, "new_password": _S},
        ("csrf_token", "current_password", "new_password"),
    ),
)
async def change_password(request: Request) -> Response:
    """The current password is a password guess: it spends the login budget (as
    ``POST /auth/password``); a change ends every session, this browser's too."""
    runtime = runtime_of(request)
    posted = await _posted(request, runtime)
    if isinstance(posted, Response):
        return posted
    session, form = posted
    user = await runtime.users.user_by_id(session.user_id)
    if user is None:
        return RedirectResponse("/signin", status_code=303)
    current, new = form.get("current_password", ""), form.get("new_password", "")
    try:
        await check_password_guess(request, runtime, user.id, metric="password", email=user.email)
    except RateLimitedError as exc:
        response = await _account(
            runtime, session, error="Too many attempts. Try again later.", status=429
        )
        response.headers["Retry-After"] = str(max(1, int(exc.retry_after)))
        return response
    try:
        await runtime.service.change_password(user.id, current, new)
    except InvalidCredentialsError:
        return await _account(runtime, session, error="The current password is wrong.", status=400)
    except (PasswordPolicyError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, PasswordPolicyError) else "Enter a new password."
        return await _account(runtime, session, error=detail, status=400)
    response = signed_out_page("Your password is changed. Sign in again with the new one.")
    await end_signin(runtime, response, session.id)
    return response
