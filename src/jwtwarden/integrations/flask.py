"""Flask: an extension holding the verifier, and a decorator that demands a bearer token.

    >>> JWTWarden(app, verifier)                    # doctest: +SKIP
    >>> @app.get("/items")                          # doctest: +SKIP
    ... @require_token(scopes=["items:read"])
    ... def items():
    ...     return {"sub": g.claims["sub"]}

The verified token is ``g.verified_token`` and its claims ``g.claims``. Refusals follow RFC
6750 (see ``integrations._bearer``). Flask is synchronous, so the token is checked with
``verify``. Needs the ``flask`` extra.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from flask import Flask, Response, current_app, g, jsonify, request

from ._bearer import (
    BearerRefusal,
    TokenVerifier,
    authenticate,
    check_realm,
    check_verifier,
    normalize_scopes,
)

__all__ = ["EXTENSION_KEY", "JWTWarden", "require_token"]

EXTENSION_KEY = "jwtwarden"
F = TypeVar("F", bound=Callable[..., Any])


class JWTWarden:
    """The Flask extension: ``JWTWarden(app, verifier)`` or ``init_app`` later.

    Parameters:
        app: the Flask app (or ``None``, then call ``init_app``).
        verifier: a ``Verifier`` or ``CachedVerifier``.
        realm: the realm of the ``WWW-Authenticate`` challenge.
    """

    def __init__(
        self, app: Flask | None = None, verifier: Any = None, *, realm: str = "api"
    ) -> None:
        self.realm = check_realm(realm)
        self._verifier: TokenVerifier | None = (
            check_verifier(verifier) if verifier is not None else None
        )
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, verifier: Any = None) -> None:
        if verifier is not None:
            self._verifier = check_verifier(verifier)
        if self._verifier is None:
            raise ValueError("JWTWarden needs a verifier")
        app.extensions[EXTENSION_KEY] = self

    @property
    def verifier(self) -> TokenVerifier:
        if self._verifier is None:
            raise RuntimeError("JWTWarden has no verifier; call init_app(app, verifier)")
        return self._verifier


def _respond(refusal: BearerRefusal) -> Response:
    response = jsonify(refusal.body)
    response.status_code = refusal.status
    response.headers.update(refusal.headers)
    return response


def _guard(view: F, required: frozenset[str]) -> F:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        extension = current_app.extensions.get(EXTENSION_KEY)
        if not isinstance(extension, JWTWarden):
            raise RuntimeError("require_token needs JWTWarden(app, verifier) on this app")
        values = request.headers.getlist("Authorization")
        outcome = authenticate(extension.verifier, values, realm=extension.realm, scopes=required)
        if isinstance(outcome, BearerRefusal):
            return _respond(outcome)
        g.verified_token = outcome
        g.claims = outcome.claims
        return current_app.ensure_sync(view)(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@overload
def require_token(view: F, /) -> F: ...
@overload
def require_token(*, scopes: str | Iterable[str] = ()) -> Callable[[F], F]: ...


def require_token(
    view: F | None = None, /, *, scopes: str | Iterable[str] = ()
) -> F | Callable[[F], F]:
    """Decorate a view so it runs only with a valid bearer token (and the ``scopes``).

    Use bare (``@require_token``) or with scopes (``@require_token(scopes=["read"])``).

    Raises:
        ValueError: an invalid scope (at decoration time).
    """
    required = normalize_scopes(scopes)
    if view is not None:
        return _guard(view, required)
    return lambda fn: _guard(fn, required)
