"""Header rules and the attacks they stop: alg none, algorithm confusion, key injection through
the header, hostile kid values, crit, and JWE headers passed off as JWS.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from jwtwarden import KeySet, Verifier
from jwtwarden._jose.algorithms import ALGORITHMS
from jwtwarden.errors import InvalidTokenError
from tests._verify_support import (
    access_claims,
    b64,
    forge,
    key_for,
    policy,
    sign,
    verifier,
)

ES = key_for("ES256")
CLAIMS = json.dumps(access_claims()).encode()


def _code(v: Verifier, token: str) -> str:
    with pytest.raises(InvalidTokenError) as info:
        v.verify(token)
    return info.value.code


# --- alg none (CVE-2015-9235 class) ---------------------------------------------------------


def _capitalisations(word: str) -> list[str]:
    return ["".join(c) for c in itertools.product(*[(ch.lower(), ch.upper()) for ch in word])]


@pytest.mark.parametrize("alg", _capitalisations("none"))
def test_should_refuse_alg_none_in_every_capitalisation_cve_2015_9235(alg: str) -> None:
    # An exact, case-sensitive allowlist: a denylist of "none" would miss "nOnE".
    header = b64(json.dumps({"alg": alg, "kid": ES.kid}))
    payload = b64(CLAIMS)
    v = verifier()
    # With an empty signature (the classic form) and with a non-empty one, so the refusal is
    # the allowlist's, not only the empty-segment rule's.
    assert _code(v, f"{header}.{payload}.") == "malformed"
    assert _code(v, f"{header}.{payload}.{b64(b'sig')}") == "algorithm_not_allowed"


def test_should_list_all_sixteen_capitalisations_of_none() -> None:
    assert len(set(_capitalisations("none"))) == 16


@pytest.mark.parametrize(
    "alg",
    [
        pytest.param(None, id="null"),
        pytest.param(256, id="number"),
        pytest.param(["ES256"], id="list"),
        pytest.param({"name": "ES256"}, id="object"),
        pytest.param(True, id="boolean"),
    ],
)
def test_should_refuse_an_alg_that_is_not_a_string(alg: Any) -> None:
    token = forge({"alg": alg, "kid": ES.kid}, CLAIMS, ES)
    assert _code(verifier(), token) in {"algorithm_not_allowed", "malformed"}


def test_should_refuse_a_header_without_alg_as_malformed() -> None:
    assert _code(verifier(), forge({"kid": ES.kid}, CLAIMS, ES)) == "malformed"


@pytest.mark.parametrize("alg", ["ES384", "HS256", "RS256", "es256", "ES256 ", "ES256\x00"])
def test_should_refuse_an_alg_outside_the_allowlist_even_when_it_is_a_near_miss(alg: str) -> None:
    assert _code(verifier(), forge({"alg": alg, "kid": ES.kid}, CLAIMS, ES)) == (
        "algorithm_not_allowed"
    )


# --- algorithm confusion: RS256 -> HS256, ES256 -> HS256 -----------------------------------


def _public_encodings(alg: str) -> dict[str, bytes]:
    """Every way an attacker could present the trusted public key as an HMAC secret."""
    pub = key_for(alg).public_key()
    native = pub.jwk.public_key
    spki_pem = native.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    spki_der = native.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = pub.public_jwk()
    out = {
        "PEM": spki_pem,
        "PEM without trailing newline": spki_pem.rstrip(b"\n"),
        "DER": spki_der,
        "JWK JSON": json.dumps(jwk).encode(),
        "JWK JSON compact": json.dumps(jwk, separators=(",", ":")).encode(),
        "JWK JSON key members only": json.dumps(
            {k: v for k, v in jwk.items() if k not in ("kid", "alg", "use")}
        ).encode(),
        "OpenSSH": native.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
    }
    if alg.startswith("RS"):
        out["PKCS1 PEM"] = native.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        )
        out["PKCS1 DER"] = native.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )
        n = native.public_numbers().n
        out["n bytes"] = n.to_bytes((n.bit_length() + 7) // 8, "big")
        out["n base64url"] = jwk["n"].encode()
    else:
        out["raw point, uncompressed"] = native.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        out["raw point, compressed"] = native.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )
        out["x coordinate"] = native.public_numbers().x.to_bytes(32, "big")
    return out


def _hs256_forgery(secret: bytes, kid: str | None) -> str:
    header: dict[str, Any] = {"alg": "HS256"}
    if kid is not None:
        header["kid"] = kid
    signing_input = f"{b64(json.dumps(header))}.{b64(CLAIMS)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def _confusion_cases() -> list[Any]:
    cases = []
    for alg in ("RS256", "ES256"):
        for name in _public_encodings(alg):
            cases.append(pytest.param(alg, name, id=f"{alg}->HS256 via {name}"))
    return cases


@pytest.mark.parametrize(("alg", "encoding"), _confusion_cases())
def test_should_refuse_hs256_forged_with_the_public_key_as_secret_whatever_the_allowlist(
    alg: str, encoding: str
) -> None:
    # The classic algorithm confusion attack (CVE-2016-10555, CVE-2022-29217 class): the key is
    # pinned to its own algorithm, so an HS256 header never makes it an HMAC secret.
    trusted = key_for(alg)
    secret = _public_encodings(alg)[encoding]
    keys = KeySet([trusted.public_key()])
    allowlists = [[alg], [alg, "HS256"], sorted(ALGORITHMS)]
    for algorithms in allowlists:
        v = Verifier(policy(trusted, algorithms=algorithms, keys=keys))
        for kid in (trusted.kid, None):
            code = _code(v, _hs256_forgery(secret, kid))
            if "HS256" not in algorithms:
                assert code == "algorithm_not_allowed"  # the allowlist says no
            elif kid is not None:
                assert code == "algorithm_not_allowed"  # the kid's key is pinned to alg
            else:
                assert code == "unknown_key"  # no trusted key is for HS256


def test_should_still_verify_the_genuine_token_in_the_confusion_setup() -> None:
    for alg in ("RS256", "ES256"):
        trusted = key_for(alg)
        v = Verifier(policy(trusted, algorithms=sorted(ALGORITHMS)))
        assert v.verify(sign(access_claims(), trusted)).key.alg == alg


def test_should_refuse_a_key_pinned_to_rs256_when_the_header_says_ps256() -> None:
    # Same RSA key, another algorithm: pinned keys are only ever used with their own alg.
    rs = key_for("RS256")
    token = forge({"alg": "PS256", "kid": rs.kid}, CLAIMS, key_for("PS256"))
    v = Verifier(policy(rs, algorithms=["RS256", "PS256"]))
    assert _code(v, token) == "algorithm_not_allowed"
    # The control: the same key verifies its own RS256 tokens under that policy.
    assert v.verify(sign(access_claims(), rs)).key.alg == "RS256"


# --- key injection through the header (CVE-2018-0114; SSRF via jku / x5u) ----------------


def _attacker_jwk() -> dict[str, Any]:
    return key_for("ES256", "attacker").public_jwk()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jwk", _attacker_jwk()),
        ("jku", "https://attacker.example/jwks.json"),
        ("jku", "http://169.254.169.254/latest/meta-data/"),
        ("x5u", "https://attacker.example/cert.pem"),
        ("x5c", ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
    ],
)
def test_should_refuse_key_location_headers_cve_2018_0114(name: str, value: Any) -> None:
    # The attacker signs with their own key and ships it (or its URL) in the header.
    attacker = key_for("ES256", "attacker")
    token = forge({"alg": "ES256", "kid": ES.kid, name: value}, CLAIMS, attacker)
    assert _code(verifier(), token) == "forbidden_header"


def test_should_never_take_the_key_from_the_header_even_when_the_header_is_allowed() -> None:
    # allowed_headers tolerates the member; the key still comes only from the key set.
    attacker = key_for("ES256", "attacker")
    v = verifier(allowed_headers=["jwk", "jku", "x5u", "x5c"])
    token = forge({"alg": "ES256", "kid": ES.kid, "jwk": _attacker_jwk()}, CLAIMS, attacker)
    assert _code(v, token) == "bad_signature"
    no_kid = forge({"alg": "ES256", "jwk": _attacker_jwk()}, CLAIMS, attacker)
    assert _code(v, no_kid) == "bad_signature"
    genuine = forge({"alg": "ES256", "kid": ES.kid, "jku": "https://x.example/j"}, CLAIMS, ES)
    assert v.verify(genuine).claims["sub"] == "user-1"


# --- kid is untrusted input -----------------------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../etc/passwd",
        "/dev/null",
        "..\\..\\windows\\win.ini",
        "' OR '1'='1",
        "x'; DROP TABLE keys; --",
        "*)(uid=*))(|(uid=*",  # LDAP filter injection
        "https://attacker.example/key",
        "${jndi:ldap://attacker.example/a}",
        "kid\x00hidden",
        "ES256-k1 ",  # a near miss of the real kid
        "es256-k1",
    ],
)
def test_should_treat_kid_as_a_plain_dictionary_key_and_refuse_unknown_ones(kid: str) -> None:
    # kid is only ever looked up in a dict: path traversal, SQL and LDAP injection strings find
    # nothing and are refused as unknown keys (the guide's "kid is untrusted input").
    token = forge({"alg": "ES256", "kid": kid}, CLAIMS, ES)
    assert _code(verifier(), token) == "unknown_key"


def test_should_refuse_an_over_long_kid_as_malformed() -> None:
    v = verifier()
    assert v.verify(forge({"alg": "ES256", "kid": ES.kid}, CLAIMS, ES))
    assert _code(v, forge({"alg": "ES256", "kid": "k" * 257}, CLAIMS, ES)) == "malformed"
    assert _code(v, forge({"alg": "ES256", "kid": "k" * 256}, CLAIMS, ES)) == "unknown_key"


@pytest.mark.parametrize("kid", ["", 7, ["ES256-k1"], {"id": 1}, True])
def test_should_refuse_a_kid_that_is_empty_or_not_a_string(kid: Any) -> None:
    assert _code(verifier(), forge({"alg": "ES256", "kid": kid}, CLAIMS, ES)) == "malformed"


# --- crit (RFC 7515 4.1.11) and b64 (RFC 7797) --------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        {"crit": ["exp"], "exp": 1},
        {"crit": ["b64"], "b64": False},
        {"crit": ["b64"], "b64": True},
        {"b64": False},
        {"crit": ["http://example.com/unknown"], "http://example.com/unknown": True},
    ],
)
def test_should_refuse_critical_extensions_it_does_not_understand(header: dict[str, Any]) -> None:
    # A recipient must refuse a JWS whose crit names anything it does not implement; RFC 7797
    # unencoded payloads change what is signed, so b64 is refused even without crit.
    token = forge({"alg": "ES256", "kid": ES.kid, **header}, CLAIMS, ES)
    assert _code(verifier(), token) == "unsupported_critical_header"


# --- JWE headers passed off as a JWS (CVE-2023-51774 class) --------------------------------


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "ES256", "enc": "A256GCM"},
        {"alg": "ES256", "zip": "DEF"},
        {"alg": "ES256", "epk": {"kty": "EC"}},
        {"alg": "ES256", "iv": "AAAA", "tag": "AAAA"},
        {"alg": "ES256", "p2s": "AAAA", "p2c": 1000},
        {"alg": "ES256", "cty": "JWT"},
        {"alg": "ES256", "cty": "application/jwt"},
        {"alg": "RSA-OAEP", "enc": "A256GCM"},
        {"alg": "dir", "enc": "A128CBC-HS256"},
    ],
)
def test_should_refuse_headers_of_an_encrypted_or_nested_token(header: dict[str, Any]) -> None:
    # Successful decryption is not authentication: only JWS is accepted, never a JWE or a
    # nested JWT whose inner claims this verifier never saw.
    token = forge({**header, "kid": ES.kid}, CLAIMS, ES)
    assert _code(verifier(), token) in {"unsupported_serialization", "algorithm_not_allowed"}


@pytest.mark.parametrize(("name", "value"), [("typ", 1), ("typ", ["JWT"]), ("cty", False)])
def test_should_refuse_typ_and_cty_that_are_not_strings(name: str, value: Any) -> None:
    token = forge({"alg": "ES256", "kid": ES.kid, name: value}, CLAIMS, ES)
    assert _code(verifier(), token) == "malformed"


def test_should_accept_unknown_non_critical_header_members() -> None:
    # RFC 7515 4: unknown members that are not marked critical are ignored.
    token = forge({"alg": "ES256", "kid": ES.kid, "x-trace": "abc", "typ": "JWT"}, CLAIMS, ES)
    assert verifier().verify(token).header["x-trace"] == "abc"


def test_should_refuse_the_algorithm_before_looking_at_the_claims() -> None:
    v = Verifier(policy(max_token_size=65536))
    token = forge({"alg": "none"}, b"not json at all", ES)
    assert _code(v, token) == "algorithm_not_allowed"
