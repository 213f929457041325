"""Request parsing at the edge: strict, bounded, and every failure a 4xx OAuth error.

Bodies are parsed here rather than by a framework model so that malformed JSON, wrong types,
duplicate members and repeated form parameters all give ``invalid_request`` (never a 422 or a
500), and nothing is parsed twice on the hot path.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote_plus

from starlette.requests import Request

from .._jose.strict_json import has_lone_surrogate
from .errors import InvalidClient, InvalidRequest, NotFound, UnsupportedMediaType

__all__ = [
    "BasicCredentials",
    "basic_credentials",
    "bearer_token",
    "client_address",
    "form_body",
    "json_body",
    "optional_string",
    "path_id",
    "required_string",
]

_MAX_FIELDS = 32
# An identifier in a path: RFC 3986 2.3 unreserved characters only (user ids are UUIDs).
_PATH_ID = re.compile(r"[A-Za-z0-9._~-]{1,64}")


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidRequest(f"the member {key[:40]!r} appears more than once")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise InvalidRequest("NaN and Infinity are not JSON")


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object.

    Raises:
        UnsupportedMediaType: not ``application/json``.
        InvalidRequest: not valid UTF-8 JSON, not an object, or duplicate members.
    """
    if _media_type(request) != "application/json":
        raise UnsupportedMediaType("send application/json")
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except InvalidRequest:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidRequest("the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidRequest("the body must be a JSON object")
    if "\\u" in text and has_lone_surrogate(text, value):
        # "\ud800" decodes to a str that no database, hasher or log line can encode: a 500
        # later, so a 400 here (RFC 8259 8.2, I-JSON RFC 7493 2.1).
        raise InvalidRequest("the body is not valid JSON (a lone UTF-16 surrogate)")
    return value


async def form_body(request: Request, *, allow_empty: bool = False) -> dict[str, str]:
    """The request's ``application/x-www-form-urlencoded`` parameters (RFC 6749 3.2).

    Parameters sent without a value are treated as omitted; a repeated parameter is refused.

    Raises:
        UnsupportedMediaType: another content type.
        InvalidRequest: undecodable, too many fields, or a repeated parameter.
    """
    raw = await request.body()
    if not raw and allow_empty:
        return {}
    if _media_type(request) != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("send application/x-www-form-urlencoded")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=_MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the form body cannot be decoded") from None
    form = _no_duplicates(pairs)
    return {k: v for k, v in form.items() if v != ""}


def required_string(data: dict[str, Any], name: str, *, max_length: int = 4096) -> str:
    """A non-empty string member; ``InvalidRequest`` otherwise."""
    value = data.get(name)
    if value is None or value == "":
        raise InvalidRequest(f"{name} is required")
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a string")
    if len(value) > max_length:
        raise InvalidRequest(f"{name} is too long")
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL (a DataError, so a 503, once it reached the store),
        # and no email, password, scope or token has one: refused before any store sees it.
        raise InvalidRequest(f"{name} contains a NUL character")
    if not value.isascii() and _has_surrogate(value):
        # Unencodable in UTF-8: every database, hasher and log line would fail on it.
        raise InvalidRequest(f"{name} contains a lone UTF-16 surrogate")
    return value


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def path_id(value: str) -> str:
    """An identifier from the URL path (``/admin/users/{user_id}``).

    A value no identifier can have (a NUL, a control or non-ASCII character, over 64
    characters) names nothing: ``NotFound`` (404), before any store is asked.
    """
    if not _PATH_ID.fullmatch(value):
        raise NotFound("no such resource")
    return value


def optional_string(data: dict[str, Any], name: str, *, max_length: int = 4096) -> str | None:
    """A string member if present (``None`` if absent or null)."""
    if data.get(name) is None:
        return None
    return required_string(data, name, max_length=max_length)


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 2.1), if any.

    Raises:
        InvalidRequest: an Authorization header that is not a well-formed Bearer credential.
    """
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token or len(token) > 8192:
        raise InvalidRequest("the Authorization header must be 'Bearer <token>'")
    return token


class BasicCredentials(NamedTuple):
    """HTTP Basic client credentials in both of the forms clients send.

    RFC 6749 2.3.1 form-urlencodes the client id and secret before the Basic encoding; most
    clients (Authlib, httpx, requests, curl -u) send them raw (RFC 7617). A secret with a
    ``+`` reads as a space once form-decoded, and ``%41`` as ``A``: accepting one form only
    locks out either the RFC's clients or everyone else's. ``repr`` never shows the secret.
    """

    raw_id: str
    raw_secret: str
    form_id: str | None  # None: not a valid form-urlencoded UTF-8 string
    form_secret: str | None

    def __repr__(self) -> str:
        return f"BasicCredentials(raw_id={self.raw_id!r}, raw_secret=...)"

    def matches(self, client_id: str, secret: str) -> bool:
        """Whether either form of each part equals the configured one. Every comparison
        runs, each in constant time (``hmac.compare_digest``), and the results are combined
        without short-circuiting: timing tells neither which part nor which form failed."""
        want_id, want_secret = client_id.encode(), secret.encode()
        id_ok = _equal(self.raw_id, want_id) | _equal(self.form_id, want_id)
        secret_ok = _equal(self.raw_secret, want_secret) | _equal(self.form_secret, want_secret)
        return id_ok & secret_ok


def _equal(given: str | None, expected: bytes) -> bool:
    # An absent form is still compared (against a copy of itself, then refused) so that the
    # work done does not depend on it.
    if given is None:
        hmac.compare_digest(expected, expected)
        return False
    return hmac.compare_digest(given.encode(), expected)


def _form_decoded(value: str) -> str | None:
    try:
        return unquote_plus(value, errors="strict")
    except UnicodeDecodeError:
        return None  # "%FF" is no UTF-8: never a U+FFFD that could equal another secret


def basic_credentials(request: Request) -> BasicCredentials:
    """HTTP Basic client credentials, raw and form-decoded (RFC 6749 2.3.1, RFC 7617).

    Raises:
        InvalidClient: missing or malformed (401 with ``WWW-Authenticate: Basic``).
    """
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded or len(encoded) > 1024:
        raise InvalidClient("client authentication (HTTP Basic) is required")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidClient("malformed Basic credentials") from None
    # RFC 7617 2: the user-id cannot contain a colon; the secret may.
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise InvalidClient("malformed Basic credentials")
    return BasicCredentials(client_id, secret, _form_decoded(client_id), _form_decoded(secret))


def client_address(request: Request) -> str:
    """The peer address (proxy headers are not trusted unless uvicorn was told to)."""
    return request.client.host if request.client is not None else "unknown"
