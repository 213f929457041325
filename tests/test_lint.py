"""Claim lint: secrets are refused, personal data warned about, nothing else flagged."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jwtwarden.lint import MAX_DEPTH, LintFinding, lint_claims, normalize_claim_name

REFUSED_NAMES = [
    "password",
    "Password",
    "user_password",
    "userPassword",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "client_secret",
    "clientSecret",
    "CLIENT-SECRET",
    "api_key",
    "apiKey",
    "APIKey",
    "apikey",
    "private_key",
    "privateKey",
    "token",
    "refresh_token",
    "refreshToken",
    "accessToken",
    "csrf-token",
    "ssn",
    "user_ssn",
    "social_security_number",
    "credit_card",
    "cardNumber",
    "cvv",
    "credentials",
]

REFUSED_VALUES = [
    ("bcrypt", "$2b$12$KIXQJvJc3bJ6zR7nT1mBveu3W9aYw0Lx0Qe8e6x5f9pJ1m2n3o4p5", "password_hash"),
    ("argon2id", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", "password_hash"),
    ("scrypt", "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA", "password_hash"),
    ("django pbkdf2", "pbkdf2_sha256$600000$salt$hashhashhash=", "password_hash"),
    ("werkzeug scrypt", "scrypt:32768:8:1$salt$abcdef0123", "password_hash"),
    ("sha512-crypt", "$6$rounds=5000$saltsalt$" + "a" * 86, "password_hash"),
    ("pem", "-----BEGIN PRIVATE KEY-----\nMIIE...\n-----END PRIVATE KEY-----", "private_key"),
    ("pem rsa", "-----BEGIN RSA PRIVATE KEY-----\nabc", "private_key"),
    ("pem openssh", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "private_key"),
    ("aws", "AKIAIOSFODNN7EXAMPLE", "api_key"),
    ("aws in text", "key is AKIAIOSFODNN7EXAMPLE ok", "api_key"),
    ("github", "ghp_" + "a1B2c3D4e5" * 4, "api_key"),
    ("github pat", "github_pat_" + "A1" * 20, "api_key"),
    ("stripe", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "api_key"),
    ("slack", "xoxb-1234567890-abcdefghij", "api_key"),
    ("google", "AIza" + "SyA-1234567890abcdefghijklmnopqrstu", "api_key"),
    ("visa", "4111111111111111", "card_number"),
    ("visa spaced", "4111 1111 1111 1111", "card_number"),
    ("mastercard dashed", "5500-0000-0000-0004", "card_number"),
    ("amex", "378282246310005", "card_number"),
    ("jwk in a string", json.dumps({"kty": "oct", "k": "c2VjcmV0"}), "private_jwk"),
]


def refusals(claims: dict[str, Any]) -> list[LintFinding]:
    return [f for f in lint_claims(claims) if f.severity == "refuse"]


@pytest.mark.parametrize("name", REFUSED_NAMES)
def test_should_refuse_a_claim_named_like_a_secret(name: str) -> None:
    (finding,) = refusals({"sub": "u1", name: "x"})
    assert finding.claim == name
    assert finding.reason == "secret_name"


@pytest.mark.parametrize(
    ("label", "value", "reason"), REFUSED_VALUES, ids=[v[0] for v in REFUSED_VALUES]
)
def test_should_refuse_a_value_that_looks_like_a_secret(
    label: str, value: str, reason: str
) -> None:
    (finding,) = refusals({"note": value})
    assert (finding.claim, finding.reason) == ("note", reason)
    assert value not in finding.message  # a finding never quotes the secret


def test_should_refuse_a_card_number_given_as_a_json_number() -> None:
    (finding,) = refusals({"n": 4111111111111111})
    assert finding.reason == "card_number"


@pytest.mark.parametrize(
    "value",
    [
        1_700_000_000_000,  # epoch milliseconds: starts with 1
        "1700000000000",
        "4111111111111112",  # Luhn-invalid
        "123456789012",  # too short
        "sk_test",  # a Stripe prefix without a key
        "pk_live_4eC39HqLyjWDarjtT1zdp7dc",  # publishable keys are public
        "https://api.example.com/v1",
        "read write admin",
    ],
)
def test_should_not_flag_ordinary_values(value: Any) -> None:
    assert lint_claims({"v": value}) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *((n, "value") for n in ("scope", "roles", "tenant", "token_type", "tokenType")),
        *((n, "value") for n in ("client_id", "sid", "org_id")),
        ("amr", ["pwd", "mfa"]),  # OpenID Connect Core 2: an array of strings
    ],
)
def test_should_not_flag_ordinary_claim_names(name: str, value: Any) -> None:
    assert lint_claims({name: value}) == []


def test_should_refuse_private_jwk_members_in_a_nested_object() -> None:
    claims = {"cnf": {"jwk": {"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c"}}}
    (finding,) = refusals(claims)
    assert (finding.claim, finding.reason) == ("cnf.jwk", "private_jwk")


def test_should_accept_a_public_jwk_for_proof_of_possession() -> None:
    claims = {"cnf": {"jwk": {"kty": "EC", "crv": "P-256", "x": "a", "y": "b"}}}
    assert lint_claims(claims) == []


def test_should_walk_lists_and_objects_and_name_the_path() -> None:
    claims = {"accounts": [{"id": 1}, {"meta": {"apiKey": "x"}}]}
    (finding,) = refusals(claims)
    assert finding.claim == "accounts[1].meta.apiKey"


def test_should_refuse_nesting_deeper_than_it_checks() -> None:
    value: Any = "leaf"
    for _ in range(MAX_DEPTH + 2):
        value = [value]
    findings = refusals({"deep": value})
    assert [f.reason for f in findings] == ["too_deep"]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"email": "ada@example.com"}, "personal_data"),
        ({"contact": "ada@example.com"}, "email"),
        ({"phone_number": "+44 20 7946 0958"}, "personal_data"),
        ({"mobile": "+447946095800"}, "personal_data"),
        ({"callback": "+447946095800"}, "phone"),
        ({"birthdate": "1815-12-10"}, "personal_data"),
        ({"given_name": "Ada"}, "personal_data"),
        ({"address": {"street_address": "12 St James's Square"}}, "personal_data"),
        ({"national": "123-45-6789"}, "ssn_like"),
    ],
)
def test_should_warn_on_personal_data_beyond_the_subject(
    claims: dict[str, Any], reason: str
) -> None:
    findings = lint_claims(claims)
    assert findings
    assert findings[0].severity == "warn"
    assert findings[0].reason == reason


def test_should_warn_once_per_claim_even_when_name_and_value_both_match() -> None:
    findings = lint_claims({"email": "ada@example.com"})
    assert len(findings) == 1


def test_should_not_warn_on_a_boolean_about_personal_data() -> None:
    assert lint_claims({"email_verified": True, "phone_number_verified": False}) == []


def test_should_list_refusals_before_warnings() -> None:
    findings = lint_claims({"email": "a@b.example", "password": "x"})
    assert [f.severity for f in findings] == ["refuse", "warn"]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("clientSecret", ("client", "secret")),
        ("client-secret", ("client", "secret")),
        ("CLIENT_SECRET", ("client", "secret")),
        ("APIKey", ("api", "key")),
        ("x509Thumbprint", ("x", "509", "thumbprint")),
    ],
)
def test_should_normalise_claim_names_across_case_and_separators(
    name: str, words: tuple[str, ...]
) -> None:
    assert normalize_claim_name(name) == words


def test_should_refuse_a_mapping_that_is_not_claims() -> None:
    with pytest.raises(TypeError):
        lint_claims(["password"])  # type: ignore[arg-type]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_should_lint_any_json_claim_set_without_raising(claims: dict[str, Any]) -> None:
    findings = lint_claims(claims)
    for finding in findings:
        assert finding.severity in ("refuse", "warn")
        assert finding.reason and finding.message
