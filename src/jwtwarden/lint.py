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

This module is the walk; the rules it applies are in ``_lint_names.py`` (a claim named like
a secret or personal data) and ``_lint_values.py`` (a value shaped like one), each table beside
the check that reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._jose.claim_types import wrong_claim_type
from ._lint_findings import LintFinding, refuse
from ._lint_names import name_finding, normalize_claim_name
from ._lint_values import is_card_number, is_private_jwk, string_finding

__all__ = ["MAX_DEPTH", "LintFinding", "lint_claims", "normalize_claim_name"]

MAX_DEPTH = 8
_MAX_NODES = 10_000


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
    if is_private_jwk(obj) and prefix:
        out.append(refuse(prefix, "private_jwk", "a private JWK"))
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
        finding = name_finding(path, str(name), value)
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
        finding = string_finding(path, value)
        if finding is not None:
            out.append(finding)
    elif isinstance(value, int) and not isinstance(value, bool):
        if is_card_number(str(value)):
            out.append(refuse(path, "card_number", "a payment card number"))
    elif isinstance(value, Mapping):
        _walk_object(value, path, depth, out, budget)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _walk_value(item, f"{path}[{i}]", depth + 1, out, budget)
