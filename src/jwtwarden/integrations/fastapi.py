"""FastAPI: a dependency that verifies the bearer token and hands the endpoint its result.

    >>> read = require_token(verifier, scopes=["items:read"])   # doctest: +SKIP
    >>> @app.get("/items")                                      # doctest: +SKIP
    ... async def items(token: Annotated[VerifiedToken, Depends(read)]):
    ...     return {"sub": token.claims["sub"]}

Refusals follow RFC 6750 (see ``integrations._bearer``) as ``HTTPException``s carrying the
``WWW-Authenticate`` challenge; the body is ``{"detail": {"error": ...}}``. On a websocket
route the handshake is refused instead (close code 1008, or 1013 when the check could not
answer), since a websocket has no HTTP response to carry a challenge. The token is checked
with ``verify_async``. Needs the ``fastapi`` extra.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import Depends, HTTPException, WebSocketException, status
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from ..verify import VerifiedToken
from ._bearer import BearerRefusal, aauthenticate, check_realm, check_verifier, normalize_scopes

__all__ = ["require_token"]


class _OpenAPIBearer(HTTPBearer):
    """Only for the OpenAPI document (the "Authorize" button); the header is parsed by
    ``_bearer``. Takes an ``HTTPConnection``, not a ``Request``, so that websocket routes can
    use the dependency too (FastAPI cannot give a websocket handshake a ``Request``)."""

    async def __call__(self, conn: HTTPConnection) -> None:
        return None


_openapi_scheme = _OpenAPIBearer(auto_error=False, bearerFormat="JWT", scheme_name="HTTPBearer")


def require_token(
    verifier: Any, *, scopes: str | Iterable[str] = (), realm: str = "api"
) -> Callable[..., Awaitable[VerifiedToken]]:
    """A dependency returning the request's ``VerifiedToken``, or answering 400/401/403/503.

    Parameters:
        verifier: a ``Verifier`` or ``CachedVerifier`` (anything with ``verify_async``).
        scopes: scopes the token must grant (``scope`` claim, space-separated, or ``scp``).
        realm: the realm of the ``WWW-Authenticate`` challenge.

    Raises:
        ValueError: an invalid realm or scope (at set-up, not per request).

    Example:
        >>> admin = require_token(verifier, scopes="admin")  # doctest: +SKIP
    """
    checked = check_verifier(verifier)
    required = normalize_scopes(scopes)
    check_realm(realm)

    async def dependency(conn: HTTPConnection, _: None = Depends(_openapi_scheme)) -> VerifiedToken:
        values = conn.headers.getlist("authorization")
        outcome = await aauthenticate(checked, values, realm=realm, scopes=required)
        if isinstance(outcome, BearerRefusal):
            if conn.scope["type"] == "websocket":
                # Closing before accepting refuses the handshake (the server answers 403).
                unavailable = outcome.status == 503
                code = (
                    status.WS_1013_TRY_AGAIN_LATER
                    if unavailable
                    else status.WS_1008_POLICY_VIOLATION
                )
                raise WebSocketException(code, outcome.error or "unauthorized")
            raise HTTPException(outcome.status, detail=outcome.body, headers=outcome.headers)
        return outcome

    return dependency
