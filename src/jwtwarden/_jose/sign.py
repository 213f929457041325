"""Compact JWS signing: serialise header and claims once, sign with ``joserfc``'s algorithm."""

from __future__ import annotations

import json
from typing import Any

from ..keys.key import Key
from .b64 import b64url_encode

__all__ = ["sign_compact"]

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def sign_compact(header: dict[str, Any], payload: dict[str, Any] | bytes, key: Key) -> str:
    """Sign ``payload`` (a claim set or raw bytes) with ``key``'s own algorithm.

    ``header["alg"]`` and ``header["kid"]`` are always the key's: a caller cannot make a key
    sign under another algorithm.
    """
    if not key.is_private:
        raise ValueError("signing needs a private key")
    hdr = {**header, "alg": key.alg, "kid": key.kid}
    body = payload if isinstance(payload, bytes) else _dumps(payload).encode("utf-8")
    signing_input = b64url_encode(_dumps(hdr).encode("utf-8")) + "." + b64url_encode(body)
    signature = key.impl.sign(signing_input.encode("ascii"), key.jwk)
    return signing_input + "." + b64url_encode(signature)
