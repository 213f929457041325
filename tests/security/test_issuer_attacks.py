"""Getting a secret past the claim lint, or a reserved claim past the issuer."""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from jwtwarden import FixedClock, KeySet, generate_key
from jwtwarden.errors import ClaimLintError
from jwtwarden.issue import Issuer
from jwtwarden.keys.key import Key
from jwtwarden.lint import lint_claims

NOW = 1_800_000_000
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n"
    "-----END PRIVATE KEY-----"
)


class _OneKey:
    def __init__(self, key: Key) -> None:
        self.key = key

    def signing_key(self, token_use: str) -> Key:
        return self.key

    def verification_keys(self, token_use: str | None = None) -> KeySet:
        return KeySet([self.key.public_key()])


@cache
def _issuer() -> Issuer:
    return Issuer(
        issuer="https://auth.example", keys=_OneKey(generate_key()), clock=FixedClock(NOW)
    )


def _refusals(claims: dict[str, Any]) -> list[str]:
    return [f.reason for f in lint_claims(claims) if f.severity == "refuse"]


@pytest.mark.parametrize(
    "name",
    [
        "p\u0430ssword",  # Cyrillic a
        "passw\u03bfrd",  # Greek omicron
        "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44",  # fullwidth
        "pa\u0301ssword",  # combining accent
        "pass\u200bword",  # zero-width space
        "client_s\u0435cret",  # Cyrillic e
        "\u0391PI_KEY",  # Greek capital alpha
    ],
)
def test_should_refuse_secret_claim_names_spelled_with_unicode_look_alikes(name: str) -> None:
    assert _refusals({name: "x"}) == ["secret_name"]


def _der(key: Any, encryption: Any = None) -> str:
    data = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        encryption or serialization.NoEncryption(),
    )
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (base64.b64encode(PEM.encode()).decode(), "private_key"),
        (base64.urlsafe_b64encode(PEM.encode()).decode().rstrip("="), "private_key"),
        (base64.b64encode(b"$2b$12$abcdefghijklmnopqrstuv").decode(), "password_hash"),
        (base64.b64encode(json.dumps({"kty": "EC", "d": "AAAA"}).encode()).decode(), "private_jwk"),
        (_der(ec.generate_private_key(ec.SECP256R1())), "private_key"),
        (_der(ed25519.Ed25519PrivateKey.generate()), "private_key"),
        (
            _der(
                ec.generate_private_key(ec.SECP256R1()),
                serialization.BestAvailableEncryption(b"pw"),
            ),
            "private_key",
        ),
        (PEM.replace("BEGIN PRIVATE KEY", "begin private key"), "private_key"),
        ("4111.1111.1111.1111", "card_number"),
    ],
    # Fixed ids: the keys are made at collection, and every worker must collect the same names.
    ids=[
        "pem-base64",
        "pem-base64url",
        "bcrypt-base64",
        "jwk-base64",
        "ec-der",
        "ed25519-der",
        "ec-der-encrypted",
        "pem-lower-case",
        "card-number",
    ],
)
def test_should_refuse_secrets_wrapped_in_base64_or_written_another_way(
    value: str, reason: str
) -> None:
    assert _refusals({"data": value}) == [reason]
    assert _refusals({"nested": [{"deeper": value}]}) == [reason]


@pytest.mark.parametrize(
    "value",
    [
        "dGhpcyBpcyBqdXN0IGFuIGlkZW50aWZpZXI",  # base64 of plain text
        "Gk3n0cXvQm2oM1r8Yy6d4b9PpLwEaZt5sUuKjHhQ",  # an opaque id
        base64.b64encode(
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).decode(),  # a public key is no secret
    ],
    ids=["base64-text", "opaque-id", "public-key-der"],  # the key is new at each collection
)
def test_should_let_ordinary_base64_values_through(value: str) -> None:
    assert _refusals({"data": value}) == []


@pytest.mark.parametrize(
    "name",
    ["ISS", "Sub", "EXP", "Aud", "\uff45\uff58\uff50", "\u0455ub", "e_x_p", "Token-Use", "NONCE"],
)
def test_should_refuse_custom_claims_that_differ_from_a_reserved_one_only_by_case_or_form(
    name: str,
) -> None:
    # A case-insensitive or normalising consumer downstream would read "Sub" as "sub".
    with pytest.raises(ClaimLintError) as caught:
        _issuer().mint("access", sub="user-1", audience="api", claims={name: "admin"})
    assert caught.value.reason == "reserved_lookalike"


def test_should_still_accept_ordinary_custom_claims() -> None:
    token = _issuer().mint(
        "access", sub="user-1", audience="api", claims={"scope": "read", "subscription": "pro"}
    )
    assert token.count(".") == 2


@pytest.mark.parametrize("ttl", [float("nan"), float("inf"), -1, 0, 10**30, True])
def test_should_refuse_lifetimes_that_are_not_finite_and_in_range(ttl: Any) -> None:
    with pytest.raises(ValueError):
        _issuer().mint("access", sub="user-1", audience="api", ttl=ttl)


@pytest.mark.parametrize(
    "value",
    [
        "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl",
        "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl",
        "jwtw_rt_" + "A" * 43,
    ],
)
def test_should_refuse_a_bearer_credential_nested_in_a_claim(value: str) -> None:
    # Whoever reads the outer token could replay the inner credential.
    assert _refusals({"upstream": value}) == ["bearer_token"]
