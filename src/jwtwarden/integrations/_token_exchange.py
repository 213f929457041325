"""The refresh exchange of ``RefreshingAuth``: the refresh request (RFC 6749 section 6) and
the rules a token response must meet before its tokens are used.

The client does not verify its own access token: it only reads ``exp`` from it with
``jwtwarden.unsafe.decode_unverified`` to know when to refresh (an opaque token works too,
using ``expires_in``).
"""

from __future__ import annotations

import base64
import math
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, NamedTuple
from urllib.parse import quote_plus, urlencode

import httpx

from ..errors import JWTWardenError, RefreshTokenRejectedError, TokenRefreshError
from ..unsafe import decode_unverified

__all__ = ["Tokens", "expiry", "read_token_response", "refresh_request"]


class Tokens(NamedTuple):
    """A successful token response: the new access token, the rotated refresh token (``None``
    when the server kept the old one) and when the access token is due."""

    access_token: str
    refresh_token: str | None
    expires_at: float | None


def refresh_request(
    token_url: str | httpx.URL,
    refresh_token: str,
    *,
    client_id: str | None,
    client_secret: str | None,
    scope: str | None,
) -> httpx.Request:
    """The ``grant_type=refresh_token`` POST, its body readable once (``_OneShotBody``)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers = {"Accept": "application/json", "Cache-Control": "no-store"}
    if client_secret is not None and client_id is not None:
        # RFC 6749 2.3.1: form-encode both parts before the Basic encoding.
        pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    elif client_id is not None:
        form["client_id"] = client_id
    if scope is not None:
        form["scope"] = scope
    body = urlencode(form).encode("ascii")
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = httpx.Request("POST", token_url, headers=headers, content=body)
    request.stream = _OneShotBody(body)  # after httpx set Host and Content-Length
    return request


def read_token_response(response: httpx.Response, sent: httpx.Request, now: float) -> Tokens:
    """The tokens of a successful answer from the token endpoint itself.

    Raises:
        RefreshTokenRejectedError: ``invalid_grant``: the refresh token is dead.
        TokenRefreshError: any other failure (a redirect, no JSON object, an error, no
            ``access_token``, a ``token_type`` other than Bearer).
    """
    data = _token_response(response, sent)
    access = data.get("access_token")
    token_type = data.get("token_type")
    if not isinstance(access, str) or not access:
        raise TokenRefreshError("the token response has no access_token")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenRefreshError("the token response's token_type is not Bearer")
    refresh = data.get("refresh_token")
    return Tokens(
        access,
        refresh if isinstance(refresh, str) and refresh else None,
        expiry(access, data.get("expires_in"), now),
    )


def _token_response(response: httpx.Response, sent: httpx.Request) -> dict[str, Any]:
    """The token endpoint's JSON object, once it is known to be a success from there."""
    if response.request is not sent:
        # A 301/302/303 turned the POST into a GET elsewhere: whatever answered there is
        # not the token endpoint, and its "tokens" must not be used (session fixation).
        raise TokenRefreshError(
            "the token endpoint answered with a redirect; tokens come from token_url only"
        )
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise TokenRefreshError(
            f"the token endpoint answered HTTP {response.status_code} without a JSON object"
        )
    error = data.get("error")
    if response.status_code != 200 or error is not None:
        code = error if isinstance(error, str) else "unknown"
        if code == "invalid_grant":
            raise RefreshTokenRejectedError(
                "the refresh token was rejected (invalid_grant); sign in again"
            )
        raise TokenRefreshError(
            f"the token endpoint answered HTTP {response.status_code} ({code[:40]})"
        )
    return data


def expiry(access_token: str | None, expires_in: Any, now: float) -> float | None:
    if access_token is None:
        return None
    try:
        claims = decode_unverified(access_token).claims  # reading, not trusting: see above
    except JWTWardenError:
        claims = None  # an opaque access token
    else:
        if claims is None:
            # A JWS whose payload is no strict JSON object (a number like 1e400 beyond a
            # double): no verifier accepts it, so it is due now, as an unreadable exp is.
            return now
    if claims and "exp" in claims:
        exp = claims["exp"]
        try:
            # 1e400 parses as inf and 10**400 overflows float(): neither is an expiry.
            if (type(exp) is int or type(exp) is float) and math.isfinite(exp):
                return float(exp)
        except OverflowError:
            pass
        # Present but no finite number (null, a string, 1e400): no verifier accepts it
        # (invalid_claim), so the token is due now. Never read as "no exp", which would
        # fall back to expires_in and keep sending a token that cannot verify.
        return now
    if type(expires_in) is int and expires_in > 0:
        return now + expires_in
    return None


class _OneShotBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """The refresh request's form body (it holds the refresh token), sent once at most.

    A client with ``follow_redirects=True`` follows redirects for the requests an auth flow
    yields too, and a 307/308 sends the same POST body on to whatever ``Location`` names:
    another origin, plain http. The body refuses a second reading, so the refresh token only
    ever goes to ``token_url``.
    """

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._sent = False
        self._lock = threading.Lock()

    def _take(self) -> bytes:
        with self._lock:
            if self._sent:
                raise TokenRefreshError(
                    "the token endpoint redirected the refresh request; the refresh token is "
                    "sent to token_url only"
                )
            self._sent = True
        return self._body

    def __iter__(self) -> Iterator[bytes]:
        yield self._take()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._take()
