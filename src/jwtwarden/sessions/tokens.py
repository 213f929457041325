"""Opaque refresh tokens: 256 random bits, a recognisable prefix, stored only as SHA-256.

The prefix lets secret scanners find leaked tokens (``jwtw_rt_`` followed by 43 base64url
characters). A plain SHA-256 is enough for storage: the input has 256 bits of entropy, so there
is nothing to brute-force, and lookups stay one indexed equality.
"""

from __future__ import annotations

import hashlib
import re
import secrets

__all__ = ["REFRESH_TOKEN_PREFIX", "new_refresh_token", "refresh_token_hash"]

REFRESH_TOKEN_PREFIX = "jwtw_rt_"
_SHAPE = re.compile(r"jwtw_rt_[A-Za-z0-9_-]{43}")


def new_refresh_token() -> tuple[str, bytes]:
    """A new refresh token and its SHA-256 hash (the only thing that is stored).

    Example:
        >>> token, digest = new_refresh_token()
        >>> token.startswith("jwtw_rt_") and len(digest) == 32
        True
    """
    token = REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode("ascii")).digest()


def refresh_token_hash(token: object) -> bytes | None:
    """The storage hash of a presented token, or ``None`` if it cannot be one of ours
    (refused before any database work)."""
    if not isinstance(token, str) or _SHAPE.fullmatch(token) is None:
        return None
    return hashlib.sha256(token.encode("ascii")).digest()
