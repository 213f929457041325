"""Structure before crypto: what the strict compact parser refuses, and with which code.

Each row names the attack or the spec rule. Every hostile token here carries a signature that
would verify over its bytes (or is a valid token bent in one place), so the refusal comes from the
structure rule, before any key lookup or signature work.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from jwtwarden import VerificationPolicy, Verifier
from jwtwarden.errors import (
    InvalidTokenError,
    MalformedTokenError,
    TokenTooLargeError,
    UnsupportedSerializationError,
)
from tests._verify_support import access_claims, b64, forge, key_for, policy, sign, verifier

KEY = key_for("ES256")
GOOD = sign(access_claims())
H, P, S = GOOD.split(".")
HEADER = {"alg": "ES256", "kid": KEY.kid}


def _code(token: Any, v: Verifier | None = None) -> str:
    with pytest.raises(InvalidTokenError) as info:
        (v or verifier()).verify(token)
    return info.value.code


def test_should_verify_the_unbent_control_token() -> None:
    assert verifier().verify(GOOD).claims == access_claims()


def _flip_last_char_to_non_canonical(segment: str) -> str:
    # A segment of 4k+2 or 4k+3 characters has unused low bits in its last character; setting
    # them gives a second string that lax decoders map to the same bytes (signature malleability).
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(segment[-1])
    return segment[:-1] + alphabet[last | 1]


STRUCTURE_CASES: list[tuple[str, str, str]] = [
    # (name, token, code)
    ("empty string", "", "malformed"),
    ("one segment", H, "malformed"),
    ("two segments", f"{H}.{P}", "malformed"),
    ("four segments", f"{GOOD}.{S}", "malformed"),
    (
        "JWE compact, five segments (CVE-2023-51774 class)",
        f"{H}.{P}.{S}.{S}.{S}",
        "unsupported_serialization",
    ),
    ("empty header segment", f".{P}.{S}", "malformed"),
    ("empty signature segment (alg none style)", f"{H}.{P}.", "malformed"),
    ("leading space", " " + GOOD, "malformed"),
    ("trailing newline", GOOD + "\n", "malformed"),
    ("space inside the signature", f"{H}.{P}. {S}", "malformed"),
    ("tab inside the payload", f"{H}.\t{P}.{S}", "malformed"),
    ("padding on the header (RFC 7515 section 2)", f"{H}==.{P}.{S}", "malformed"),
    ("padding on the signature", f"{H}.{P}.{S}=", "malformed"),
    ("standard alphabet '+' (RFC 7515 section 2)", f"{H}.{P}.{S[:-2]}+{S[-1]}", "malformed"),
    ("standard alphabet '/'", f"{H}.{P}.{S[:-2]}/{S[-1]}", "malformed"),
    ("a character outside base64url", f"{H}.{P}.{S[:-2]}?{S[-1]}", "malformed"),
    ("non-ASCII letter", f"{H}.{P}.{S[:-2]}é{S[-1]}", "malformed"),
    ("5 segments padded with dots only", "....", "unsupported_serialization"),
]


@pytest.mark.parametrize(
    ("token", "code"),
    [pytest.param(t, c, id=n) for n, t, c in STRUCTURE_CASES],
)
def test_should_refuse_tokens_that_are_not_exactly_three_strict_base64url_segments(
    token: str, code: str
) -> None:
    assert _code(token) == code


def test_should_refuse_a_non_canonical_last_character_as_a_signature_malleability_vector() -> None:
    # Wycheproof "ModifiedUnusedBitsInPayload": two encodings of the same bytes.
    claims_b64 = b64(json.dumps(access_claims()))
    assert len(claims_b64) % 4 in (2, 3), "the fixture must have unused bits to flip"
    token = forge(HEADER, json.dumps(access_claims()).encode(), KEY)
    h, p, s = token.split(".")
    assert verifier().verify(token)
    bent = f"{h}.{_flip_last_char_to_non_canonical(p)}.{s}"
    assert _code(bent) == "malformed"


def test_should_refuse_a_non_canonical_signature_encoding() -> None:
    h, p, s = GOOD.split(".")
    if len(s) % 4 in (2, 3):
        assert _code(f"{h}.{p}.{_flip_last_char_to_non_canonical(s)}") == "malformed"
    else:  # ES256 signatures are 64 bytes: 86 characters, 4k+2
        raise AssertionError("an ES256 signature always has unused bits")


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"payload": P, "protected": H, "signature": S}, id="flattened"),
        pytest.param(
            {"payload": P, "signatures": [{"protected": H, "signature": S}]}, id="general"
        ),
        pytest.param({"protected": H, "ciphertext": P, "iv": S, "tag": S}, id="JWE JSON"),
    ],
)
def test_should_refuse_json_serialization_in_every_form(document: dict[str, str]) -> None:
    # The guide's "mismatched serialization formats" pitfall: a verifier that accepts JSON
    # while downstream code splits on dots sees different data than it verified.
    text = json.dumps(document)
    assert _code(text) == "unsupported_serialization"
    assert _code("  " + text) == "unsupported_serialization"


def test_should_refuse_a_token_over_the_size_limit_before_parsing_it() -> None:
    v = Verifier(policy(max_token_size=512))
    big = sign(access_claims(pad="x" * 600))
    with pytest.raises(TokenTooLargeError):
        v.verify(big)
    # Garbage of the same size gets the same answer: nothing was parsed.
    with pytest.raises(TokenTooLargeError):
        v.verify("!" * 513)


def test_should_refuse_tokens_over_the_default_8_kib_limit() -> None:
    big = sign(access_claims(pad="x" * 8200))
    assert len(big) > 8192
    assert _code(big) == "token_too_large"
    exactly = sign(access_claims(pad=""))
    assert len(exactly) <= 8192
    assert verifier().verify(exactly)


@pytest.mark.parametrize(
    ("header", "payload", "code"),
    [
        pytest.param(b'{"alg":"ES256","alg":"ES256"}', None, "malformed", id="dup-alg-header"),
        pytest.param(b'{"alg":"ES256","kid":"a","kid":"b"}', None, "malformed", id="dup-kid"),
        pytest.param(None, b'{"sub":"alice","sub":"admin"}', "malformed", id="dup-sub-payload"),
        pytest.param(None, b'{"a":{"x":1,"x":2}}', "malformed", id="dup-nested-payload"),
        pytest.param(b'["alg","ES256"]', None, "malformed", id="header-array"),
        pytest.param(b'"ES256"', None, "malformed", id="header-string"),
        pytest.param(b"null", None, "malformed", id="header-null"),
        pytest.param(b"{", None, "malformed", id="header-truncated"),
        pytest.param(b"\xff\xfe{}", None, "malformed", id="header-not-utf8"),
        pytest.param(None, b"[1,2,3]", "malformed", id="payload-array"),
        pytest.param(None, b"42", "malformed", id="payload-number"),
        pytest.param(None, b"foo", "malformed", id="payload-not-json"),
        pytest.param(None, b"", "malformed", id="payload-empty"),
        pytest.param(None, b'{"exp": NaN}', "malformed", id="payload-NaN-literal"),
        pytest.param(None, b'{"exp": Infinity}', "malformed", id="payload-Infinity-literal"),
        pytest.param(None, b'{"exp": -Infinity}', "malformed", id="payload-minus-Infinity"),
        pytest.param(None, b'{"a": 1} {"b": 2}', "malformed", id="payload-two-objects"),
        pytest.param(
            None,
            b'{"x":' + b"[" * 5000 + b"]" * 5000 + b"}",
            "malformed",
            id="payload-deep-nesting",
        ),
        pytest.param(None, b'{"exp": 1' + b"0" * 5000 + b"}", "malformed", id="huge-int"),
    ],
)
def test_should_refuse_headers_and_payloads_that_are_not_one_strict_json_object(
    header: bytes | None, payload: bytes | None, code: str
) -> None:
    # RFC 7515 5.2 / RFC 7519 7.2 and I-JSON (RFC 7493): duplicate member names are refused,
    # since parsers disagree on which one wins (a parser differential).
    h = header if header is not None else json.dumps({**HEADER}).encode()
    p = payload if payload is not None else json.dumps(access_claims()).encode()
    v = Verifier(policy(max_token_size=65536))
    assert _code(forge(h, p, KEY), v) == code


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="None"),
        pytest.param(12345, id="int"),
        pytest.param(["a", "b", "c"], id="list"),
        pytest.param(GOOD.encode("ascii") + b"\xff", id="bytes-not-ascii"),
    ],
)
def test_should_refuse_values_that_are_not_a_token_string_with_malformed(token: Any) -> None:
    assert _code(token) == "malformed"


def test_should_accept_the_same_token_as_bytes_and_bytearray() -> None:
    assert verifier().verify(GOOD.encode()).claims["sub"] == "user-1"
    assert verifier().verify(bytearray(GOOD.encode())).claims["sub"] == "user-1"


def test_should_refuse_structure_before_looking_for_a_key() -> None:
    # A policy whose key source explodes if asked: structural refusals never reach it.
    class Exploding:
        def select(self, kid: str | None, alg: str) -> Any:
            raise AssertionError("key lookup reached for a structurally bad token")

    v = Verifier(
        VerificationPolicy(
            algorithms=["ES256"],
            issuer="https://issuer.example",
            audience="https://api.example",
            keys=Exploding(),
        )
    )
    for _name, token, _expected in STRUCTURE_CASES:
        with pytest.raises((MalformedTokenError, UnsupportedSerializationError)):
            v.verify(token)
