"""The OpenAPI description of each route: what it accepts and every status it can answer.

The routes parse their own bodies (``parsing.py``), so FastAPI cannot infer any of this; it is
declared here, once, and attached to each route declaration (``responses=``,
``openapi_extra=``). The server does not serve the schema (``openapi_url=None``): it is for
``app.openapi()``, which tests/fuzz/test_openapi.py hands to schemathesis to check that every
answer of the running server is one of those documented, with its content type.

Every error is an RFC 6749 section 5.2 body. The edge can refuse any request with a body as
too large (413) or too slow (408) before a route runs; routes that touch a store can answer 503
(with ``Retry-After``) when it cannot.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BEARER",
    "EDGE",
    "STORE",
    "form_body",
    "json_body",
    "page_responses",
    "responses",
]

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
_WHY = {
    400: "invalid_request (or the grant's own error code): a parameter is missing or wrong",
    401: "invalid_token or invalid_client: no, or no valid, credentials",
    403: "access_denied: not allowed (an admin route, a cross-site cookie request)",
    404: "not_found: no such resource",
    405: "invalid_request: the method is not one the path takes; Allow lists those it does",
    409: "conflict: the resource already exists (an account with this email)",
    408: "invalid_request: the body arrived too slowly",
    413: "invalid_request: the body is over the size limit (the description states it)",
    415: "invalid_request: the body is not of the media type the route takes",
    429: "too_many_requests: rate limited; Retry-After says when to try again",
    302: "a redirect (Location): the authorization response (RFC 6749 4.1.2) or a page",
    303: "a redirect after a form (Location): the authorization response or a page",
    503: "temporarily_unavailable: a store cannot answer; Retry-After says when to try again",
}
EDGE = (408, 413)  # any request with a body, refused by the edge middleware
STORE = (503,)  # a route that reads or writes the database, the key ring or the denylist
BEARER = (400, 401, 403)  # a route behind authenticate(): a malformed header, a token, CSRF

_STRING = {"type": "string"}


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


def responses(ok: int, ok_body: dict[str, Any] | None, *errors: int) -> dict[int | str, Any]:
    """The ``responses=`` of a route: its success status (a JSON body with schema ``ok_body``,
    or no body for ``None``) and each error status, with its RFC 6749 5.2 body."""
    success: dict[str, Any] = {"description": "success"}
    if ok_body is not None:
        success["content"] = {"application/json": {"schema": ok_body}}
    out: dict[int | str, Any] = {ok: success}
    for status in sorted(set(errors)):
        out[status] = {
            "description": _WHY[status],
            "content": {"application/json": {"schema": _ERROR}},
        }
    return out


def page_responses(
    ok: int | None, *errors: int, redirects: tuple[int, ...] = ()
) -> dict[int | str, Any]:
    """The ``responses=`` of a hosted page (``server/pages``): HTML for the page's own answers
    (its success and its error pages), a ``Location`` for a redirect, and the RFC 6749 5.2
    JSON body of the edge's refusals; a status both can answer lists both media types."""
    html = {"text/html": {"schema": _STRING}}
    out: dict[int | str, Any] = {}
    if ok is not None:
        out[ok] = {"description": "the page", "content": html}
    for status in redirects:
        out[status] = {"description": _WHY[status]}
    for status in sorted(set(errors)):
        content: dict[str, Any] = {"application/json": {"schema": _ERROR}}
        if status in (400, 403, 429):
            content.update(html)  # the page itself, with the error shown
        out[status] = {"description": _WHY[status], "content": content}
    return out


def json_body(
    properties: dict[str, Any], required: tuple[str, ...] = (), *, optional: bool = False
) -> dict[str, Any]:
    """The ``openapi_extra=`` of a route taking a JSON object."""
    return {
        "requestBody": {
            "required": not optional,
            "content": {"application/json": {"schema": _object(properties, required)}},
        }
    }


def form_body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The ``openapi_extra=`` of a route taking an ``application/x-www-form-urlencoded`` form."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": _object(properties, required)}
            },
        }
    }


TOKENS = _object(
    {
        "token_type": _STRING,
        "expires_in": {"type": "integer"},
        "access_token": _STRING,
        "refresh_token": _STRING,
        "id_token": _STRING,  # OpenID Connect Core 3.1.3.3, with the openid scope
        "scope": _STRING,
        "csrf_token": _STRING,
    },
    ("token_type", "expires_in"),
)
STATUS = _object({"status": _STRING}, ("status",))
