"""Small response helpers for the routes."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from .errors import NO_STORE

__all__ = ["json_response", "private_response", "token_response"]


def json_response(
    body: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A compact JSON response (no framework serialisation on the hot path)."""
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def private_response(body: dict[str, Any], *, status: int = 200) -> Response:
    """An answer about an account (admin API): never cached (RFC 9700; the edge sets the
    same headers on every non-public response, this says so where it is built)."""
    return json_response(body, status=status, headers=dict(NO_STORE))


def token_response(body: dict[str, Any]) -> Response:
    """RFC 6749 5.1: a token response is never cached."""
    return json_response(body, headers=dict(NO_STORE))
