"""The server's own pages: ``GET /openapi.json`` and ``GET /docs`` (unless
``JWTWARDEN_OPENAPI_DOCS=false``), and in development an index at ``/``.

``/docs`` is rendered on the server from the OpenAPI document, as plain HTML with no script
and no stylesheet. FastAPI's Swagger UI and ReDoc pages load their JavaScript and CSS from a
CDN: that fails on a closed network, breaks under a ``default-src 'none'`` Content Security
Policy, and would run third-party script on the auth server's origin, where the session
cookies live. Vendoring Swagger UI would add about 1.5 MB of script to review and update.
A reader who wants an interactive client loads ``/openapi.json`` into one of their own.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import NoMatchFound

from ..responses import json_response

__all__ = ["SIGN_IN_ROUTE", "docs_routes", "index_routes", "inspector_redirect_routes"]

# The route the index links as "sign in" once the authorization endpoint's pages exist.
SIGN_IN_ROUTE = "sign_in"
_HTML = {"description": "an HTML page", "content": {"text/html": {}}}
_JSON = {"description": "the OpenAPI 3 document", "content": {"application/json": {}}}
_HEADERS = {
    # No script, no style, no frames: the page is links and text.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _page(title: str, body: str) -> HTMLResponse:
    html = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body>\n{body}\n</body></html>\n"
    )
    return HTMLResponse(html, headers=_HEADERS)


def _schema_text(schema: Any) -> str:
    return escape(json.dumps(schema, sort_keys=True, separators=(", ", ": ")))


def render_docs(document: dict[str, Any]) -> str:
    """The body of ``/docs``: every operation, its request body and every response."""
    parts = [
        f"<h1>{escape(document['info']['title'])} HTTP API</h1>",
        '<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a>. '
        "Every error body is RFC 6749 section 5.2 JSON: "
        "<code>{&quot;error&quot;, &quot;error_description&quot;}</code>.</p>",
    ]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            parts.append(f"<h2><code>{escape(method.upper())} {escape(path)}</code></h2>")
            if operation.get("description"):
                parts.append(f"<p>{escape(operation['description'])}</p>")
            body = operation.get("requestBody", {}).get("content", {})
            for media, content in body.items():
                schema = _schema_text(content.get("schema", {}))
                parts.append(f"<p>Body: <code>{escape(media)}</code> <code>{schema}</code></p>")
            parts.append("<ul>")
            for status, answer in operation.get("responses", {}).items():
                media = ", ".join(answer.get("content", {})) or "no body"
                parts.append(
                    f"<li><code>{escape(str(status))}</code> {escape(answer['description'])} "
                    f"({escape(media)})</li>"
                )
            parts.append("</ul>")
    return "\n".join(parts)


def docs_routes() -> list[Any]:
    """``GET /openapi.json`` and ``GET /docs``."""
    router = APIRouter()

    @router.get("/openapi.json", include_in_schema=False, responses={200: _JSON})
    async def openapi_document(request: Request) -> Response:
        return json_response(request.app.openapi())

    @router.get("/docs", include_in_schema=False, responses={200: _HTML})
    async def docs_page(request: Request) -> Response:
        return _page("jwtwarden HTTP API", render_docs(request.app.openapi()))

    return list(router.routes)


def _link(href: str, text: str, note: str) -> str:
    return f'<li><a href="{escape(href)}">{escape(text)}</a>: {escape(note)}</li>'


def index_routes(*, docs: bool, inspector: bool, metadata_path: str) -> list[Any]:
    """``GET /`` for development: links to what a developer looks for first."""
    router = APIRouter()

    @router.get("/", include_in_schema=False, responses={200: _HTML})
    async def index(request: Request) -> Response:
        links = []
        try:
            sign_in = str(request.app.url_path_for(SIGN_IN_ROUTE))
            links.append(_link(sign_in, "Sign in", "the hosted sign-in page"))
        except NoMatchFound:
            pass  # no hosted sign-in page on this server yet
        if docs:
            links.append(_link("/docs", "API docs", "every endpoint and its answers"))
        links.append(_link("/.well-known/jwks.json", "JWKS", "the public signing keys"))
        links.append(_link(metadata_path, "Metadata", "RFC 8414 authorization server metadata"))
        if inspector:
            links.append(_link("/inspect/", "Token inspector", "why a token would not verify"))
        body = (
            "<h1>jwtwarden (development)</h1>\n"
            "<p>This server runs in development mode: not for production.</p>\n"
            f"<ul>\n{chr(10).join(links)}\n</ul>"
        )
        return _page("jwtwarden (development)", body)

    return list(router.routes)


def inspector_redirect_routes() -> list[Any]:
    """``GET /inspect`` to ``/inspect/``: the one redirect kept once the router stops adding
    trailing slashes (a POST is never redirected: a 307 makes clients resend the body)."""
    router = APIRouter()

    @router.get("/inspect", include_in_schema=False, responses={307: {"description": "moved"}})
    async def inspect_redirect() -> Response:
        return RedirectResponse("/inspect/", status_code=307)

    return list(router.routes)
