"""OAuth errors at the HTTP edge: one class per error code, each rendering its own RFC 6749
section 5.2 body (``error``, ``error_description``), status and headers.

``description`` is the hint for the client and never says more than it must (a login failure
never says which check failed); ``log_detail`` is for the log only. Neither ever holds a token,
a password or a stack trace.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import ClassVar

from starlette.responses import Response

__all__ = [
    "NO_STORE",
    "AccessDenied",
    "Conflict",
    "InsufficientScope",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidTarget",
    "InvalidToken",
    "MethodNotAllowed",
    "NotFound",
    "OAuthError",
    "PayloadTooLarge",
    "ServerError",
    "TemporarilyUnavailable",
    "TooManyRequests",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedMediaType",
]

# RFC 6749 5.1: responses carrying tokens or credentials-related errors are not cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """Base: ``error`` code, HTTP ``status``, client ``description``, log-only ``log_detail``."""

    error: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400
    default_description: ClassVar[str] = "the request is invalid"

    def __init__(
        self,
        description: str | None = None,
        *,
        log_detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.description = description or self.default_description
        self.log_detail = log_detail
        self.headers = dict(headers or {})
        super().__init__(self.description)

    def response(self) -> Response:
        body = {"error": self.error, "error_description": self.description}
        return Response(
            json.dumps(body).encode(),
            status_code=self.status,
            media_type="application/json",
            headers={**NO_STORE, **self.extra_headers(), **self.headers},
        )

    def extra_headers(self) -> dict[str, str]:
        return {}


class InvalidRequest(OAuthError):
    error, status = "invalid_request", 400


class InvalidClient(OAuthError):
    error, status = "invalid_client", 401
    default_description = "client authentication failed"

    def extra_headers(self) -> dict[str, str]:
        # RFC 6749 5.2: a 401 for invalid_client names the scheme the client should use
        # (required when the Authorization header was used; RFC 9110 11.6.1: on every 401).
        return {"WWW-Authenticate": 'Basic realm="jwtwarden"'}


class UnauthorizedClient(OAuthError):
    """RFC 6749 5.2: the client may not use this grant type."""

    error, status = "unauthorized_client", 400
    default_description = "this client is not allowed to use this grant type"


class InvalidTarget(OAuthError):
    """RFC 8707 2: the requested resource is not one the client may address."""

    error, status = "invalid_target", 400
    default_description = "the requested resource is not allowed for this client"


class InvalidGrant(OAuthError):
    error, status = "invalid_grant", 400
    default_description = "the grant is invalid, expired or revoked"


class InvalidScope(OAuthError):
    error, status = "invalid_scope", 400
    default_description = "the requested scope is invalid or too broad"


class UnsupportedGrantType(OAuthError):
    error, status = "unsupported_grant_type", 400
    default_description = "this grant_type is not supported here"


class InvalidToken(OAuthError):
    """RFC 6750 3.1: a missing, malformed, expired or revoked bearer token."""

    error, status = "invalid_token", 401
    default_description = "the access token is missing, invalid, expired or revoked"

    def extra_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="jwtwarden", error="invalid_token"'}


class InsufficientScope(OAuthError):
    """RFC 6750 3.1: the token is valid but lacks the scope the resource needs (403)."""

    error, status = "insufficient_scope", 403
    default_description = "the access token lacks the scope this resource needs"

    def __init__(self, scope: str, description: str | None = None) -> None:
        # RFC 6750 3: the challenge names the scope needed (a scope-token: no quotes inside).
        challenge = f'Bearer realm="jwtwarden", error="insufficient_scope", scope="{scope}"'
        super().__init__(description, headers={"WWW-Authenticate": challenge})


class AccessDenied(OAuthError):
    error, status = "access_denied", 403
    default_description = "the request is not allowed"


class NotFound(OAuthError):
    error, status = "not_found", 404
    default_description = "no such endpoint"


class Conflict(OAuthError):
    """RFC 9110 15.5.10: the request conflicts with the resource's state (it already exists)."""

    error, status = "conflict", 409
    default_description = "the resource already exists"


class MethodNotAllowed(OAuthError):
    error, status = "invalid_request", 405
    default_description = "method not allowed"


class PayloadTooLarge(OAuthError):
    """RFC 9110 15.5.14; the description states the limit (``limit`` bytes) when known."""

    error, status = "invalid_request", 413
    default_description = "the request body is too large"

    def __init__(self, limit: int | None = None) -> None:
        super().__init__(
            None
            if limit is None
            else f"the request body is over this server's limit of {limit} bytes"
        )


class RequestTimeout(OAuthError):
    """RFC 9110 15.5.9: the client did not send its whole body in time (a slow client)."""

    error, status = "invalid_request", 408
    default_description = "the request body did not arrive in time"

    def extra_headers(self) -> dict[str, str]:
        # The connection is left in the middle of a body: it cannot carry another request.
        return {"Connection": "close"}


class UnsupportedMediaType(OAuthError):
    error, status = "invalid_request", 415
    default_description = "unsupported content type"


class TooManyRequests(OAuthError):
    """Rate limited; ``Retry-After`` says when to try again (RFC 9110 10.2.3)."""

    error, status = "too_many_requests", 429
    default_description = "too many attempts; try again later"

    def __init__(self, retry_after: int, description: str | None = None) -> None:
        super().__init__(description, headers={"Retry-After": str(max(1, int(retry_after)))})


class TemporarilyUnavailable(OAuthError):
    """A dependency (database, Redis, key store) cannot answer: fail closed, retry later."""

    error, status = "temporarily_unavailable", 503
    default_description = "the service is temporarily unavailable; try again shortly"

    def extra_headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class ServerError(OAuthError):
    error, status = "server_error", 500
    default_description = "an unexpected error occurred"
