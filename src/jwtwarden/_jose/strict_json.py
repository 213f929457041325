"""Strict JSON for JOSE: UTF-8 only, objects only, no duplicate member names, no NaN/Infinity
(neither the constants nor a number too large for a double, such as ``1e400``), no lone
surrogates.

RFC 7515 section 5.2 and RFC 7519 section 7.2 require a parser that either refuses duplicate
member names or uses the last one; parsers disagree, so we refuse (I-JSON, RFC 7493).
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["JSONRefused", "has_lone_surrogate", "loads_object"]

# A \uD800-\uDFFF escape. Pairs are joined by the decoder; what is left alone after decoding
# is not Unicode (I-JSON, RFC 7493 2.1) and makes any later .encode("utf-8") raise, in the
# application that reads the claim (a 500, a crashed log line) rather than here.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class JSONRefused(ValueError):
    """The bytes are not a strict JSON object."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise JSONRefused(f"duplicate member name {name[:40]!r}")
            seen.add(name)
    return out


def _no_constants(name: str) -> Any:
    raise JSONRefused(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    # I-JSON (RFC 7493 2.2): no number beyond a double's range. float("1e400") is inf, which
    # would reach the claims (and any json.dumps of them, which refuses it: a 500 there) as the
    # Infinity this parser promises to refuse. Found by the atheris json target.
    value = float(text)
    if value in (_INF, -_INF):
        raise JSONRefused(f"the number {text[:40]} is out of a double's range")
    return value


_INF = float("inf")
_decoder = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_constant=_no_constants, parse_float=_finite_float
)
_decode = _decoder.decode
_scan_once = _decoder.scan_once  # type: ignore[attr-defined]  # set in JSONDecoder.__init__


def _parse(text: str) -> Any:
    # JSONDecoder.decode is two whitespace regexes around scan_once. A token's JSON has no
    # surrounding whitespace, so try scan_once alone and let decode handle (and explain)
    # anything else: same values, same errors, about a microsecond less per segment.
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        return _decode(text)
    if end != len(text):
        return _decode(text)
    return value


def has_lone_surrogate(text: str, value: Any) -> bool:
    """Whether ``value`` (decoded from the JSON ``text``) holds a lone UTF-16 surrogate."""
    if _SURROGATE_ESCAPE.search(text) is None:
        return False  # the common case: one regex scan, no walk
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return True
    return False


def loads_object(raw: bytes, what: str) -> dict[str, Any]:
    """Parse ``raw`` as one JSON object; raise ``JSONRefused`` naming ``what`` otherwise."""
    try:
        text = raw.decode("utf-8")
        value = _parse(text)
    except JSONRefused as exc:
        raise JSONRefused(f"{what}: {exc}") from None
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise JSONRefused(f"{what} is not valid UTF-8 JSON") from None
    if type(value) is not dict:
        raise JSONRefused(f"{what} is not a JSON object")
    if "\\u" in text and has_lone_surrogate(text, value):
        raise JSONRefused(f"{what} holds a lone UTF-16 surrogate (not Unicode, RFC 7493 2.1)")
    return value
