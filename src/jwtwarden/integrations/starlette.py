"""Starlette (and FastAPI) authentication: a backend for ``AuthenticationMiddleware``.

``BearerTokenBackend`` is Starlette's own hook (``AuthenticationBackend``): it verifies the
bearer token with ``verify_async`` and puts a ``TokenUser`` in ``request.user`` and the token's
scopes in ``request.auth.scopes``. ``BearerAuthMiddleware`` wires it with RFC 6750 answers
(see ``integrations._bearer``), optionally demanding a token and scopes for everything below.
A plain ``Verifier`` is checked through the verified-token cache unless ``cache=False`` (see
``_bearer.with_cache``); ``.verifier`` on either is the verifier in use.

    >>> app = Starlette(routes=routes, middleware=[  # doctest: +SKIP
    ...     Middleware(BearerAuthMiddleware, verifier=verifier, scopes=["read"])])

Needs the ``fastapi`` extra (Starlette).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..verify import VerifiedToken
from ._bearer import (
    BearerRefusal,
    CacheOption,
    TokenVerifier,
    aauthenticate,
    check_realm,
    granted_scopes,
    insufficient_scope,
    missing_token,
    normalize_scopes,
    with_cache,
)

__all__ = ["BearerAuthMiddleware", "BearerTokenBackend", "TokenUser", "refusal_response"]


class TokenUser(BaseUser):
    """The authenticated caller: ``token`` is the ``VerifiedToken``, ``claims`` its claims."""

    def __init__(self, token: VerifiedToken) -> None:
        self.token = token

    @property
    def claims(self) -> dict[str, Any]:
        return self.token.claims

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return str(self.token.claims.get("sub", ""))

    @property
    def identity(self) -> str:
        return str(self.token.claims.get("sub", ""))

    def __repr__(self) -> str:
        return f"TokenUser(sub={self.identity!r})"


class BearerRefused(AuthenticationError):
    """Raised by the backend; ``refusal`` says how to answer."""

    def __init__(self, refusal: BearerRefusal) -> None:
        super().__init__(refusal.error or "unauthorized")
        self.refusal = refusal


def refusal_response(refusal: BearerRefusal) -> Response:
    """The Starlette response for a refusal (status, challenge header, JSON body)."""
    return JSONResponse(refusal.body, status_code=refusal.status, headers=refusal.headers)


def _on_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    if isinstance(exc, BearerRefused):
        return refusal_response(exc.refusal)
    return JSONResponse({"error": "invalid_request"}, status_code=400)


class BearerTokenBackend(AuthenticationBackend):
    """Verify the request's bearer token (``verify_async``).

    Parameters:
        verifier: a ``Verifier`` (checked through a ``CachedVerifier`` unless ``cache=False``),
            a ``CachedVerifier``, or anything with ``verify_async``.
        realm: the realm of the ``WWW-Authenticate`` challenge.
        required: refuse requests without a bearer token (401); otherwise they pass as
            anonymous (``request.user.is_authenticated`` is false).
        cache: the verified-token cache: ``True`` (default), ``False``, a number of entries,
            or a ``CachedVerifier`` of ``verifier``.

    Raises:
        ValueError, TypeError: an invalid realm or cache option.
    """

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        realm: str = "api",
        required: bool = False,
        cache: CacheOption = True,
    ) -> None:
        self._verifier = with_cache(verifier, cache)
        self._realm = check_realm(realm)
        self._required = required

    @property
    def verifier(self) -> TokenVerifier:
        """The verifier in use (a ``CachedVerifier`` by default: ``.stats``, ``.clear()``)."""
        return self._verifier

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        values = conn.headers.getlist("authorization")
        if not values and not self._required:
            return None
        outcome = await aauthenticate(self._verifier, values, realm=self._realm)
        if isinstance(outcome, BearerRefusal):
            if outcome.status == 401 and outcome.error is None and not self._required:
                return None  # another scheme (Basic, ...): not ours to refuse
            raise BearerRefused(outcome)
        scopes = sorted(_granted(outcome))
        return AuthCredentials(scopes), TokenUser(outcome)


def _granted(result: VerifiedToken) -> frozenset[str]:
    return granted_scopes(result.claims)


class _ScopeGate:
    """Refuse (403, RFC 6750) requests, and websocket handshakes, whose token lacks the
    required scopes."""

    def __init__(self, app: ASGIApp, scopes: frozenset[str], realm: str) -> None:
        self._app = app
        self._scopes = scopes
        self._realm = realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        user = scope.get("user")
        if not isinstance(user, TokenUser):
            refusal = missing_token(self._realm)
        elif not self._scopes <= _granted(user.token):
            refusal = insufficient_scope(self._realm, self._scopes)
        else:
            await self._app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # Closing before accepting makes the server refuse the handshake (HTTP 403).
            await send({"type": "websocket.close", "code": 1008})
            return
        await refusal_response(refusal)(scope, receive, send)


class BearerAuthMiddleware:
    """ASGI middleware: ``AuthenticationMiddleware`` + ``BearerTokenBackend`` + RFC 6750.

    Parameters:
        app: the ASGI app to protect.
        verifier: a ``Verifier`` or ``CachedVerifier``.
        realm: the challenge's realm.
        required: every request needs a valid token (default); ``False`` lets anonymous
            requests through with an ``UnauthenticatedUser``.
        scopes: scopes every request's token must grant (403 ``insufficient_scope``).
        cache: the verified-token cache: ``True`` (default), ``False``, a number of entries,
            or a ``CachedVerifier`` of ``verifier``.

    Raises:
        ValueError, TypeError: an invalid realm, scope or cache option.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: TokenVerifier,
        *,
        realm: str = "api",
        required: bool = True,
        scopes: str | Iterable[str] = (),
        cache: CacheOption = True,
    ) -> None:
        required_scopes = normalize_scopes(scopes)
        if required_scopes and not required:
            raise ValueError("scopes need required=True")
        inner = _ScopeGate(app, required_scopes, realm) if required_scopes else app
        backend = BearerTokenBackend(verifier, realm=realm, required=required, cache=cache)
        self._backend = backend
        self._app = AuthenticationMiddleware(inner, backend=backend, on_error=_on_error)

    @property
    def verifier(self) -> TokenVerifier:
        """The verifier in use (a ``CachedVerifier`` by default: ``.stats``, ``.clear()``)."""
        return self._backend.verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)
