"""Token types and profiles against cross-JWT confusion (RFC 8725 section 3.12, RFC 9068).

An ID token never passes as an access token and the reverse, and an application's own token type
(``reset+jwt``) passes neither; ``typ`` is compared as a media type.
"""

from __future__ import annotations

from typing import Any

import pytest

from jwtwarden import FixedClock, KeySet, VerificationPolicy, Verifier
from jwtwarden.errors import InvalidTokenError
from tests._verify_support import AUD, DROP, ISS, NOW, access_claims, key_for, sign, verifier

KEY = key_for("ES256")
KEYS = KeySet([KEY.public_key()])
COMMON: dict[str, Any] = {
    "algorithms": ["ES256"],
    "issuer": ISS,
    "audience": AUD,
    "keys": KEYS,
    "clock": FixedClock(NOW),
}


def _code(v: Verifier, token: str) -> str:
    with pytest.raises(InvalidTokenError) as info:
        v.verify(token)
    return info.value.code


ACCESS = Verifier(VerificationPolicy.access_token(**COMMON))
ID = Verifier(VerificationPolicy.id_token(nonce="n-0S6", **COMMON))
RESET = Verifier(VerificationPolicy.custom(typ="reset+jwt", **COMMON))

ACCESS_TOKEN = sign(access_claims(), KEY, typ="at+jwt")
ID_TOKEN = sign(access_claims(jti=DROP, nonce="n-0S6"), KEY)
ID_TOKEN_TYP_JWT = sign(access_claims(jti=DROP, nonce="n-0S6"), KEY, typ="JWT")
RESET_TOKEN = sign(access_claims(), KEY, typ="reset+jwt")


@pytest.mark.parametrize(
    "typ", ["at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt", "APPLICATION/AT+JWT"]
)
def test_should_compare_typ_as_a_case_insensitive_media_type(typ: str) -> None:
    # RFC 7515 4.1.9: "application/" may be omitted; media types are case-insensitive.
    token = sign(access_claims(), KEY, typ=typ)
    assert ACCESS.verify(token).header["typ"] == typ
    assert verifier(typ="application/AT+JWT").verify(token)


@pytest.mark.parametrize(
    "typ", ["jwt", "JWT", "at+jwt2", "at+jw", "application/at+jwt+x", "text/at+jwt", "jwt+at"]
)
def test_should_refuse_a_typ_that_is_another_media_type(typ: str) -> None:
    assert _code(ACCESS, sign(access_claims(), KEY, typ=typ)) == "wrong_type"


def test_should_refuse_a_missing_typ_when_one_is_expected() -> None:
    assert _code(ACCESS, sign(access_claims(), KEY)) == "wrong_type"
    assert _code(verifier(typ="at+jwt"), sign(access_claims(), KEY)) == "wrong_type"


def test_should_accept_each_profile_s_own_token() -> None:
    assert ACCESS.verify(ACCESS_TOKEN).claims["jti"] == "jti-1"
    assert ID.verify(ID_TOKEN).claims["nonce"] == "n-0S6"
    assert ID.verify(ID_TOKEN_TYP_JWT)
    assert RESET.verify(RESET_TOKEN).header["typ"] == "reset+jwt"


@pytest.mark.parametrize(
    ("verifier_name", "token_name", "code"),
    [
        ("access", "id", "wrong_type"),
        ("access", "id typ JWT", "wrong_type"),
        ("access", "reset", "wrong_type"),
        ("id", "access", "wrong_type"),
        ("id", "reset", "wrong_type"),
        ("reset", "access", "wrong_type"),
        ("reset", "id", "wrong_type"),
        ("reset", "id typ JWT", "wrong_type"),
    ],
)
def test_should_keep_profiles_mutually_exclusive(
    verifier_name: str, token_name: str, code: str
) -> None:
    # Cross-JWT confusion: same issuer, same key, same sub: a token minted for one purpose
    # must not authenticate for another.
    verifiers = {"access": ACCESS, "id": ID, "reset": RESET}
    tokens = {
        "access": ACCESS_TOKEN,
        "id": ID_TOKEN,
        "id typ JWT": ID_TOKEN_TYP_JWT,
        "reset": RESET_TOKEN,
    }
    assert _code(verifiers[verifier_name], tokens[token_name]) == code


def test_should_refuse_an_id_token_relabelled_at_jwt_by_its_nonce() -> None:
    # Even if an issuer stamped at+jwt on an ID token, its nonce gives it away.
    relabelled = sign(access_claims(nonce="n-0S6"), KEY, typ="at+jwt")
    assert _code(ACCESS, relabelled) == "invalid_claim"
    assert _code(RESET, sign(access_claims(nonce="x"), KEY, typ="reset+jwt")) == "invalid_claim"


def test_should_refuse_an_access_token_without_nonce_at_the_id_profile() -> None:
    typeless_access = sign(access_claims(), KEY)
    assert _code(ID, typeless_access) == "missing_claim"


def test_should_refuse_an_id_token_whose_nonce_does_not_match() -> None:
    assert _code(ID, sign(access_claims(jti=DROP, nonce="other"), KEY)) == "invalid_claim"
    assert _code(ID, sign(access_claims(jti=DROP, nonce=42), KEY)) == "invalid_claim"


def test_should_require_jti_and_iat_in_access_tokens_rfc_9068() -> None:
    for name in ("jti", "iat", "exp", "sub"):
        token = sign(access_claims(**{name: DROP}), KEY, typ="at+jwt")
        assert _code(ACCESS, token) == "missing_claim"


def test_should_refuse_built_in_types_for_a_custom_profile() -> None:
    for typ in ("at+jwt", "application/at+jwt", "JWT", "jwt", "application/JWT"):
        with pytest.raises(ValueError):
            VerificationPolicy.custom(typ=typ, **COMMON)


@pytest.mark.parametrize(
    ("factory", "override"),
    [
        (VerificationPolicy.access_token, {"typ": "JWT"}),
        (VerificationPolicy.access_token, {"forbidden_claims": ()}),
        (VerificationPolicy.id_token, {"typ": "at+jwt"}),
        (VerificationPolicy.id_token, {"require_nonce": False}),
        (VerificationPolicy.id_token, {"expect_nonce": 0}),
        (VerificationPolicy.access_token, {"typ_absent_ok": True}),
    ],
)
def test_should_refuse_to_loosen_a_profile_s_fixed_rules(factory: Any, override: Any) -> None:
    with pytest.raises(TypeError):
        factory(**COMMON, **override)


def test_should_name_each_profile_on_its_policy() -> None:
    assert ACCESS.policy.profile == "access"
    assert ID.policy.profile == "id"
    assert RESET.policy.profile == "custom:reset+jwt"
