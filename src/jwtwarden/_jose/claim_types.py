"""The JSON type of registered claims that the verifier does not otherwise read.

Checked whenever present, by the verifier (``invalid_claim``) and by the issuer before it
signs (``claim_refused``), so that a hook or an application reading them never meets a null,
a number or an object where the RFC promises a string. A claim that is present with JSON
null is present: it is never read as absent.

Sources: RFC 9068 2.2 (``client_id``), RFC 8693 4.2 (``scope``, a space-separated string)
and 4.1 (``act``), RFC 7800 3.1 (``cnf``), OpenID Connect Core 1.0 section 2 (``azp``,
``acr``, ``amr``, ``auth_time``) and 3.1.3.6 / 3.3.2.11 (``at_hash``, ``c_hash``), OpenID
Connect Front-Channel Logout 1.0 section 3 (``sid``).
"""

from __future__ import annotations

import math

from .header import json_type

__all__ = ["TYPED_CLAIMS", "wrong_claim_type"]

_STRINGS = frozenset({"client_id", "azp", "sid", "acr", "at_hash", "c_hash"})
_OBJECTS = frozenset({"cnf", "act"})
TYPED_CLAIMS = (*sorted(_STRINGS), "scope", *sorted(_OBJECTS), "amr", "auth_time")


def wrong_claim_type(name: str, value: object) -> tuple[str, str] | None:
    """``(message, reason)`` when ``value`` is not the type of the registered claim ``name``;
    ``None`` when it is (or ``name`` is not one of ``TYPED_CLAIMS``)."""
    if name in _STRINGS:
        if type(value) is str and value:
            return None
        found = "an empty string" if value == "" else json_type(value)
        return f"{name!r} must be a non-empty string, not {found}", "not_a_string"
    if name == "scope":
        # An empty scope is a string that grants nothing; anything else is not a scope.
        if type(value) is str:
            return None
        return f"'scope' must be a space-separated string, not {json_type(value)}", "not_a_string"
    if name in _OBJECTS:
        if type(value) is dict:
            return None
        return f"{name!r} must be a JSON object, not {json_type(value)}", "not_an_object"
    if name == "amr":
        if type(value) is list and all(type(item) is str for item in value):
            return None
        return f"'amr' must be an array of strings, not {json_type(value)}", "not_a_list"
    if name == "auth_time":
        if (type(value) is int or type(value) is float) and _finite(value):
            return None
        return f"'auth_time' must be a finite number of seconds, not {json_type(value)}", (
            "not_a_number"
        )
    return None


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
