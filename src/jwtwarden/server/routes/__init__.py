"""The server's routes, one module per group: ``discovery`` (JWKS, metadata, health,
metrics), ``auth`` (login, logout, password), ``oauth`` (token, revoke, introspect) and
``admin`` (users and keys, admins only)."""

from __future__ import annotations

from starlette.requests import Request

from ...errors import RateLimitedError
from ...sessions.config import normalize_email
from ...verify import VerifiedToken
from ..errors import InvalidToken
from ..parsing import bearer_token, client_address
from ..runtime import Runtime

__all__ = ["authenticate", "check_password_guess", "runtime_of"]


def runtime_of(request: Request) -> Runtime:
    """The process's ``Runtime`` (built in the app's lifespan), which a request works with.

    Named ``runtime_of`` so that ``runtime``, in every route, is the object it returns.
    """
    runtime: Runtime = request.app.state.runtime
    return runtime


async def authenticate(request: Request, runtime: Runtime) -> tuple[VerifiedToken, bool]:
    """The caller's verified access token (Bearer header, or the access cookie with the CSRF
    checks), with every revocation check; and whether it came from the cookie.

    Raises:
        InvalidToken: no token, or a refused one (401).
        AccessDenied: a cookie request failing the CSRF checks (403).
        RevocationUnavailableError: the denylist cannot answer (503).
    """
    token = bearer_token(request)
    if token is not None:
        return await runtime.verify_access_token(token), False
    token = runtime.cookies.access_cookie_value(request)
    if token is None:
        raise InvalidToken("an access token is required")
    runtime.cookies.check_origin(request)  # a cross-site request is refused before any work
    verified = await runtime.verify_access_token(token)
    sid = verified.claims.get("sid")
    runtime.cookies.check_csrf(request, sid if isinstance(sid, str) else None)
    return verified, True


async def check_password_guess(
    request: Request, runtime: Runtime, user_id: str, *, metric: str, email: str | None = None
) -> None:
    """Spend one guess of the login budget for a password a signed-in user typed (a password
    change, an e-mail change, an account deletion; JSON or page): the buckets of
    ``POST /auth/login``, the account's address and the client address. A stolen access token
    or sign-in session thus adds no guesses to the ones an attacker's logins already have.
    ``email`` is the account's address when the caller has read it already.

    Raises:
        RateLimitedError: the budget is spent (429, ``Retry-After``).
    """
    if email is None:
        user = await runtime.users.user_by_id(user_id)
        email = user.email if user is not None else None
    account = (normalize_email(email) or email) if email is not None else user_id
    try:
        await runtime.limiter.check(account=account, address=client_address(request))
    except RateLimitedError:
        runtime.metrics.rate_limited.labels(metric).inc()
        raise
