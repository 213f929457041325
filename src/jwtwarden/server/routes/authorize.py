"""``GET``/``POST /oauth/authorize`` (RFC 6749 4.1.1, OpenID Connect Core 3.1.2.1 allows the
form post too) and the hosted sign-in (``GET``/``POST /signin``).

The protocol is ``oauth.authorize``'s; this module decides only which page or redirect a
request gets: a live sign-in session (within ``max_age``, and no ``prompt=login``) gets a code
at once; ``prompt=none`` without one gets ``login_required`` (OpenID Connect Core 3.1.2.6),
never a page; anything else gets the sign-in form with the request sealed in it
(``server/signin_state.py``). Every authorization response carries ``iss`` (RFC 9207 2).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ...errors import InvalidCredentialsError, RateLimitedError
from ...oauth.authorize import (
    AuthorizationRequest,
    AuthorizeError,
    authorization_response,
    issue_code,
    validate_request,
)
from ...sessions.service import normalize_email
from .. import openapi as api
from ..errors import InvalidRequest
from ..pages.error import error_page
from ..pages.signin import FAILED, signin_page
from ..parsing import client_address, form_body
from ..runtime import Runtime
from ..signin_sessions import current_signin, start_signin
from ..signin_state import PENDING_TTL, PRESIGNIN_COOKIE, origin_of
from . import runtime_of

router = APIRouter()
_S = {"type": "string"}
_AUTHORIZE_PARAMETERS = {
    name: _S
    for name in (
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce",
        "prompt",
        "max_age",
    )
}
_REQUIRED = ("response_type", "client_id")
_MAX_QUERY = 8192


def _query_parameters(request: Request) -> dict[str, list[str]]:
    query = request.scope.get("query_string", b"")
    if len(query) > _MAX_QUERY:
        raise InvalidRequest("the query is too long")
    try:
        return parse_qs(query.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the query cannot be decoded") from None


@router.get(
    "/oauth/authorize",
    response_class=HTMLResponse,
    responses=api.page_responses(200, 400, *api.STORE, redirects=(302,)),
    openapi_extra={
        "parameters": [
            # RFC 6749 4.1.1: response_type and client_id are REQUIRED.
            {"name": name, "in": "query", "required": name in _REQUIRED, "schema": _S}
            for name in _AUTHORIZE_PARAMETERS
        ]
    },
)
async def authorize(request: Request) -> Response:
    return await _authorize(request, runtime_of(request), _query_parameters(request))


@router.post(
    "/oauth/authorize",
    response_class=HTMLResponse,
    responses=api.page_responses(200, 400, *api.EDGE, 415, *api.STORE, redirects=(302,)),
    openapi_extra=api.form_body(_AUTHORIZE_PARAMETERS, _REQUIRED),
)
async def authorize_form(request: Request) -> Response:
    form = await form_body(request, allow_empty=True)
    return await _authorize(request, runtime_of(request), {k: [v] for k, v in form.items()})


async def _authorize(request: Request, runtime: Runtime, params: dict[str, list[str]]) -> Response:
    try:
        auth = await validate_request(
            params, clients=runtime.clients, server_scopes=runtime.flow_scopes
        )
    except AuthorizeError as exc:
        return _refusal(runtime, exc)
    now = runtime.clock.now()
    signin = await current_signin(request, runtime)
    fresh = (
        signin is not None
        and "login" not in auth.prompt
        and (auth.max_age is None or now - signin.auth_time <= auth.max_age)
    )
    if fresh and signin is not None:
        return await _code_redirect(runtime, auth, signin.user_id, signin.auth_time, signin.id)
    if "none" in auth.prompt:
        return _refusal(runtime, auth.error("login_required", "the user must sign in"))
    return _form(request, runtime, auth, sealed=None)


def _refusal(runtime: Runtime, exc: AuthorizeError, *, status: int = 302) -> Response:
    if exc.redirect_uri is None:
        # RFC 6749 4.1.2.1: "MUST NOT automatically redirect the user-agent".
        return error_page(
            title="This sign-in link is not valid",
            message=exc.description,
            code=exc.error,
            status=400,
        )
    location = authorization_response(
        exc.redirect_uri,
        runtime.settings.issuer_url,
        error=exc.error,
        error_description=exc.description,
        state=exc.state,
    )
    return RedirectResponse(
        location, status_code=status, headers={"Referrer-Policy": "no-referrer"}
    )


async def _code_redirect(
    runtime: Runtime,
    auth: AuthorizationRequest,
    user_id: str,
    auth_time: float,
    signin_session_id: str,
    *,
    status: int = 302,
    response: Response | None = None,
) -> Response:
    code = await issue_code(
        auth,
        codes=runtime.authorization_store,
        user_id=user_id,
        auth_time=auth_time,
        signin_session_id=signin_session_id,
        now=runtime.clock.now(),
    )
    location = authorization_response(
        auth.redirect_uri, runtime.settings.issuer_url, code=code, state=auth.state
    )
    redirect = response or RedirectResponse(location, status_code=status)
    redirect.status_code = status
    redirect.headers["location"] = location
    redirect.headers["referrer-policy"] = "no-referrer"
    return redirect


def _form(
    request: Request,
    runtime: Runtime,
    auth: AuthorizationRequest | None,
    *,
    sealed: str | None,
    error: str | None = None,
    email: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The sign-in form, with this browser's pre-session cookie (new if it has none)."""
    state = runtime.signin_state
    presignin = state.presignin(request) or state.new_presignin()
    if auth is not None and sealed is None:
        sealed = state.seal(auth, presignin=presignin, now=runtime.clock.now())
    response = signin_page(
        csrf_token=state.presignin_csrf(presignin),
        pending=sealed,
        client_name=auth.client_name if auth is not None else None,
        error=error,
        email=email,
        status=status,
        form_targets=(origin_of(auth.redirect_uri),) if auth is not None else (),
        headers=headers,
        signup=runtime.settings.signup,
    )
    state.set_cookie(response, PRESIGNIN_COOKIE, presignin, max_age=int(PENDING_TTL))
    return response


@router.get(
    "/signin",
    name="sign_in",  # the development index (routes/pages.py) links it by this name
    response_class=HTMLResponse,
    responses=api.page_responses(200, *api.STORE, redirects=(303,)),
)
async def signin_form(request: Request) -> Response:
    """A plain sign-in (no authorization request): it ends on the account page."""
    runtime = runtime_of(request)
    if await current_signin(request, runtime) is not None:
        return RedirectResponse("/account", status_code=303)
    return _form(request, runtime, None, sealed=None)


@router.post(
    "/signin",
    response_class=HTMLResponse,
    responses=api.page_responses(
        None, 400, 403, *api.EDGE, 415, 429, *api.STORE, redirects=(302, 303)
    ),
    openapi_extra=api.form_body(
        {"email": _S, "password": _S, "csrf_token": _S, "request": _S},
        ("email", "password", "csrf_token"),
    ),
)
async def signin(request: Request) -> Response:
    runtime = runtime_of(request)
    state = runtime.signin_state
    form = await form_body(request)
    presignin = state.presignin(request)
    # Login CSRF: the form must come from this server's page in this browser.
    if (
        not state.check_origin(request)
        or presignin is None
        or not state.csrf_matches(form.get("csrf_token"), state.presignin_csrf(presignin))
    ):
        return error_page(
            title="Sign-in refused",
            message="The sign-in form was not sent from this site's own page. Start again.",
            code="access_denied",
            status=403,
        )
    sealed = form.get("request")
    auth = None
    if sealed is not None:
        opened = await _pending(runtime, sealed, presignin)
        if isinstance(opened, Response):
            return opened
        auth = opened
    email, password = form.get("email", ""), form.get("password", "")

    def again(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
        return _form(
            request,
            runtime,
            auth,
            sealed=sealed,
            error=message,
            email=email[:320].replace("\x00", ""),
            status=status,
            headers=headers,
        )

    if (
        not email
        or not password
        or len(email) > 320
        or len(password) > 4096
        or "\x00" in email + password  # no account has one; PostgreSQL text cannot hold it
    ):
        return again(FAILED, 400)
    account = normalize_email(email) or email.strip().lower()
    try:
        # The same buckets as POST /auth/login: one budget of guesses per account and address.
        await runtime.limiter.check(account=account, address=client_address(request))
    except RateLimitedError as exc:
        runtime.metrics.logins.labels("rate_limited").inc()
        runtime.metrics.rate_limited.labels("login").inc()
        wait = max(1, int(exc.retry_after))
        return again(
            f"Too many attempts. Try again in {wait} seconds.", 429, {"Retry-After": str(wait)}
        )
    try:
        user = await runtime.service.authenticate(email, password)
    except InvalidCredentialsError:
        runtime.metrics.logins.labels("failure").inc()
        return again(FAILED, 400)
    runtime.metrics.logins.labels("success").inc()
    previous = await current_signin(request, runtime)
    response: Response = RedirectResponse("/account", status_code=303)
    if previous is not None:
        await runtime.authorization_store.revoke_signin(previous.id, now=runtime.clock.now())
    session = await start_signin(runtime, response, user_id=user.id, auth_version=user.auth_version)
    state.set_cookie(response, PRESIGNIN_COOKIE, "", max_age=0)
    if auth is None:
        return response
    return await _code_redirect(
        runtime, auth, user.id, session.auth_time, session.id, status=303, response=response
    )


async def _pending(
    runtime: Runtime, sealed: str, presignin: str
) -> AuthorizationRequest | Response:
    """The sealed request, opened and checked against the registry again (the client may have
    been disabled, or its redirect URI removed, while the form was open)."""
    try:
        payload: dict[str, Any] = runtime.signin_state.open(
            sealed, presignin=presignin, now=runtime.clock.now()
        )
    except ValueError as exc:
        return error_page(
            title="This sign-in form has expired",
            message=f"{exc}. Go back to the application and start again.",
            code="invalid_request",
            status=400,
        )
    client = await runtime.clients.get(str(payload["c"]))
    if client is None or client.disabled or not client.redirect_uri_allowed(str(payload["r"])):
        return error_page(
            title="This sign-in link is not valid",
            message="this client is unknown or disabled",
            code="invalid_client",
            status=400,
        )
    return AuthorizationRequest(
        client_id=client.client_id,
        client_name=client.name,
        redirect_uri=payload["r"],
        redirect_uri_in_request=bool(payload["ri"]),
        state=payload["s"],
        scope=payload["sc"],
        code_challenge=payload["cc"],
        nonce=payload["n"],
        prompt=frozenset(payload["p"]),
        max_age=payload["m"],
    )
