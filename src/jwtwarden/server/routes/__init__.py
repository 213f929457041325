"""The server's routes, one module per group: ``discovery`` (JWKS, metadata, health,
metrics), ``auth`` (login, logout, password), ``oauth`` (token, revoke, introspect) and
``admin`` (users and keys, admins only)."""

from __future__ import annotations

from starlette.requests import Request

from ...verify import VerifiedToken
from ..errors import InvalidToken
from ..parsing import bearer_token
from ..runtime import Runtime

__all__ = ["authenticate", "runtime"]


def runtime(request: Request) -> Runtime:
    """The process's ``Runtime`` (built in the app's lifespan)."""
    parts: Runtime = request.app.state.runtime
    return parts


async def authenticate(request: Request, parts: Runtime) -> tuple[VerifiedToken, bool]:
    """The caller's verified access token (Bearer header, or the access cookie with the CSRF
    checks), with every revocation check; and whether it came from the cookie.

    Raises:
        InvalidToken: no token, or a refused one (401).
        AccessDenied: a cookie request failing the CSRF checks (403).
        RevocationUnavailableError: the denylist cannot answer (503).
    """
    token = bearer_token(request)
    if token is not None:
        return await parts.verify_access_token(token), False
    token = parts.cookies.access_cookie_value(request)
    if token is None:
        raise InvalidToken("an access token is required")
    parts.cookies.check_origin(request)  # a cross-site request is refused before any work
    verified = await parts.verify_access_token(token)
    sid = verified.claims.get("sid")
    parts.cookies.check_csrf(request, sid if isinstance(sid, str) else None)
    return verified, True
