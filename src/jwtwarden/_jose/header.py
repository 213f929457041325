"""Header rules: what a protected header may say, checked before any key or signature work."""

from __future__ import annotations

import re
from typing import Any

from ..errors import (
    AlgorithmNotAllowedError,
    ForbiddenHeaderError,
    MalformedTokenError,
    UnsupportedCriticalHeaderError,
    UnsupportedSerializationError,
)

__all__ = [
    "HEADER_TYPES",
    "JWE_HEADERS",
    "KEY_URL_HEADERS",
    "MAX_KID_LENGTH",
    "check_header",
    "is_media_type",
    "json_type",
    "normalize_typ",
]

MAX_KID_LENGTH = 256
# Headers that let the token choose its own key or where to fetch it from. Trusting any of
# them hands the attacker the verification key (CVE-2018-0114 for jwk; SSRF for jku/x5u).
KEY_URL_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
# Headers that only make sense in a JWE; their presence means this is not a JWS.
JWE_HEADERS = ("enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c")
# RFC 7515 4.1 and RFC 7797 3: the JSON type of every registered JWS header parameter, as
# (Python type, what the message calls it, an array's items must be strings and non-empty).
# A member that is present must have its type: JSON null is a value, not absence, so
# {"kid": null} is malformed and never read as "no kid" (nor {"typ": null} as "no typ").
HEADER_TYPES: dict[str, tuple[type, str]] = {
    "alg": (str, "a string"),
    "jku": (str, "a string (a URI)"),
    "jwk": (dict, "a JSON object"),
    "kid": (str, "a string"),
    "x5u": (str, "a string (a URI)"),
    "x5c": (list, "a non-empty array of strings"),  # RFC 7515 4.1.6
    "x5t": (str, "a string"),
    "x5t#S256": (str, "a string"),
    "typ": (str, "a string"),
    "cty": (str, "a string"),
    "crit": (list, "a non-empty array of strings"),  # RFC 7515 4.1.11: [] MUST NOT be used
    "b64": (bool, "a boolean"),  # RFC 7797 3
}
# Every member name a rule below looks at besides typ and kid. A header with none of them
# (the usual alg, kid, typ) needs only the typ and kid checks: one set operation instead of
# some twenty lookups.
_LOOKED_AT = frozenset((*JWE_HEADERS, *HEADER_TYPES)) - {"alg", "kid", "typ"}
# RFC 6838 4.2: type "/" subtype, each a restricted-name (letters, digits, !#$&-^_.+).
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_MEDIA_TYPE = re.compile(f"{_NAME}(?:/{_NAME})?", re.ASCII)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def normalize_typ(value: str) -> str:
    """RFC 7515 4.1.9: compare media types case-insensitively, ``application/`` omitted.

    Nothing else is forgiven: no trimming of whitespace, parameters or control characters
    (``" at+jwt"``, ``"at+jwt;x=1"`` and ``"at+jwt\\x00"`` are not ``at+jwt``), and only ASCII
    letters fold (RFC 6838 4.2: media types are ASCII; Unicode case folding would turn the
    Kelvin sign into a "k").
    """
    v = value.translate(_ASCII_LOWER)
    return v if "/" in v else "application/" + v


def is_media_type(value: object) -> bool:
    """Whether ``value`` is a bare media type (``at+jwt``, ``application/jwt``): no parameters,
    no whitespace (for policy and profile ``typ`` values, checked when they are built)."""
    return isinstance(value, str) and _MEDIA_TYPE.fullmatch(value) is not None


def json_type(value: object) -> str:
    """The JSON type of a decoded value, for messages (``null``, ``number``, ``array``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _wrong_type(name: str, value: object) -> MalformedTokenError:
    expected = HEADER_TYPES[name][1]
    return MalformedTokenError(
        f"the header parameter {name!r} must be {expected}, not {json_type(value)}"
    )


def _check_type(name: str, value: object) -> None:
    kind, _ = HEADER_TYPES[name]
    if type(value) is not kind:
        raise _wrong_type(name, value)
    if isinstance(value, list) and (not value or not all(type(item) is str for item in value)):
        raise _wrong_type(name, value)


def check_header(
    header: dict[str, Any], allowed_algorithms: frozenset[str], allowed_headers: frozenset[str]
) -> tuple[str, str | None]:
    """Return ``(alg, kid)`` of an acceptable header; raise the matching error otherwise."""
    if "alg" not in header:
        raise MalformedTokenError("the header has no 'alg'")
    alg = header["alg"]
    if type(alg) is not str:
        raise _wrong_type("alg", alg)
    if alg not in allowed_algorithms:
        # Exact, case-sensitive allowlist: "none", "None", "nOnE" and friends never match.
        expected = ", ".join(sorted(allowed_algorithms))
        raise AlgorithmNotAllowedError(
            f"algorithm {alg[:20]!r} is not allowed; expected one of {expected}"
        )
    if len(header) > 2 or "kid" not in header:
        _check_other_members(header, allowed_headers)
    if "kid" not in header:
        return alg, None
    kid = header["kid"]
    if type(kid) is not str or not 0 < len(kid) <= MAX_KID_LENGTH:
        raise MalformedTokenError(
            f"the header parameter 'kid' must be a string of 1 to {MAX_KID_LENGTH} characters, "
            f"not {json_type(kid) if type(kid) is not str else f'{len(kid)} characters'}"
        )
    return alg, kid


def _check_other_members(header: dict[str, Any], allowed_headers: frozenset[str]) -> None:
    if header.keys().isdisjoint(_LOOKED_AT):
        if "typ" in header and type(header["typ"]) is not str:
            raise _wrong_type("typ", header["typ"])
        return
    for name in JWE_HEADERS:
        if name in header:
            raise UnsupportedSerializationError(
                f"the header has {name!r}: this is a JWE, and only JWS is accepted"
            )
    for name, value in header.items():
        if name in HEADER_TYPES and name != "kid":  # kid: checked with its length
            _check_type(name, value)
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
    if "cty" in header:
        cty = header["cty"]
        if not is_media_type(cty):
            # Compared exactly (RFC 7515 4.1.10 -> 4.1.9), " JWT" or "JWT;x=1" would slip past
            # the nested-JWT rule below as "some other content type".
            raise MalformedTokenError(
                f"the header parameter 'cty' must be a bare media type, not {cty[:40]!r}"
            )
        if normalize_typ(cty) == "application/jwt":
            # RFC 7519 5.2: a nested JWT. Its inner claims were never checked by this verifier.
            raise UnsupportedSerializationError("nested JWTs (cty JWT) are not accepted")
