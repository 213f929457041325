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

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import JWTWardenError
from ._error_map import map_error as _map
from .errors import (
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    OAuthError,
    PayloadTooLarge,
    RequestTimeout,
)
from .routes.discovery import JWKS_PATH, jwks_response
from .runtime import Runtime
from .settings import Settings

__all__ = ["PUBLIC_PATHS", "app_from_env", "create_app"]

_log = logging.getLogger("jwtwarden.server")

# The only documents a cache may keep: public keys and metadata, the same for every caller.
PUBLIC_PATHS = frozenset(
    {JWKS_PATH, "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"}
)
# The path-issuer forms: RFC 8414 3.1 inserts the well-known path, Discovery 1.0 4 appends it.
_METADATA_PREFIX = (
    "/.well-known/oauth-authorization-server/",
    "/.well-known/openid-configuration/",
)
_METADATA_SUFFIX = "/.well-known/openid-configuration"
_NO_STORE_RAW = ((b"cache-control", b"no-store"), (b"pragma", b"no-cache"))


class _BodyTooLarge(Exception):
    pass


class _BodyTooSlow(Exception):
    pass


class EdgeMiddleware:
    """Pure ASGI: caps request bodies in size and in time (``body_timeout`` seconds from the
    first read to the last byte, else 408: a slow-body client holds a connection no longer),
    turns any unhandled exception into an OAuth 500 (no traceback anywhere), and writes one
    structured access-log line (path without the query). Slow *headers* (slowloris) never
    reach an ASGI app: uvicorn has no header-read timeout, the TLS proxy in front sets one
    (docs/server.md).

    It also answers ``GET /.well-known/jwks.json`` itself, from the pre-rendered document:
    the most requested and cheapest answer of an auth server skips the framework's routing
    and exception layers (docs/benchmarks-server.md)."""

    def __init__(self, app: ASGIApp, *, max_body: int, body_timeout: float = 10.0) -> None:
        self.app = app
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == JWKS_PATH and scope["method"] == "GET":
            runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
            if runtime is not None:
                etag = next(
                    (v.decode("latin-1") for n, v in scope["headers"] if n == b"if-none-match"),
                    None,
                )
                await jwks_response(runtime.jwks, etag)(scope, receive, send)
                return
        started = time.perf_counter()
        state = {"started": False, "status": 0}
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_large = int(value) > self.max_body
                except ValueError:
                    too_large = True
                if too_large:
                    await _send_error(PayloadTooLarge(), scope, receive, send)
                    return
        seen = 0
        deadline: float | None = None  # set at the first read of the body
        body_done = False

        async def limited_receive() -> Message:
            nonlocal seen, deadline, body_done
            if body_done:
                # The body is complete: what follows is a wait for the disconnect, unbounded.
                return await receive()
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + self.body_timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise _BodyTooSlow from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _BodyTooLarge
                body_done = not message.get("more_body", False)
            else:
                body_done = True
            return message

        path = scope["path"]
        # The RFC 8414 3.1 path-issuer form of the metadata is as public as the plain one.
        private = path not in PUBLIC_PATHS and not (
            path.startswith(_METADATA_PREFIX) or path.endswith(_METADATA_SUFFIX)
        )

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                state["status"] = message["status"]
                if private:
                    message["headers"] = [
                        *(
                            (n, v)
                            for n, v in message.get("headers", ())
                            if n.lower() not in (b"cache-control", b"pragma")
                        ),
                        *_NO_STORE_RAW,
                    ]
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not state["started"]:
                await _send_error(PayloadTooLarge(), scope, receive, tracking_send)
        except _BodyTooSlow:
            _log.info("request refused", extra={"event": "body_timeout", "status": 408})
            if not state["started"]:
                await _send_error(RequestTimeout(), scope, receive, tracking_send)
        except Exception as exc:
            error = _map(exc)
            _log.error(
                "unhandled error",
                extra={"event": "unhandled", "error": type(exc).__name__, "status": error.status},
            )
            if not state["started"]:
                await _send_error(error, scope, receive, tracking_send)
        finally:
            if _log.isEnabledFor(logging.DEBUG):  # the record is built only when it is written
                _log.debug(
                    "request",
                    extra={
                        "event": "http",
                        "method": scope.get("method"),
                        "path": scope.get("path", "")[:200],
                        "status": state["status"],
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )


async def _send_error(error: OAuthError, scope: Scope, receive: Receive, send: Send) -> None:
    await error.response()(scope, receive, send)


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
        return MethodNotAllowed().response()
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
        openapi_url=None,
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
    if settings.inspector:
        # Pasted JWK Sets only: the server never fetches an issuer on a visitor's say-so.
        from ..inspector import inspector_app

        app.mount("/inspect", inspector_app(allow_remote=False))
    app.add_middleware(
        EdgeMiddleware, max_body=settings.max_body_bytes, body_timeout=settings.body_timeout
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
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn workers call (``--factory``): settings from the environment."""
    return create_app(Settings(), freeze_heap=True)
