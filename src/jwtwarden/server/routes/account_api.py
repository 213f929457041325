"""The account lifecycle as JSON endpoints (``accounts.lifecycle``): sign-up, e-mail
verification, forgot-password and reset, e-mail change, and deletion by the owner.

The answers that an address could leak through (sign-up, forgot-password, e-mail change) are
one fixed ``202 {"status": "check_your_email"}`` whatever the address; each is rate limited per
address and per account (the login limiter, buckets of their own). The routes that take the
account's password (e-mail change, deletion) spend the login's own budget instead
(``check_password_guess``): a password typed there is a guess like a login's. The link
endpoints take the token in the JSON body (the page reads it from the link's fragment) and
are limited per client address.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidCredentialsError, RateLimitedError
from ...sessions.config import normalize_email
from .. import openapi as api
from ..errors import NO_STORE, InvalidGrant, InvalidRequest
from ..parsing import client_address, json_body, required_string
from ..responses import json_response
from ..runtime import Runtime
from . import authenticate, check_password_guess, runtime_of

router = APIRouter(prefix="/account")
_S = {"type": "string"}
_CHECK_EMAIL = {"status": "check_your_email"}


def _status(body: dict[str, str], status: int = 200) -> Response:
    return json_response(body, status=status, headers=dict(NO_STORE))


async def _limit(request: Request, runtime: Runtime, account: str, scope: str) -> None:
    try:
        await runtime.limiter.check(
            account=account, address=client_address(request), scope=f"account-{scope}"
        )
    except RateLimitedError:
        runtime.metrics.rate_limited.labels("account").inc()
        raise


@router.post(
    "/signup",
    responses=api.responses(202, api.STATUS, 400, 403, *api.EDGE, 415, 429, *api.STORE),
    openapi_extra=api.json_body({"email": _S, "password": _S}, ("email", "password")),
)
async def sign_up(request: Request) -> Response:
    """Create an account (if ``JWTWARDEN_SIGNUP``); the verification link goes by mail."""
    runtime = runtime_of(request)
    data = await json_body(request)
    email = required_string(data, "email", max_length=320)
    password = required_string(data, "password", max_length=4096)
    await _limit(request, runtime, normalize_email(email) or email, "signup")
    try:
        await runtime.lifecycle.sign_up(email, password)
    except ValueError:
        raise InvalidRequest("email is not an email address") from None
    return _status(_CHECK_EMAIL, 202)


@router.post(
    "/verify",
    responses=api.responses(200, api.STATUS, 400, *api.EDGE, 415, 429, *api.STORE),
    openapi_extra=api.json_body({"token": _S}, ("token",)),
)
async def verify(request: Request) -> Response:
    """Follow a verification link (sign-up or e-mail change)."""
    runtime = runtime_of(request)
    token = required_string(await json_body(request), "token", max_length=2048)
    await _limit(request, runtime, client_address(request), "link")
    return _status({"status": await runtime.lifecycle.verify_email(token)})


@router.post(
    "/verify/resend",
    responses=api.responses(202, api.STATUS, *api.BEARER, 429, *api.STORE),
)
async def resend(request: Request) -> Response:
    """Mail the caller a new verification link."""
    runtime = runtime_of(request)
    verified, _ = await authenticate(request, runtime)
    user_id = str(verified.claims["sub"])
    await _limit(request, runtime, user_id, "resend")
    await runtime.lifecycle.resend_verification(user_id)
    return _status(_CHECK_EMAIL, 202)


@router.post(
    "/password/forgot",
    responses=api.responses(202, api.STATUS, 400, *api.EDGE, 415, 429, *api.STORE),
    openapi_extra=api.json_body({"email": _S}, ("email",)),
)
async def forgot(request: Request) -> Response:
    """Mail a reset link, if the address has an account; the same answer otherwise."""
    runtime = runtime_of(request)
    email = required_string(await json_body(request), "email", max_length=320)
    await _limit(request, runtime, normalize_email(email) or email, "forgot")
    await runtime.lifecycle.forgot_password(email)
    return _status(_CHECK_EMAIL, 202)


@router.post(
    "/password/reset",
    responses=api.responses(200, api.STATUS, 400, *api.EDGE, 415, 429, *api.STORE),
    openapi_extra=api.json_body({"token": _S, "password": _S}, ("token", "password")),
)
async def reset(request: Request) -> Response:
    """Follow a reset link: a new password; every session ends."""
    runtime = runtime_of(request)
    data = await json_body(request)
    token = required_string(data, "token", max_length=2048)
    password = required_string(data, "password", max_length=4096)
    await _limit(request, runtime, client_address(request), "link")
    await runtime.lifecycle.reset_password(token, password)
    return _status({"status": "password_changed"})


@router.post(
    "/email",
    responses=api.responses(202, api.STATUS, *api.BEARER, *api.EDGE, 415, 429, *api.STORE),
    openapi_extra=api.json_body({"password": _S, "email": _S}, ("password", "email")),
)
async def change_email(request: Request) -> Response:
    """Ask to change the caller's address: a link goes to the new one (password required)."""
    runtime = runtime_of(request)
    verified, _ = await authenticate(request, runtime)
    data = await json_body(request)
    password = required_string(data, "password", max_length=4096)
    email = required_string(data, "email", max_length=320)
    user_id = str(verified.claims["sub"])
    await check_password_guess(request, runtime, user_id, metric="account")
    try:
        await runtime.lifecycle.request_email_change(user_id, password, email)
    except InvalidCredentialsError:
        raise InvalidGrant("the password is wrong") from None
    except ValueError:
        raise InvalidRequest("email is not an email address") from None
    return _status(_CHECK_EMAIL, 202)


@router.post(
    "/delete",
    responses=api.responses(200, api.STATUS, *api.BEARER, *api.EDGE, 415, 429, *api.STORE),
    openapi_extra=api.json_body({"password": _S}, ("password",)),
)
async def delete(request: Request) -> Response:
    """Delete the caller's account (password required): sessions end, data removed."""
    runtime = runtime_of(request)
    verified, from_cookie = await authenticate(request, runtime)
    password = required_string(await json_body(request), "password", max_length=4096)
    user_id = str(verified.claims["sub"])
    await check_password_guess(request, runtime, user_id, metric="account")
    try:
        await runtime.lifecycle.delete_account(user_id, password)
    except InvalidCredentialsError:
        raise InvalidGrant("the password is wrong") from None
    response = _status({"status": "account_deleted"})
    if from_cookie:
        runtime.cookies.clear(response)
    return response
