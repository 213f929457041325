"""Flask: an extension holding the verifier, and a decorator that demands a bearer token.

    >>> JWTWarden(app, verifier)                    # doctest: +SKIP
    >>> @app.get("/items")                          # doctest: +SKIP
    ... @require_token(scopes=["items:read"])
    ... def items():
    ...     return {"sub": g.claims["sub"]}

The verified token is ``g.verified_token`` and its claims ``g.claims``. Refusals follow RFC
6750 (see ``integrations._bearer``). Flask is synchronous, so the token is checked with
``verify``, through the verified-token cache unless ``cache=False`` (see
``_bearer.with_cache``); ``JWTWarden.verifier`` is the verifier in use. Needs the ``flask``
extra.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

from flask import Flask, Response, current_app, g, jsonify, request

from ._bearer import (
    BearerRefusal,
    CacheOption,
    TokenVerifier,
    authenticate,
    check_realm,
    normalize_scopes,
    with_cache,
)

__all__ = ["EXTENSION_KEY", "JWTWarden", "require_token"]

EXTENSION_KEY = "jwtwarden"
F = TypeVar("F", bound=Callable[..., Any])


class JWTWarden:
    """The Flask extension: ``JWTWarden(app, verifier)`` or ``init_app`` later.

    Parameters:
        app: the Flask app (or ``None``, then call ``init_app``).
        verifier: a ``Verifier`` (checked through a ``CachedVerifier`` unless ``cache=False``),
            a ``CachedVerifier``, or anything with ``verify``.
        realm: the realm of the ``WWW-Authenticate`` challenge.
        cache: the verified-token cache: ``True`` (default), ``False``, a number of entries,
            or a ``CachedVerifier`` of ``verifier``.

    Raises:
        ValueError, TypeError: an invalid realm or cache option.
    """

    def __init__(
        self,
        app: Flask | None = None,
        verifier: TokenVerifier | None = None,
        *,
        realm: str = "api",
        cache: CacheOption = True,
    ) -> None:
        self.realm = check_realm(realm)
        self._cache = cache
        self._verifier: TokenVerifier | None = (
            with_cache(verifier, cache) if verifier is not None else None
        )
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, verifier: TokenVerifier | None = None) -> None:
        """Attach to ``app``; ``verifier`` (if given) replaces the one given at construction,
        with the same ``cache`` option."""
        if verifier is not None:
            self._verifier = with_cache(verifier, self._cache)
        if self._verifier is None:
            raise ValueError("JWTWarden needs a verifier")
        app.extensions[EXTENSION_KEY] = self

    @property
    def verifier(self) -> TokenVerifier:
        """The verifier in use (a ``CachedVerifier`` by default: ``.stats``, ``.clear()``)."""
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
