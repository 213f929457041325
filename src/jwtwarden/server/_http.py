"""App-wide HTTP conventions the routes do not each repeat (issue 17):

- ``HEAD`` is answered wherever ``GET`` is, with the ``GET`` answer's status and headers and
  no body (RFC 9110 9.3.2). FastAPI routes declare ``GET`` only; ``HeadAsGet`` runs the
  request as a ``GET`` and drops the body.
- A ``405`` names the methods the path takes in ``Allow`` (RFC 9110 15.5.6: "MUST generate an
  Allow header field"), gathered from every route of the path, not only the first one.
- The public documents (the JWKS and the metadata) carry ``Access-Control-Allow-Origin: *``
  and answer their CORS preflight: browser verifiers fetch them from any origin, they hold
  nothing private, and ``*`` never comes with credentials (Fetch standard, "CORS protocol"),
  so no cookie or token rides along. Every other path keeps the exact-origin policy of
  ``cors.py`` (or none).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import MethodNotAllowed, OAuthError

__all__ = ["HeadAsGet", "PublicDocumentCORS", "allowed_methods", "is_public_document"]

_JWKS_PATH = "/.well-known/jwks.json"
# RFC 8414 3 and 3.1 (the path-issuer form), and OpenID Connect Discovery 1.0 4 when served.
_METADATA_PREFIXES = (
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
)
_PREFLIGHT_HEADERS = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, HEAD"),
    # A verifier revalidating its copy sends If-None-Match, not a CORS-safelisted header.
    (b"access-control-allow-headers", b"if-none-match"),
    (b"access-control-max-age", b"86400"),
    (b"content-length", b"0"),
)


def is_public_document(path: str) -> bool:
    """Whether ``path`` is one of the public documents: the JWKS or a metadata URL (Discovery
    1.0 4 appends the well-known path to an issuer's path)."""
    return (
        path == _JWKS_PATH
        or path.startswith(_METADATA_PREFIXES)
        or path.endswith("/.well-known/openid-configuration")
    )


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route takes at ``scope``'s path (``HEAD`` wherever ``GET`` is)."""
    methods: set[str] = set()
    for route in routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def method_not_allowed(request: Request) -> Response:
    """The 405 answer with ``Allow`` (RFC 9110 15.5.6)."""
    allow = allowed_methods(request.app.router.routes, request.scope)
    error: OAuthError = MethodNotAllowed(
        f"{request.method} is not allowed here; allowed: {', '.join(allow)}",
        headers={"Allow": ", ".join(allow)},
    )
    return error.response()


class HeadAsGet:
    """Pure ASGI: a ``HEAD`` request runs as ``GET``; its answer is sent without the body
    (``Content-Length`` stays that of the ``GET`` answer, RFC 9110 8.6)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the end of the body, sent empty, closes the answer
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


class PublicDocumentCORS:
    """Pure ASGI, outermost: ``Access-Control-Allow-Origin: *`` on the public documents (and
    no ``Access-Control-Allow-Credentials``, whatever an inner layer set), and their
    preflight answered for ``GET`` and ``HEAD``. Other paths pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_public_document(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            requested = Headers(scope=scope).get("access-control-request-method")
            if requested is not None:
                await self._preflight(requested.strip().upper(), scope, receive, send)
                return

        async def send_with_star(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *(
                        (n, v)
                        for n, v in message.get("headers", ())
                        if not n.lower().startswith(b"access-control-")
                    ),
                    (b"access-control-allow-origin", b"*"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_star)

    @staticmethod
    async def _preflight(method: str, scope: Scope, receive: Receive, send: Send) -> None:
        if method not in ("GET", "HEAD"):
            error = MethodNotAllowed(
                f"CORS preflight refused: the public documents are read with GET or HEAD, "
                f"not {method[:20]}",
                headers={"Allow": "GET, HEAD"},
            )
            await error.response()(scope, receive, send)
            return
        # RFC 9110 15.3.5: 204, no body; the Fetch standard takes any 2xx for a preflight.
        await send(
            {"type": "http.response.start", "status": 204, "headers": list(_PREFLIGHT_HEADERS)}
        )
        await send({"type": "http.response.body", "body": b""})
