"""CORS for the browser apps on the allowed origins, and for no one else (Fetch standard,
"CORS protocol"; OWASP HTML5 security cheat sheet).

Starlette's ``CORSMiddleware`` sends ``Access-Control-Allow-Credentials: true`` on every
response, to any origin or none, and answers a refused preflight with its allow headers; this
pure-ASGI middleware only ever answers with the exact origin it allows:

- ``Access-Control-Allow-Origin`` is the request's ``Origin`` echoed, only when it is exactly
  one of the allowed origins (never ``*``, never ``null``: sandboxed frames, ``file:`` pages and
  redirects send ``null``, so it names no one), and ``Access-Control-Allow-Credentials`` only
  ever comes with it.
- Every response carries ``Vary: Origin``: a shared cache must not hand the answer given to
  one origin to another.
- A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from anywhere else, or asking
  for a method or header outside the list, is a 400 with no allow header at all.
- Allow headers set by anything downstream are removed when the origin is not allowed.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import NO_STORE, InvalidRequest

__all__ = ["CORSPolicy"]

_ALLOW_PREFIX = "access-control-"


class CORSPolicy:
    """Pure ASGI CORS with credentials for exactly ``allowed_origins``.

    Example:
        >>> app = CORSPolicy(app, allowed_origins=["https://app.example.com"])  # doctest: +SKIP
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_origins: Collection[str],
        allow_methods: Collection[str] = ("GET", "POST"),
        allow_headers: Collection[str] = ("authorization", "content-type", "x-csrf-token"),
        max_age: int = 600,
    ) -> None:
        for origin in allowed_origins:
            # A wildcard with credentials lets every site read a logged-in user's answers.
            if origin in ("*", "null") or "*" in origin:
                raise ValueError(f"allowed origin {origin!r} is not an exact origin")
        self.app = app
        self.origins = frozenset(allowed_origins)
        self.methods = frozenset(m.upper() for m in allow_methods)
        self.headers = frozenset(h.lower() for h in allow_headers)
        self._preflight = {
            "Access-Control-Allow-Methods": ", ".join(sorted(self.methods)),
            "Access-Control-Allow-Headers": ", ".join(sorted(self.headers)),
            "Access-Control-Max-Age": str(max_age),
        }

    def allowed(self, origin: str | None) -> bool:
        """Whether ``origin`` is exactly one of the allowed origins."""
        return origin is not None and origin in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origins = headers.getlist("origin")
        # Two Origin headers name no single origin: treated as none allowed.
        origin = origins[0] if len(origins) == 1 else None
        allowed = self.allowed(origin)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._answer_preflight(scope, receive, send, headers, origin if allowed else None)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name in [n for n in out if n.startswith(_ALLOW_PREFIX)]:
                    del out[name]
                out.add_vary_header("Origin")
                if allowed and origin is not None:
                    out["Access-Control-Allow-Origin"] = origin
                    out["Access-Control-Allow-Credentials"] = "true"
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _answer_preflight(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers, origin: str | None
    ) -> None:
        method = headers["access-control-request-method"].strip().upper()
        requested = {
            h.strip().lower()
            for h in headers.get("access-control-request-headers", "").split(",")
            if h.strip()
        }
        response: Response
        if origin is None or method not in self.methods or not requested <= self.headers:
            response = InvalidRequest("CORS preflight refused").response()
        else:
            response = Response(
                status_code=200,
                headers={
                    **NO_STORE,
                    **self._preflight,
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Credentials": "true",
                },
            )
        response.headers.add_vary_header("Origin")
        await response(scope, receive, send)
