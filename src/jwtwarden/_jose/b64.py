"""Strict, canonical base64url (RFC 7515 section 2: no padding, url-safe alphabet only)."""

from __future__ import annotations

import base64
import binascii

__all__ = ["b64url_decode", "b64url_encode", "is_canonical"]

# A segment of length 4k+2 ends in a character whose low 4 bits are unused, and 4k+3 in one
# whose low 2 bits are unused. Those bits must be zero: otherwise two different strings decode
# to the same bytes and a verifier and a downstream parser can disagree on what was signed
# (Wycheproof "ModifiedUnusedBitsInPayload").
_LAST_OF_2 = frozenset("AQgw")
_LAST_OF_3 = frozenset("AEIMQUYcgkosw048")


def is_canonical(segment: str) -> bool:
    """Whether an alphabet-checked segment is the one canonical encoding of its bytes."""
    rem = len(segment) & 3
    if rem == 0:
        return True
    if rem == 2:
        return segment[-1] in _LAST_OF_2
    if rem == 3:
        return segment[-1] in _LAST_OF_3
    return False  # 4k+1 characters encode no whole number of bytes


_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def b64url_decode(segment: str) -> bytes:
    """Decode a segment already checked against the url-safe alphabet and for canonicity."""
    # What base64.urlsafe_b64decode does, minus its three Python-level wrappers: this runs
    # three times per verification, and the wrappers cost more than the decoding itself.
    return binascii.a2b_base64(
        segment.encode("ascii").translate(_URLSAFE_TO_STANDARD) + b"=" * (-len(segment) & 3)
    )


def b64url_decode_checked(segment: str) -> bytes:
    """Decode any string strictly; raises ``ValueError`` on anything but canonical base64url."""
    if not segment.isascii() or "=" in segment or not is_canonical(segment):
        raise ValueError("not canonical base64url")
    try:
        return base64.b64decode(
            segment.replace("-", "+").replace("_", "/") + "=" * (-len(segment) & 3),
            validate=True,
        )
    except binascii.Error as exc:
        raise ValueError("not canonical base64url") from exc


_STANDARD_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 7515 section 2); the binascii call without base64's wrappers."""
    return (
        binascii.b2a_base64(data, newline=False)
        .translate(_STANDARD_TO_URLSAFE)
        .rstrip(b"=")
        .decode("ascii")
    )
