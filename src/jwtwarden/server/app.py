"""The auth server's app factory: ``create_app(settings)`` (FastAPI on uvicorn).

    $ jwtwarden serve                     # development: SQLite and keys in ./.jwtwarden
    >>> app = create_app(Settings())      # doctest: +SKIP

Every error is an OAuth body (RFC 6749 5.2) with a 4xx status for every bad input, 503 when a
dependency cannot answer (fail closed), and a bare 500 ``server_error`` (logged by type, never
with a traceback) for anything unforeseen. Request bodies are capped (16 KiB by default).

Every response but the public documents (``PUBLIC_PATHS``: the JWKS and the metadata, which
keep their own ``Cache-Control``) is ``Cache-Control: no-store`` and ``Pragma: no-cache``,
errors included (RFC 6749 5.1, RFC 9700 4.x: tokens, account data and the answers that tell
one account from another are for the client alone, not for a proxy or the browser's cache).
It is the edge's rule, not each route's, so a route added later is covered by default.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import JWTWardenError
from ._error_map import map_error as _map
from ._http import HeadAsGet, PublicDocumentCORS, method_not_allowed
from .edge import PUBLIC_PATHS, EdgeMiddleware
from .errors import (
    InvalidRequest,
    NotFound,
    OAuthError,
)
from .runtime import Runtime
from .settings import Settings

__all__ = ["PUBLIC_PATHS", "app_from_env", "create_app"]

_log = logging.getLogger("jwtwarden.server")


async def _handle(request: Request, exc: Exception) -> Response:
    error = _map(exc)
    level = logging.WARNING if error.status >= 500 else logging.INFO
    _log.log(
        level,
        "request refused",
        extra={
            "event": "refused",
            "error": error.error,
            "status": error.status,
            "reason": error.log_detail,
            "path": request.url.path[:200],
        },
    )
    return error.response()


async def _http_exception(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 400)
    if status == 404:
        return NotFound().response()
    if status == 405:
        return method_not_allowed(request)
    return InvalidRequest().response()


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    """Build the auth server.

    Parameters:
        settings: the validated configuration (default: from the environment).
        runtime: a prebuilt ``Runtime`` (tests inject a clock this way); built from
            ``settings`` at start-up otherwise.
        freeze_heap: once started, move every object alive then (modules, the app, the
            runtime) out of the garbage collector's sight (``gc.freeze``), so a full
            collection under load scans only what requests allocate: without it, one costs
            25-110 ms on this server's heap and stalls every request of the worker
            (docs/benchmarks-server.md). For a server process (``app_from_env`` sets it),
            not for a process that builds many apps.

    Example:
        >>> app = create_app(Settings(port=8080))  # doctest: +SKIP
    """
    settings = settings if settings is not None else Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = runtime if runtime is not None else Runtime(settings)
        await active.start()
        app.state.runtime = active
        if freeze_heap:
            gc.collect()
            gc.freeze()
        if settings.is_development:
            _log.warning(
                "DEVELOPMENT MODE: database %s, keys %s, denylist %s; not for production",
                settings.database_kind,
                settings.effective_key_store,
                settings.effective_denylist,
                extra={"event": "development_mode"},
            )
        try:
            yield
        finally:
            await active.close()

    app = FastAPI(
        title="jwtwarden",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by routes/pages.py, without the CDN pages
        # A 307 to the other spelling makes a client resend its POST body elsewhere: an exact
        # path or a 404/405 instead (issue 17). /inspect keeps its GET redirect (pages.py).
        redirect_slashes=False,
        lifespan=lifespan,
    )
    app.state.settings = settings
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        OAuthError: _handle,
        JWTWardenError: _handle,
        StarletteHTTPException: _http_exception,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
    from .routes.table import all_routes

    app.router.routes.extend(all_routes(settings.issuer_url))  # in matching order (table.py)
    _add_pages(app, settings)
    if settings.inspector:
        # Pasted JWK Sets only: the server never fetches an issuer on a visitor's say-so.
        from ..inspector import inspector_app

        app.mount("/inspect", inspector_app(allow_remote=False))
    app.add_middleware(HeadAsGet)  # innermost: the edge logs and caps the real method
    app.add_middleware(
        EdgeMiddleware,
        max_body=settings.max_body_bytes,
        body_timeout=settings.body_timeout,
        access_log=settings.is_development,
        map_error=_map,
    )
    if settings.allowed_origins:
        # Browser apps on the allowed origins call the token endpoints with credentials
        # (cookie mode) and the X-CSRF-Token header, which needs a CORS preflight. Only the
        # exact allowed origins are echoed; any other origin gets no CORS headers at all, and
        # the CSRF check still refuses its state-changing requests (cookies.py, cors.py).
        from .cors import CORSPolicy

        app.add_middleware(
            CORSPolicy,
            allowed_origins=settings.allowed_origins,
            allow_methods=("GET", "POST"),
            allow_headers=("authorization", "content-type", "x-csrf-token"),
            max_age=600,
        )
    app.add_middleware(PublicDocumentCORS)  # outermost: the public documents' own CORS
    return app


def _add_pages(app: FastAPI, settings: Settings) -> None:
    """``/docs`` and ``/openapi.json`` (unless turned off), the development index at ``/``."""
    from ..oauth.metadata import metadata_paths
    from .routes.pages import docs_routes, index_routes, inspector_redirect_routes

    if settings.openapi_docs:
        app.router.routes.extend(docs_routes())
    if settings.is_development:
        app.router.routes.extend(
            index_routes(
                docs=settings.openapi_docs,
                inspector=settings.inspector,
                metadata_path=metadata_paths(settings.issuer_url)[0],
            )
        )
    if settings.inspector:
        app.router.routes.extend(inspector_redirect_routes())


def app_from_env() -> FastAPI:
    """The factory uvicorn workers call (``--factory``): settings from the environment."""
    return create_app(Settings(), freeze_heap=True)
