"""Claim lint: find secrets and personal data in a claim set before it is signed.

A JWT payload is encoded, not encrypted: whoever holds the token reads it (RFC 8725 section
3.6, the guide's "don't put sensitive data in the payload"). ``lint_claims`` walks the claims
(nested objects and lists too, to a bounded depth) and reports:

- ``refuse``: names or values that look like secrets: passwords, password hashes (bcrypt,
  argon2, scrypt, PBKDF2, sha-crypt), private keys (PEM, private JWK members), API keys of
  well-known shapes (AWS, GitHub, Stripe, Slack, Google), card numbers (Luhn-valid), tokens
  (a nested JWT, a refresh token), social security numbers; also under one layer of base64
  (a base64 PEM, a DER private key), and names spelled with look-alike letters (Cyrillic,
  Greek, fullwidth, zero-width characters);
- ``refuse`` too: a registered claim of the wrong type (``"scope": null``, ``"client_id": 7``),
  which every verifier refuses;
- ``warn``: personal data beyond the subject's id (email, phone, address, birth date, names).

The ``Issuer`` refuses to sign on the first ``refuse``; ``jwtwarden inspect`` shows all of them.
Findings name the claim and the reason, never the value.

Why this module passes 400 lines: it is one operation (``lint_claims``), and about 150 of
its lines are the tables it applies (secret and personal names, value patterns), kept beside
the walk that uses them so a new pattern and its check are read together.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ._jose.claim_types import wrong_claim_type

__all__ = ["MAX_DEPTH", "LintFinding", "lint_claims", "normalize_claim_name"]

MAX_DEPTH = 8
_MAX_NODES = 10_000

Severity = Literal["refuse", "warn"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LintFinding:
    """One finding: the claim's path (``a.b[0]``), ``refuse`` or ``warn``, a short reason
    word (``secret_name``, ``password_hash``, ``api_key``, ...) and a message for humans."""

    claim: str
    severity: Severity
    reason: str
    message: str


# --- names ----------------------------------------------------------------------------------

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
# Substrings of the name with its separators removed ("client-secret" -> "clientsecret").
_SECRET_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "apikey",
    "privatekey",
    "privkey",
    "pwdhash",
    "passhash",
    "signingkey",
    "encryptionkey",
    "creditcard",
    "cardnumber",
    "socialsecurity",
)
# Whole words ("user_pwd", "ssn", "cvv").
_SECRET_WORDS = frozenset({"pwd", "ssn", "cvv", "cvc", "otp", "pin", "cookie", "cookies"})
# Names (snake_case form) that hold personal data.
_PERSONAL_NAMES = frozenset(
    {
        "name",
        "given_name",
        "family_name",
        "first_name",
        "last_name",
        "middle_name",
        "full_name",
        "display_name",
        "nickname",
        "preferred_username",
        "gender",
        "postal_code",
        "postcode",
        "zip",
        "zip_code",
        "street",
        "street_address",
        "dob",
        "date_of_birth",
        "ip",
        "ip_address",
        "latitude",
        "longitude",
        "national_id",
        "tax_id",
        "driver_license",
        "iban",
        "bank_account",
        "account_number",
    }
)
_PERSONAL_WORDS = frozenset(
    {
        "email",
        "mail",
        "phone",
        "mobile",
        "telephone",
        "address",
        "birthdate",
        "birthday",
        "passport",
    }
)


# Latin look-alikes from Cyrillic and Greek (Unicode's confusables.txt, the letters that render
# like ASCII in common fonts): "password" spelled with a Cyrillic "a" (U+0430) must not pass
# as a new word.
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕԁһӏԛԝАВЕКМНОРСТХУІЈЅαορντικυΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlqwABEKMHOPCTXYIJSaopvtikuABEZHIKMNOPTYX",
)


def _fold(name: str) -> str:
    """ASCII skeleton of a name: compatibility forms folded (fullwidth, ligatures), accents,
    invisible characters (zero-width, bidi) dropped, look-alike letters mapped."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Cf", "Cc"))
    return kept.translate(_CONFUSABLES)


def normalize_claim_name(name: str) -> tuple[str, ...]:
    """Split a claim name into lower-case words: ``clientSecret``, ``client-secret`` and
    ``CLIENT_SECRET`` all give ``("client", "secret")``; look-alikes fold first, so
    ``password`` written in fullwidth letters or with a Cyrillic ``a`` (U+0430) gives
    ``("password",)``."""
    if not name.isascii():
        name = _fold(name)
    words: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", name):
        words.extend(w.lower() for w in _CAMEL.findall(chunk))
    return tuple(words)


def _name_finding(path: str, name: str, value: Any) -> LintFinding | None:
    words = normalize_claim_name(name)
    compact = "".join(words)
    snake = "_".join(words)
    if any(part in compact for part in _SECRET_PARTS) or _SECRET_WORDS.intersection(words):
        return LintFinding(
            claim=path,
            severity="refuse",
            reason="secret_name",
            message=f"claim {path!r} is named like a secret; never put secrets in a token",
        )
    if compact.endswith(("token", "tokens")) or compact in ("credential", "credentials"):
        return LintFinding(
            claim=path,
            severity="refuse",
            reason="secret_name",
            message=f"claim {path!r} is named like a bearer credential; tokens never nest them",
        )
    if isinstance(value, bool) or value is None:
        return None  # "email_verified": true says nothing about the person
    if snake in _PERSONAL_NAMES or _PERSONAL_WORDS.intersection(words):
        return LintFinding(
            claim=path,
            severity="warn",
            reason="personal_data",
            message=f"claim {path!r} holds personal data; tokens are readable by their holder",
        )
    return None


# --- values ---------------------------------------------------------------------------------

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


def _is_card_number(text: str) -> bool:
    # Only a value that is entirely a 13-19 digit number (spaces or dashes allowed) with a card
    # network's first digit (2-6): epoch milliseconds and snowflake ids start with 1.
    if not _CARD.fullmatch(text):
        return False
    digits = text.replace(" ", "").replace("-", "").replace(".", "")
    return 13 <= len(digits) <= 19 and _luhn(digits)


def _refuse(path: str, reason: str, what: str) -> LintFinding:
    return LintFinding(
        claim=path,
        severity="refuse",
        reason=reason,
        message=f"claim {path!r} holds {what}; never put it in a token",
    )


def _string_finding(path: str, text: str, *, decode: bool = True) -> LintFinding | None:
    stripped = text.strip()
    if _PASSWORD_HASH.match(stripped):
        return _refuse(path, "password_hash", "a password hash")
    if _PEM_PRIVATE.search(text):
        return _refuse(path, "private_key", "a PEM private key")
    if any(pattern.search(text) for pattern in _API_KEYS):
        return _refuse(path, "api_key", "something shaped like an API key")
    if _BEARER.search(text):
        return _refuse(path, "bearer_token", "a bearer credential (a JWT or a refresh token)")
    if _is_card_number(stripped):
        return _refuse(path, "card_number", "a payment card number")
    if stripped.startswith("{") and '"kty"' in stripped and len(stripped) < 65536:
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and _is_private_jwk(parsed):
            return _refuse(path, "private_jwk", "a private JWK")
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
        return _warn_personal(path, "email", "an email address")
    if _PHONE.fullmatch(stripped.replace(" ", "")):
        return _warn_personal(path, "phone", "a phone number")
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
        return _refuse(path, "private_key", "a DER private key (base64)")
    try:
        inner = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    finding = _string_finding(path, inner, decode=False)
    if finding is None or finding.severity != "refuse":
        return None
    return _refuse(path, finding.reason, "a secret wrapped in base64")


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


def _warn_personal(path: str, reason: str, what: str) -> LintFinding:
    return LintFinding(
        claim=path,
        severity="warn",
        reason=reason,
        message=f"claim {path!r} holds {what}: personal data beyond the subject's id",
    )


def _is_private_jwk(obj: Mapping[str, Any]) -> bool:
    return "kty" in obj and not _JWK_PRIVATE.isdisjoint(obj)


# --- the walk -------------------------------------------------------------------------------


def lint_claims(claims: Mapping[str, Any]) -> list[LintFinding]:
    """Lint a claim set; return every finding, refusals first (never raises on JSON data).

    Nested objects and lists are walked to ``MAX_DEPTH`` levels; anything deeper is refused
    (``too_deep``) rather than left unchecked.

    Example:
        >>> [f.reason for f in lint_claims({"sub": "u1", "password": "hunter2"})]
        ['secret_name']
    """
    if not isinstance(claims, Mapping):
        raise TypeError("lint_claims takes a mapping of claims")
    findings: list[LintFinding] = []
    budget = [_MAX_NODES]
    _walk_object(claims, "", 0, findings, budget)
    warned: set[str] = set()
    unique = []
    for finding in findings:
        if finding.severity == "warn":
            if finding.claim in warned:
                continue  # one warning per claim ("email" by its name and by its value)
            warned.add(finding.claim)
        unique.append(finding)
    unique.sort(key=lambda f: f.severity != "refuse")
    return unique


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _walk_object(
    obj: Mapping[Any, Any], prefix: str, depth: int, out: list[LintFinding], budget: list[int]
) -> None:
    if _is_private_jwk(obj) and prefix:
        out.append(_refuse(prefix, "private_jwk", "a private JWK"))
        return
    for name, value in obj.items():
        path = _join(prefix, str(name))
        problem = None if prefix else wrong_claim_type(str(name), value)
        if problem is not None:
            # A registered claim of the wrong type ({"scope": null}, {"client_id": 7}): every
            # verifier refuses it (invalid_claim), so the issuer never signs it.
            out.append(
                LintFinding(claim=path, severity="refuse", reason=problem[1], message=problem[0])
            )
            continue
        finding = _name_finding(path, str(name), value)
        if finding is not None:
            out.append(finding)
            if finding.severity == "refuse":
                continue
        _walk_value(value, path, depth + 1, out, budget)


def _walk_value(
    value: Any, path: str, depth: int, out: list[LintFinding], budget: list[int]
) -> None:
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        # Refuse what we cannot check rather than let it through unchecked.
        if depth > MAX_DEPTH or budget[0] == -1:
            out.append(
                LintFinding(
                    claim=path,
                    severity="refuse",
                    reason="too_deep",
                    message=f"claim {path!r} nests deeper than {MAX_DEPTH} levels or holds too "
                    "many values to check; flatten it",
                )
            )
        return
    if isinstance(value, str):
        finding = _string_finding(path, value)
        if finding is not None:
            out.append(finding)
    elif isinstance(value, int) and not isinstance(value, bool):
        if _is_card_number(str(value)):
            out.append(_refuse(path, "card_number", "a payment card number"))
    elif isinstance(value, Mapping):
        _walk_object(value, path, depth, out, budget)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _walk_value(item, f"{path}[{i}]", depth + 1, out, budget)
