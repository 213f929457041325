"""Compact JWS serialisation and signing (RFC 7515 section 7.1): the one place tokens are made.

The header and payload are serialised by ``dumps`` (compact, UTF-8, NaN and infinities
refused), base64url-encoded, and the signing input is signed by ``joserfc``'s algorithm object
for the key's own pinned algorithm. The ``Issuer`` caches its header segment per profile and key
and signs through ``sign_segments``; tests and tools sign through ``sign_compact``.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from .b64 import b64url_encode

__all__ = ["SigningKey", "dumps", "json_segment", "sign_compact", "sign_segments"]

# One serialisation for every token: compact separators, UTF-8, no NaN or infinities (they are
# not JSON, RFC 8259 section 6).
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


class SigningKey(Protocol):
    """What signing needs of a key (``jwtwarden.keys.Key`` has it): its pinned algorithm, its
    ``kid``, whether it is private, and the ``joserfc`` algorithm object and key."""

    @property
    def alg(self) -> str: ...

    @property
    def kid(self) -> str: ...

    @property
    def is_private(self) -> bool: ...

    @property
    def impl(self) -> Any: ...

    @property
    def jwk(self) -> Any: ...


def dumps(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON.

    Raises:
        TypeError: not a JSON value.
        ValueError: NaN or an infinity; ``UnicodeEncodeError`` (a ``ValueError``) for a lone
            surrogate, which has no UTF-8 form.
    """
    return _encode(value).encode("utf-8")


def json_segment(value: Any) -> str:
    """``value`` as one base64url JSON segment of a compact JWS."""
    return b64url_encode(dumps(value))


def sign_segments(header_b64: str, payload_b64: str, key: SigningKey) -> str:
    """The compact JWS of two encoded segments, signed with ``key``'s own algorithm."""
    signing_input = header_b64 + "." + payload_b64
    signature = key.impl.sign(signing_input.encode("ascii"), key.jwk)
    return signing_input + "." + b64url_encode(signature)


def sign_compact(header: dict[str, Any], payload: dict[str, Any] | bytes, key: SigningKey) -> str:
    """Sign ``payload`` (a claim set or raw bytes) with ``key``'s own algorithm.

    ``header["alg"]`` and ``header["kid"]`` are always the key's: a caller cannot make a key
    sign under another algorithm.

    Raises:
        ValueError: ``key`` is public only.
    """
    if not key.is_private:
        raise ValueError("signing needs a private key")
    body = payload if isinstance(payload, bytes) else dumps(payload)
    head = json_segment({**header, "alg": key.alg, "kid": key.kid})
    return sign_segments(head, b64url_encode(body), key)
