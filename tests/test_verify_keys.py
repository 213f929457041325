"""Key selection: kid picks the key, a kid-less token needs exactly one fitting key, keys stay
pinned to their algorithm, and each trusted issuer has its own key set.
"""

from __future__ import annotations

import pytest

from jwtwarden import KeySet, VerificationPolicy, Verifier
from jwtwarden.errors import InvalidTokenError
from tests._verify_support import (
    AUD,
    DROP,
    ISS,
    access_claims,
    forge,
    key_for,
    policy,
    sign,
)


def _code(v: Verifier, token: str) -> str:
    with pytest.raises(InvalidTokenError) as info:
        v.verify(token)
    return info.value.code


def _no_kid(key_alg: str, name: str = "k1") -> str:
    key = key_for(key_alg, name)
    return forge({"alg": key.alg}, access_claims(), key)


def test_should_select_the_key_named_by_kid_among_several() -> None:
    a, b = key_for("ES256", "a"), key_for("ES256", "b")
    v = Verifier(policy(a, b))
    assert v.verify(sign(access_claims(), a)).key.kid == a.kid
    assert v.verify(sign(access_claims(), b)).key.kid == b.kid


def test_should_refuse_a_kid_that_names_no_trusted_key() -> None:
    a, stranger = key_for("ES256", "a"), key_for("ES256", "stranger")
    assert _code(Verifier(policy(a)), sign(access_claims(), stranger)) == "unknown_key"


def test_should_refuse_a_token_whose_kid_names_another_trusted_key() -> None:
    # kid says "a", but b signed: the kid selects a, and a's signature check fails.
    a, b = key_for("ES256", "a"), key_for("ES256", "b")
    token = forge({"alg": "ES256", "kid": a.kid}, access_claims(), b)
    assert _code(Verifier(policy(a, b)), token) == "bad_signature"


def test_should_accept_a_kid_less_token_only_when_exactly_one_key_fits_its_algorithm() -> None:
    a, b = key_for("ES256", "a"), key_for("ES384", "b")
    # One ES256 key and one ES384 key: each kid-less token has exactly one candidate.
    v = Verifier(policy(a, b))
    assert v.verify(_no_kid("ES256", "a")).key.kid == a.kid
    assert v.verify(_no_kid("ES384", "b")).key.kid == b.kid
    # Two ES256 keys: which one? Refused rather than trying each (no key-trial oracle).
    two = Verifier(policy(a, key_for("ES256", "c")))
    assert _code(two, _no_kid("ES256", "a")) == "unknown_key"


def test_should_refuse_a_kid_less_token_when_no_key_is_for_its_algorithm() -> None:
    a = key_for("ES256", "a")
    v = Verifier(policy(a, key_for("ES384", "b")))
    # ES512 is allowed by nobody here: the allowlist refuses it first.
    assert _code(v, _no_kid("ES512")) == "algorithm_not_allowed"
    # ES384 allowed and present: a kid-less ES384 token from a stranger fails its signature.
    assert _code(v, _no_kid("ES384", "stranger")) == "bad_signature"


def test_should_use_a_pinned_key_only_with_its_own_algorithm() -> None:
    # One RSA key pair, pinned to RS256. The holder signs the same claims with PS256 and
    # names the RS256 key's kid: refused, whatever the allowlist says.
    rs = key_for("RS256")
    ps_same_material = key_for("PS256")
    token = forge({"alg": "PS256", "kid": rs.kid}, access_claims(), ps_same_material)
    v = Verifier(policy(rs, algorithms=["RS256", "PS256"]))
    assert _code(v, token) == "algorithm_not_allowed"


def test_should_check_each_issuer_against_its_own_key_set() -> None:
    # Multiple trusted issuers are looked up explicitly: a token claiming issuer A but signed by
    # B's key is refused, even though B is trusted too (the guide: "look the issuer up").
    a_key, b_key = key_for("ES256", "issuer-a"), key_for("ES256", "issuer-b")
    issuers = {
        "https://a.example": KeySet([a_key.public_key()]),
        "https://b.example": KeySet([b_key.public_key()]),
    }
    v = Verifier(policy(a_key, b_key, issuers=issuers))
    assert v.verify(sign(access_claims(iss="https://a.example"), a_key)).claims["iss"] == (
        "https://a.example"
    )
    assert v.verify(sign(access_claims(iss="https://b.example"), b_key))
    assert _code(v, sign(access_claims(iss="https://a.example"), b_key)) == "unknown_key"
    kidless = forge({"alg": "ES256"}, access_claims(iss="https://a.example"), b_key)
    assert _code(v, kidless) == "bad_signature"
    assert _code(v, sign(access_claims(iss="https://c.example"), a_key)) == "wrong_issuer"


def test_should_refuse_a_token_signed_by_another_issuers_key_even_with_the_same_kid() -> None:
    a_key = key_for("ES256", "shared-name-a")
    b_key = key_for("ES256", "shared-name-b")
    # Both issuers publish a key under the kid "k": the kid is resolved per issuer.
    from jwtwarden import Key

    a_pub = Key(a_key.public_key().jwk, alg="ES256", kid="k")
    b_pub = Key(b_key.public_key().jwk, alg="ES256", kid="k")
    b_priv = Key(b_key.jwk, alg="ES256", kid="k")
    issuers = {"https://a.example": KeySet([a_pub]), "https://b.example": KeySet([b_pub])}
    v = Verifier(
        VerificationPolicy(
            algorithms=["ES256"], audience=AUD, issuers=issuers, clock=policy().clock
        )
    )
    assert _code(v, sign(access_claims(iss="https://a.example"), b_priv)) == "bad_signature"
    assert v.verify(sign(access_claims(iss="https://b.example"), b_priv))


def test_should_refuse_the_issuer_before_any_key_lookup() -> None:
    class Exploding:
        def select(self, kid: str | None, alg: str) -> object:
            raise AssertionError("key lookup reached for an untrusted issuer")

    v = Verifier(
        VerificationPolicy(algorithms=["ES256"], issuer=ISS, audience=AUD, keys=Exploding())
    )
    assert _code(v, sign(access_claims(iss="https://evil.example"))) == "wrong_issuer"
    assert _code(v, sign(access_claims(iss=DROP))) == "missing_claim"
    assert _code(v, sign(access_claims(iss=None))) == "invalid_claim"  # null is not absence
