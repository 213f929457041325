"""The edge of the server, in front of the framework: ``EdgeMiddleware`` (pure ASGI) caps
request bodies in size and time, forbids caching everything but the public documents
(``PUBLIC_PATHS``), turns an unhandled exception into an OAuth error, writes the access-log
line, and answers ``GET`` of the JWKS from the pre-rendered document.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import OAuthError, PayloadTooLarge, RequestTimeout
from .routes.discovery import JWKS_PATH, jwks_response

__all__ = ["PUBLIC_PATHS", "EdgeMiddleware"]

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
    and exception layers (docs/benchmarks-server.md). With ``access_log`` (development) the
    request line is written at INFO, the JWKS included: method, path (never the query, where
    a careless client puts a token or a code), status and duration; no header is ever
    written (Authorization, Cookie)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body: int,
        body_timeout: float = 10.0,
        access_log: bool = False,
        map_error: Callable[[Exception], OAuthError],
    ) -> None:
        self.app = app
        self.map_error = map_error  # the app's table from service errors to OAuth errors
        self.max_body = max_body
        self.body_timeout = body_timeout
        # One INFO line per request (development); otherwise DEBUG, built only when enabled.
        self.access_log_level = logging.INFO if access_log else logging.DEBUG

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"started": False, "status": 0}
        if scope["path"] == JWKS_PATH and scope["method"] == "GET":
            runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
            if runtime is not None:
                etag = next(
                    (v.decode("latin-1") for n, v in scope["headers"] if n == b"if-none-match"),
                    None,
                )
                response = jwks_response(runtime.jwks, etag)
                await response(scope, receive, send)
                self._access(scope, response.status_code, started)
                return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_large = int(value) > self.max_body
                except ValueError:
                    too_large = True
                if too_large:
                    await _send_error(PayloadTooLarge(self.max_body), scope, receive, send)
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
                await _send_error(PayloadTooLarge(self.max_body), scope, receive, tracking_send)
        except _BodyTooSlow:
            _log.info("request refused", extra={"event": "body_timeout", "status": 408})
            if not state["started"]:
                await _send_error(RequestTimeout(), scope, receive, tracking_send)
        except Exception as exc:
            error = self.map_error(exc)
            _log.error(
                "unhandled error",
                extra={"event": "unhandled", "error": type(exc).__name__, "status": error.status},
            )
            if not state["started"]:
                await _send_error(error, scope, receive, tracking_send)
        finally:
            self._access(scope, state["status"], started)

    def _access(self, scope: Scope, status: int, started: float) -> None:
        if _log.isEnabledFor(self.access_log_level):  # the record is built only when written
            _log.log(
                self.access_log_level,
                "request",
                extra={
                    "event": "http",
                    "method": scope.get("method"),
                    "path": scope.get("path", "")[:200],  # the path only: never the query
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


async def _send_error(error: OAuthError, scope: Scope, receive: Receive, send: Send) -> None:
    await error.response()(scope, receive, send)
