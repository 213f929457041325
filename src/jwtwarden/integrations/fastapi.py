"""FastAPI: a dependency that verifies the bearer token and hands the endpoint its result.

    >>> read = require_token(verifier, scopes=["items:read"])   # doctest: +SKIP
    >>> @app.get("/items")                                      # doctest: +SKIP
    ... async def items(token: Annotated[VerifiedToken, Depends(read)]):
    ...     return {"sub": token.claims["sub"]}

Refusals follow RFC 6750 (see ``integrations._bearer``) as ``HTTPException``s carrying the
``WWW-Authenticate`` challenge; the body is ``{"detail": {"error": ...}}``. On a websocket
route the handshake is refused instead (close code 1008, or 1013 when the check could not
answer), since a websocket has no HTTP response to carry a challenge. The token is checked
with ``verify_async``, through the verified-token cache unless ``cache=False`` (see
``_bearer.with_cache``); the dependency's ``verifier`` attribute is the verifier it uses
(``dependency.verifier.stats``, ``dependency.verifier.clear()``). Needs the ``fastapi`` extra.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import get_type_hints

from fastapi import Depends, HTTPException, WebSocketException, status
from fastapi.security import HTTPBearer
from starlette.requests import HTTPConnection

from ..verify import VerifiedToken
from ._bearer import (
    BearerRefusal,
    CacheOption,
    TokenVerifier,
    aauthenticate,
    check_realm,
    normalize_scopes,
    with_cache,
)

__all__ = ["require_token"]


class _OpenAPIBearer(HTTPBearer):
    """Only for the OpenAPI document (the "Authorize" button); the header is parsed by
    ``_bearer``. Takes an ``HTTPConnection``, not a ``Request``, so that websocket routes can
    use the dependency too (FastAPI cannot give a websocket handshake a ``Request``)."""

    async def __call__(self, conn: HTTPConnection) -> None:
        return None


_openapi_scheme = _OpenAPIBearer(auto_error=False, bearerFormat="JWT", scheme_name="HTTPBearer")


class _TokenDependency:
    """The dependency ``require_token`` returns (a callable, as FastAPI wants); ``verifier`` is
    the verifier it checks tokens with (a ``CachedVerifier`` by default)."""

    def __init__(self, verifier: TokenVerifier, required: frozenset[str], realm: str) -> None:
        self.verifier = verifier
        self._required = required
        self._realm = realm

    async def __call__(
        self, conn: HTTPConnection, _: None = Depends(_openapi_scheme)
    ) -> VerifiedToken:
        values = conn.headers.getlist("authorization")
        outcome = await aauthenticate(
            self.verifier, values, realm=self._realm, scopes=self._required
        )
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

    def __repr__(self) -> str:
        return f"require_token(scopes={sorted(self._required)!r}, realm={self._realm!r})"


# FastAPI before about 0.125 resolves the string annotations of a callable *instance* against no
# globals (an instance has no ``__globals__``), so under ``from __future__ import annotations``
# it would read ``conn`` as a required query parameter (422). Resolved once here, for every
# version the ``fastapi`` extra admits.
for _dependency in (_OpenAPIBearer, _TokenDependency):
    _dependency.__call__.__annotations__ = get_type_hints(_dependency.__call__)


def require_token(
    verifier: TokenVerifier,
    *,
    scopes: str | Iterable[str] = (),
    realm: str = "api",
    cache: CacheOption = True,
) -> Callable[..., Awaitable[VerifiedToken]]:
    """A dependency returning the request's ``VerifiedToken``, or answering 400/401/403/503.

    Parameters:
        verifier: a ``Verifier`` (checked through a ``CachedVerifier`` unless ``cache=False``),
            a ``CachedVerifier``, or anything with ``verify_async``.
        scopes: scopes the token must grant (``scope`` claim, space-separated, or ``scp``).
        realm: the realm of the ``WWW-Authenticate`` challenge.
        cache: the verified-token cache: ``True`` (default), ``False``, a number of entries,
            or a ``CachedVerifier`` of ``verifier``. Each call wraps its own cache: to share
            one between several dependencies, pass them one ``CachedVerifier``.

    Raises:
        ValueError, TypeError: an invalid realm, scope or cache option (at set-up, not per
            request).

    Example:
        >>> admin = require_token(verifier, scopes="admin")  # doctest: +SKIP
        >>> admin.verifier.stats.hits                        # doctest: +SKIP
        0
    """
    checked = with_cache(verifier, cache)
    required = normalize_scopes(scopes)
    check_realm(realm)
    return _TokenDependency(checked, required, realm)
