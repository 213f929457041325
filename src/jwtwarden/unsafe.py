"""Decoding WITHOUT verification, for inspection and debugging only.

Nothing here checks a signature or a claim. The verifier never imports this module; code that
grants access must never call it. The name says so on purpose.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._jose.b64 import b64url_decode
from ._jose.compact import split_compact
from ._jose.strict_json import JSONRefused, loads_object
from .errors import MalformedTokenError

__all__ = ["UnverifiedToken", "decode_unverified"]


class UnverifiedToken(NamedTuple):
    header: dict[str, Any]
    claims: dict[str, Any] | None  # None when the payload is not a JSON object
    payload: bytes
    signature: bytes
    signing_input: bytes


def decode_unverified(token: str | bytes, *, max_size: int = 65536) -> UnverifiedToken:
    """Split and decode a compact JWS with the strict parser, trusting nothing.

    Raises the same structural errors as the verifier (``malformed``,
    ``unsupported_serialization``, ``token_too_large``); checks no signature or claim.
    """
    seg = split_compact(token, max_size)
    try:
        header = loads_object(b64url_decode(seg.header_b64), "header")
    except JSONRefused as exc:
        raise MalformedTokenError(str(exc)) from None
    payload = b64url_decode(seg.payload_b64)
    try:
        claims: dict[str, Any] | None = loads_object(payload, "payload")
    except JSONRefused:
        claims = None
    return UnverifiedToken(header, claims, payload, seg.signature, seg.signing_input)
