"""Header rules: what a protected header may say, checked before any key or signature work."""

from __future__ import annotations

from typing import Any

from ..errors import (
    AlgorithmNotAllowedError,
    ForbiddenHeaderError,
    MalformedTokenError,
    UnsupportedCriticalHeaderError,
    UnsupportedSerializationError,
)

__all__ = ["JWE_HEADERS", "KEY_URL_HEADERS", "MAX_KID_LENGTH", "check_header", "normalize_typ"]

MAX_KID_LENGTH = 256
# Headers that let the token choose its own key or where to fetch it from. Trusting any of
# them hands the attacker the verification key (CVE-2018-0114 for jwk; SSRF for jku/x5u).
KEY_URL_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
# Headers that only make sense in a JWE; their presence means this is not a JWS.
JWE_HEADERS = ("enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c")
# Every member name a rule below looks at besides typ. A header with none of them (the usual
# alg, kid, typ) needs only the typ check: one set operation instead of some twenty lookups.
_LOOKED_AT = frozenset((*JWE_HEADERS, "crit", "b64", *KEY_URL_HEADERS, "cty"))


def normalize_typ(value: str) -> str:
    """RFC 7515 4.1.9: compare media types case-insensitively, ``application/`` omitted."""
    v = value.strip().lower()
    return v if "/" in v else "application/" + v


def check_header(
    header: dict[str, Any], allowed_algorithms: frozenset[str], allowed_headers: frozenset[str]
) -> tuple[str, str | None]:
    """Return ``(alg, kid)`` of an acceptable header; raise the matching error otherwise."""
    alg = header.get("alg")
    if alg is None:
        raise MalformedTokenError("the header has no 'alg'")
    if type(alg) is not str:
        raise AlgorithmNotAllowedError("'alg' must be a string")
    if alg not in allowed_algorithms:
        # Exact, case-sensitive allowlist: "none", "None", "nOnE" and friends never match.
        expected = ", ".join(sorted(allowed_algorithms))
        raise AlgorithmNotAllowedError(
            f"algorithm {alg[:20]!r} is not allowed; expected one of {expected}"
        )
    if len(header) > 2 or "kid" not in header:
        _check_other_members(header, allowed_headers)
    kid = header.get("kid")
    if kid is not None and (type(kid) is not str or not 0 < len(kid) <= MAX_KID_LENGTH):
        raise MalformedTokenError(f"'kid' must be a string of 1 to {MAX_KID_LENGTH} characters")
    return alg, kid


def _check_other_members(header: dict[str, Any], allowed_headers: frozenset[str]) -> None:
    if header.keys().isdisjoint(_LOOKED_AT):
        typ = header.get("typ")
        if typ is not None and type(typ) is not str:
            raise MalformedTokenError("'typ' must be a string")
        return
    for name in JWE_HEADERS:
        if name in header:
            raise UnsupportedSerializationError(
                f"the header has {name!r}: this is a JWE, and only JWS is accepted"
            )
    if "crit" in header:
        # RFC 7515 4.1.11: a recipient must refuse a JWS naming extensions it does not
        # understand. jwtwarden understands none (RFC 7797 "b64" included).
        raise UnsupportedCriticalHeaderError("the header marks extensions critical ('crit')")
    if "b64" in header:
        raise UnsupportedCriticalHeaderError("RFC 7797 unencoded payloads ('b64') are refused")
    for name in KEY_URL_HEADERS:
        if name in header and name not in allowed_headers:
            raise ForbiddenHeaderError(
                f"the header parameter {name!r} is refused: keys come from the verifier's key set"
            )
    for name in ("typ", "cty"):
        value = header.get(name)
        if value is not None and type(value) is not str:
            raise MalformedTokenError(f"{name!r} must be a string")
    cty = header.get("cty")
    if cty is not None and normalize_typ(cty) == "application/jwt":
        # RFC 7519 5.2: a nested JWT. Its inner claims were never checked by this verifier.
        raise UnsupportedSerializationError("nested JWTs (cty JWT) are not accepted")
