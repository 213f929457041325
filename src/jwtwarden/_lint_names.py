"""The claim lint's name rules: a claim *named* like a secret, a bearer credential or personal
data, whatever its spelling (camelCase, kebab, fullwidth, Cyrillic or Greek look-alikes)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ._lint_findings import LintFinding

__all__ = ["name_finding", "normalize_claim_name"]

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


def name_finding(path: str, name: str, value: Any) -> LintFinding | None:
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
