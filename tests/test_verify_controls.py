"""Valid controls: a well-formed token verifies for every supported algorithm, through every
entry point (``verify``, ``Verifier.verify``, ``verify_async``, the JWS layer), including tokens
signed by an independent library (PyJWT), so the refusals elsewhere are not a verifier that
refuses everything.
"""

from __future__ import annotations

import json
from typing import Any

import jwt as pyjwt
import pytest

from jwtwarden import (
    JWSVerifier,
    KeySet,
    VerificationPolicy,
    VerifiedJWS,
    VerifiedToken,
    Verifier,
    verify,
    verify_compact,
)
from jwtwarden._jose.algorithms import ALGORITHMS
from jwtwarden.errors import InvalidTokenError
from tests._verify_support import access_claims, forge, key_for, policy, sign

CONTROLS = ["ES256", "ES384", "ES512", "RS256", "PS256", "Ed25519", "EdDSA", "HS256"]
OTHERS = sorted(set(ALGORITHMS) - set(CONTROLS))


def _keys_for(alg: str) -> KeySet:
    key = key_for(alg)
    # The verifier's side: public keys only, except HMAC which has no public half.
    return KeySet([key if key.is_symmetric else key.public_key()])


@pytest.mark.parametrize("alg", CONTROLS + OTHERS)
def test_should_verify_a_valid_token_for_every_supported_algorithm(alg: str) -> None:
    key = key_for(alg)
    token = sign(access_claims(), key, typ="at+jwt")
    result = Verifier(policy(key, keys=_keys_for(alg))).verify(token)
    assert isinstance(result, VerifiedToken)
    assert result.claims == access_claims()
    assert result.header == {"typ": "at+jwt", "alg": alg, "kid": key.kid}
    assert result.key.alg == alg and result.key.kid == key.kid
    assert not (result.key.is_private and not result.key.is_symmetric)


@pytest.mark.parametrize("alg", CONTROLS)
def test_should_refuse_the_same_token_with_one_signature_byte_changed(alg: str) -> None:
    key = key_for(alg)
    token = sign(access_claims(), key)
    h, p, s = token.split(".")
    # Flip a character well inside the signature (the last one may carry unused bits).
    i = len(s) // 2
    bent = f"{h}.{p}.{s[:i]}{'A' if s[i] != 'A' else 'B'}{s[i + 1 :]}"
    with pytest.raises(InvalidTokenError) as info:
        Verifier(policy(key, keys=_keys_for(alg))).verify(bent)
    assert info.value.code == "bad_signature"


@pytest.mark.parametrize("alg", CONTROLS)
async def test_should_verify_the_same_token_with_verify_async(alg: str) -> None:
    key = key_for(alg)
    result = await Verifier(policy(key, keys=_keys_for(alg))).verify_async(
        sign(access_claims(), key)
    )
    assert result.claims["sub"] == "user-1"


def test_should_verify_with_the_one_shot_verify_function() -> None:
    assert verify(sign(access_claims()), policy()).claims["sub"] == "user-1"


def test_should_tell_rfc_9864_ed25519_from_legacy_eddsa() -> None:
    # RFC 9864 deprecates the polymorphic "EdDSA" for the fully specified "Ed25519". A key
    # pinned to one name is not used under the other.
    ed = key_for("Ed25519")
    legacy = key_for("EdDSA")
    both = VerificationPolicy(
        algorithms=["Ed25519", "EdDSA"],
        issuer=policy().issuer,
        audience=policy().audience,
        keys=KeySet([ed.public_key(), legacy.public_key()]),
        clock=policy().clock,
    )
    v = Verifier(both)
    assert v.verify(sign(access_claims(), ed)).header["alg"] == "Ed25519"
    assert v.verify(sign(access_claims(), legacy)).header["alg"] == "EdDSA"
    as_legacy = forge({"alg": "EdDSA", "kid": ed.kid}, access_claims(), ed)
    with pytest.raises(InvalidTokenError) as info:
        v.verify(as_legacy)
    assert info.value.code == "algorithm_not_allowed"


def _pyjwt_key(alg: str) -> Any:
    # The cryptography private key (or the HMAC secret bytes), as PyJWT takes it.
    return key_for(alg).jwk.raw_value


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA", "HS256"])
def test_should_verify_tokens_signed_by_an_independent_library(alg: str) -> None:
    key = key_for(alg)
    token = pyjwt.encode(access_claims(), _pyjwt_key(alg), algorithm=alg, headers={"kid": key.kid})
    result = Verifier(policy(key, keys=_keys_for(alg))).verify(token)
    assert result.claims == access_claims()


# --- the JWS layer (no claims) --------------------------------------------------------------


def test_should_verify_a_compact_jws_payload_without_claim_semantics() -> None:
    key = key_for("ES256")
    token = forge({"alg": "ES256", "kid": key.kid}, b"\x00binary payload\xff", key)
    keys = KeySet([key.public_key()])
    result = JWSVerifier(keys=keys, algorithms=["ES256"]).verify(token)
    assert isinstance(result, VerifiedJWS)
    assert result.payload == b"\x00binary payload\xff"
    assert verify_compact(token, keys=keys, algorithms=["ES256"]).payload == result.payload


def test_should_verify_an_expired_claim_set_at_the_jws_layer_since_it_has_no_claims() -> None:
    # The JWS layer is for signed payloads that are not claim sets; it must not pretend to
    # check claims (use Verifier for JWTs).
    key = key_for("ES256")
    token = sign(access_claims(exp=1), key)
    payload = verify_compact(token, keys=KeySet([key.public_key()]), algorithms=["ES256"]).payload
    assert json.loads(payload)["exp"] == 1


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("a.b", "malformed"),
        ("eyJhbGciOiJub25lIn0.e30.c2ln", "algorithm_not_allowed"),
        ('{"payload":"e30","signatures":[]}', "unsupported_serialization"),
    ],
)
def test_should_refuse_bad_structure_at_the_jws_layer_too(token: str, code: str) -> None:
    key = key_for("ES256")
    with pytest.raises(InvalidTokenError) as info:
        verify_compact(token, keys=KeySet([key.public_key()]), algorithms=["ES256"])
    assert info.value.code == code


def test_should_refuse_an_unsafe_jws_verifier_configuration() -> None:
    keys = KeySet([key_for("ES256").public_key()])
    for algorithms in ([], ["none"], ["HS256"]):
        with pytest.raises(ValueError):
            JWSVerifier(keys=keys, algorithms=algorithms)


def test_should_never_show_an_hmac_secret_in_errors_or_reprs() -> None:
    key = key_for("HS256")
    secret = key.jwk.raw_value
    secret_b64 = key.export_private_jwk()["k"]
    v = Verifier(policy(key, keys=_keys_for("HS256")))
    texts = [repr(key), str(key), repr(_keys_for("HS256")), repr(v.policy)]
    stranger = key_for("HS256", "stranger")
    for token in (forge({"alg": "HS256", "kid": key.kid}, access_claims(), stranger), "x"):
        with pytest.raises(InvalidTokenError) as info:
            v.verify(token)
        texts += [str(info.value), repr(info.value)]
    for text in texts:
        assert secret_b64 not in text
        assert secret.hex() not in text
        assert repr(secret) not in text
