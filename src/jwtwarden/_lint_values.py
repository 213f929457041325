"""The claim lint's value rules: a claim *holding* a secret (a password hash, a private key, an
API key, a bearer token, a card number), also under one layer of base64, or personal data."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any

from ._lint_findings import LintFinding, refuse, warn_personal

__all__ = ["is_card_number", "is_private_jwk", "string_finding"]

_PASSWORD_HASH = re.compile(
    r"^(?:\$(?:2[abxy]?|argon2(?:id|i|d)|scrypt|7|5|6|1|y|gy|md5|sha1|pbkdf2(?:-sha\d+)?)\$"
    r"|pbkdf2_sha\d+\$|(?:pbkdf2|scrypt):|(?:argon2|bcrypt|bcrypt_sha256|scrypt)\$)"
)
_PEM_PRIVATE = re.compile(r"BEGIN [A-Z0-9 ]*PRIVATE KEY", re.IGNORECASE)
# A value that could be base64 or base64url of something else: decoded once and linted again,
# since "base64 it first" is the easiest way around every pattern here.
_BASE64 = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}")
_API_KEYS = (
    re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),  # AWS key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}"),  # GitHub tokens
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}"),
    re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"),  # Stripe secret keys
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack tokens
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),  # Google API keys
    re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,}"),  # OpenAI / Anthropic keys
)
# A whole JWT (header and payload are base64url JSON objects, "eyJ") or one of our refresh
# tokens: whoever reads the outer token could replay the inner one.
_BEARER = re.compile(
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*|\bjwtw_rt_[A-Za-z0-9_-]{43}"
)
_JWK_PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})
_CARD = re.compile(r"[2-6]\d{3}(?:[ .-]?\d){9,15}")
_SSN = re.compile(r"\d{3}-\d{2}-\d{4}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+[1-9]\d{6,14}")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_card_number(text: str) -> bool:
    # Only a value that is entirely a 13-19 digit number (spaces or dashes allowed) with a card
    # network's first digit (2-6): epoch milliseconds and snowflake ids start with 1.
    if not _CARD.fullmatch(text):
        return False
    digits = text.replace(" ", "").replace("-", "").replace(".", "")
    return 13 <= len(digits) <= 19 and _luhn(digits)


def string_finding(path: str, text: str, *, decode: bool = True) -> LintFinding | None:
    stripped = text.strip()
    if _PASSWORD_HASH.match(stripped):
        return refuse(path, "password_hash", "a password hash")
    if _PEM_PRIVATE.search(text):
        return refuse(path, "private_key", "a PEM private key")
    if any(pattern.search(text) for pattern in _API_KEYS):
        return refuse(path, "api_key", "something shaped like an API key")
    if _BEARER.search(text):
        return refuse(path, "bearer_token", "a bearer credential (a JWT or a refresh token)")
    if is_card_number(stripped):
        return refuse(path, "card_number", "a payment card number")
    if stripped.startswith("{") and '"kty"' in stripped and len(stripped) < 65536:
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and is_private_jwk(parsed):
            return refuse(path, "private_jwk", "a private JWK")
    if decode and _BASE64.fullmatch(stripped):
        wrapped = _wrapped_secret(path, stripped)
        if wrapped is not None:
            return wrapped
    if _SSN.fullmatch(stripped):
        return LintFinding(
            claim=path,
            severity="warn",
            reason="ssn_like",
            message=f"claim {path!r} looks like a social security number",
        )
    if _EMAIL.fullmatch(stripped):
        return warn_personal(path, "email", "an email address")
    if _PHONE.fullmatch(stripped.replace(" ", "")):
        return warn_personal(path, "phone", "a phone number")
    return None


def _wrapped_secret(path: str, text: str) -> LintFinding | None:
    """A secret hidden under one layer of base64 or base64url (a PEM, a hash, a private JWK,
    a DER private key)."""
    body = text.rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(
            body.replace("+", "-").replace("/", "_") + "=" * (-len(body) % 4)
        )
    except (binascii.Error, ValueError):
        return None
    if _is_der_private_key(raw):
        return refuse(path, "private_key", "a DER private key (base64)")
    try:
        inner = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    finding = string_finding(path, inner, decode=False)
    if finding is None or finding.severity != "refuse":
        return None
    return refuse(path, finding.reason, "a secret wrapped in base64")


def _is_der_private_key(raw: bytes) -> bool:
    # PKCS#8, SEC 1 and PKCS#1 private keys are DER SEQUENCEs; cryptography parses them or
    # says it needs a password (an encrypted PKCS#8 key is a private key too).
    if len(raw) < 40 or raw[0] != 0x30:
        return False
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        load_der_private_key(raw, password=None)
    except TypeError:
        return True  # encrypted: a password is needed
    except Exception:
        return False
    return True


def is_private_jwk(obj: Mapping[str, Any]) -> bool:
    return "kty" in obj and not _JWK_PRIVATE.isdisjoint(obj)
