"""FastAPI: a dependency that verifies the bearer token and hands the endpoint its result.

    >>> read = require_token(verifier, scopes=["items:read"])   # doctest: +SKIP
    >>> @app.get("/items")                                      # doctest: +SKIP
    ... async def items(token: Annotated[VerifiedToken, Depends(read)]):
    ...     return {"sub": token.claims["sub"]}

Refusals follow RFC 6750 (see ``integrations._bearer``) as ``HTTPException``s carrying the
``WWW-Authenticate`` challenge; the body is ``{"detail": {"error": ...}}``. The token is
checked with ``verify_async``. Needs the ``fastapi`` extra.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..verify import VerifiedToken
from ._bearer import BearerRefusal, aauthenticate, check_realm, check_verifier, normalize_scopes

__all__ = ["require_token"]

# Only for the OpenAPI document (the "Authorize" button); the header is parsed by _bearer.
_openapi_scheme = HTTPBearer(auto_error=False, bearerFormat="JWT")


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

    async def dependency(
        request: Request,
        _: HTTPAuthorizationCredentials | None = Depends(_openapi_scheme),
    ) -> VerifiedToken:
        values = request.headers.getlist("authorization")
        outcome = await aauthenticate(checked, values, realm=realm, scopes=required)
        if isinstance(outcome, BearerRefusal):
            raise HTTPException(outcome.status, detail=outcome.body, headers=outcome.headers)
        return outcome

    return dependency
