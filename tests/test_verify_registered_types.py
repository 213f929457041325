"""JSON null is not absence, and media types are compared exactly (security review, class 6).

Every registered JWS header parameter (RFC 7515 4.1, RFC 7797 3) and every registered claim
the verifier reads, present with JSON null or another wrong type, is refused naming the
member: ``malformed`` for a header parameter, ``invalid_claim`` for a claim. Never read as
if the member were absent. ``typ`` and ``cty`` are compared as RFC 7515 4.1.9 says and
nothing more: case-insensitively, ``application/`` optional, no trimming.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from jwtwarden import KeySet, VerificationPolicy, Verifier
from jwtwarden._jose.header import HEADER_TYPES, normalize_typ
from jwtwarden.clock import FixedClock
from jwtwarden.errors import ClaimError, InvalidTokenError
from jwtwarden.token_profiles import TokenProfile
from tests._verify_support import DROP, NOW, access_claims, forge, key_for, policy

KEY = key_for("ES256")
GOOD_HEADER = {"alg": "ES256", "typ": "at+jwt", "kid": KEY.kid}

# --- header parameters ----------------------------------------------------------------------

_NOT_A_STRING = [None, 1, 1.5, True, [], ["x"], {}, {"a": "b"}]
HEADER_WRONG_TYPES: dict[str, list[Any]] = {
    "alg": _NOT_A_STRING,
    "jku": _NOT_A_STRING,
    "jwk": [None, "k", 1, True, [], ["k"]],
    "kid": _NOT_A_STRING,
    "x5u": _NOT_A_STRING,
    "x5c": [None, "MIIB", 1, True, {}, [], [1], ["MIIB", None]],
    "x5t": _NOT_A_STRING,
    "x5t#S256": _NOT_A_STRING,
    "typ": _NOT_A_STRING,
    "cty": _NOT_A_STRING,
    "crit": [None, "b64", 1, True, {}, [], [1], ["b64", None]],
    "b64": [None, "false", 0, 1, [], {}],
}
HEADER_CASES = [
    pytest.param(name, value, id=f"{name}={value!r}")
    for name, values in HEADER_WRONG_TYPES.items()
    for value in values
]


def test_should_cover_every_registered_header_parameter_in_the_table() -> None:
    registered = {"alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty"}
    assert set(HEADER_WRONG_TYPES) == {*registered, "crit", "b64"} == set(HEADER_TYPES)


def _refusal(verifier: Verifier, token: str) -> InvalidTokenError:
    with pytest.raises(InvalidTokenError) as caught:
        verifier.verify(token)
    return caught.value


@pytest.mark.parametrize(("name", "value"), HEADER_CASES)
@pytest.mark.parametrize("allowed", [False, True], ids=["default", "key-headers-allowed"])
def test_should_refuse_a_header_parameter_of_the_wrong_type_as_malformed_naming_it(
    name: str, value: Any, allowed: bool
) -> None:
    # With the key-location headers allowed too: a tolerated jku is still a string.
    extra = {"allowed_headers": {"jku", "x5u", "jwk", "x5c"}} if allowed else {}
    verifier = Verifier(policy(KEY, **extra))
    header = {**GOOD_HEADER, name: value}
    error = _refusal(verifier, forge(header, _payload(), KEY))
    assert error.code == "malformed", error.detail
    assert repr(name) in error.detail


def test_should_accept_the_control_header_so_the_table_tests_the_member() -> None:
    assert Verifier(policy(KEY)).verify(forge(GOOD_HEADER, _payload(), KEY)).header["kid"]


def test_should_not_read_a_null_kid_as_no_kid_with_a_single_key_set() -> None:
    # Before: {"kid": null} went to the key set as "no kid", and a one-key set picked its key.
    verifier = Verifier(policy(KEY))
    assert verifier.verify(forge({"alg": "ES256"}, _payload(), KEY))  # no kid: fine
    error = _refusal(verifier, forge({"alg": "ES256", "kid": None}, _payload(), KEY))
    assert (error.code, "'kid'" in error.detail) == ("malformed", True)


def test_should_not_read_a_null_typ_as_an_absent_typ_for_id_tokens() -> None:
    id_policy = VerificationPolicy.id_token(
        algorithms=["ES256"],
        issuer=access_claims()["iss"],
        audience=access_claims()["aud"],
        keys=KeySet([KEY.public_key()]),
        clock=FixedClock(NOW),
    )
    claims = access_claims(nonce="n-1")
    verifier = Verifier(id_policy)
    assert verifier.verify(forge({"alg": "ES256"}, _payload(claims), KEY))  # absent: allowed
    error = _refusal(verifier, forge({"alg": "ES256", "typ": None}, _payload(claims), KEY))
    assert (error.code, "'typ'" in error.detail) == ("malformed", True)


# --- claims ---------------------------------------------------------------------------------

_NOT_A_NUMBER = [None, "1", True, [], {}, [1]]
CLAIM_WRONG_TYPES: dict[str, list[Any]] = {
    "iss": [None, 1, True, [], [access_claims()["iss"]], {}],
    "sub": [None, 1, True, "", [], {}],
    "aud": [None, 1, True, [], [1], {}, [None]],
    "exp": _NOT_A_NUMBER,
    "nbf": _NOT_A_NUMBER,
    "iat": _NOT_A_NUMBER,
    "jti": [None, 1, True, "", [], {}],
    "client_id": [None, 1, True, "", [], ["c"], {}],
    "scope": [None, 1, True, [], ["items:read"], {}],
    "azp": [None, 1, "", []],
    "sid": [None, 1, "", []],
    "acr": [None, 1, "", []],
    "at_hash": [None, 1, "", []],
    "c_hash": [None, 1, "", []],
    "auth_time": _NOT_A_NUMBER,
    "amr": [None, "pwd", 1, {}, [1], ["pwd", None]],
    "cnf": [None, "x", 1, [], True],
    "act": [None, "x", 1, [], True],
}
CLAIM_CASES = [
    pytest.param(name, value, id=f"{name}={value!r}")
    for name, values in CLAIM_WRONG_TYPES.items()
    for value in values
]


def _payload(claims: dict[str, Any] | None = None) -> bytes:
    return json.dumps(access_claims() if claims is None else claims).encode()


def _access_verifier(**kw: Any) -> Verifier:
    return Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"],
            issuer=access_claims()["iss"],
            audience=access_claims()["aud"],
            keys=KeySet([KEY.public_key()]),
            clock=FixedClock(NOW),
            **kw,
        )
    )


@pytest.mark.parametrize(("name", "value"), CLAIM_CASES)
def test_should_refuse_a_registered_claim_of_the_wrong_type_as_invalid_claim_naming_it(
    name: str, value: Any
) -> None:
    error = _refusal(
        _access_verifier(), forge(GOOD_HEADER, _payload(access_claims(**{name: value})), KEY)
    )
    assert isinstance(error, ClaimError)
    assert (error.code, error.claim) == ("invalid_claim", name), error.detail


@pytest.mark.parametrize("value", [None, 1, True, [], {}])
def test_should_refuse_an_id_token_nonce_of_the_wrong_type_not_call_it_missing(
    value: Any,
) -> None:
    id_policy = VerificationPolicy.id_token(
        algorithms=["ES256"],
        issuer=access_claims()["iss"],
        audience=access_claims()["aud"],
        keys=KeySet([KEY.public_key()]),
        clock=FixedClock(NOW),
    )
    token = forge({"alg": "ES256", "typ": "JWT"}, _payload(access_claims(nonce=value)), KEY)
    error = _refusal(Verifier(id_policy), token)
    assert isinstance(error, ClaimError)
    assert (error.code, error.claim) == ("invalid_claim", "nonce")


def test_should_accept_the_control_claims_so_the_table_tests_the_claim() -> None:
    claims = access_claims(
        scope="", azp="c", sid="s", acr="1", at_hash="h", c_hash="h", auth_time=NOW - 60,
        amr=["pwd"], cnf={"jkt": "x"}, act={"sub": "admin"},
    )  # fmt: skip
    assert _access_verifier().verify(forge(GOOD_HEADER, _payload(claims), KEY))


# --- RFC 9068 2.2: client_id ----------------------------------------------------------------


def test_should_require_client_id_in_the_access_token_profile() -> None:
    token = forge(GOOD_HEADER, _payload(access_claims(client_id=DROP)), KEY)
    error = _refusal(_access_verifier(), token)
    assert isinstance(error, ClaimError)
    assert (error.code, error.claim) == ("missing_claim", "client_id")


def test_should_require_client_id_even_with_required_claims_of_ones_own() -> None:
    verifier = _access_verifier(required_claims=("exp", "sub"))
    token = forge(GOOD_HEADER, _payload(access_claims(client_id=DROP)), KEY)
    assert _refusal(verifier, token).code == "missing_claim"


def test_should_accept_an_access_token_without_client_id_when_relaxed_but_check_its_type() -> None:
    verifier = _access_verifier(require_client_id=False)
    assert verifier.verify(forge(GOOD_HEADER, _payload(access_claims(client_id=DROP)), KEY))
    null = forge(GOOD_HEADER, _payload(access_claims(client_id=None)), KEY)
    assert _refusal(verifier, null).code == "invalid_claim"
    assert "client_id" not in verifier.policy.required_claims


@pytest.mark.parametrize("value", [0, 1, None, "yes"])
def test_should_refuse_a_require_client_id_that_is_not_a_boolean(value: Any) -> None:
    with pytest.raises(TypeError, match="require_client_id"):
        _access_verifier(require_client_id=value)


# --- media types (RFC 7515 4.1.9) -----------------------------------------------------------

TYP_REFUSED = [
    " at+jwt",
    "at+jwt ",
    "\tat+jwt",
    "at+jwt\n",
    "at+jwt\r\n",
    "application/at+jwt;x=1",
    "application/at+jwt; charset=utf-8",
    "at+JWT\u0000",
    "at+jwt\u200b",
    "application/ at+jwt",
    "application /at+jwt",
    "text/at+jwt",
    "at+jwt/",
    "application/application/at+jwt",
    "\u0430t+jwt",  # Cyrillic a
    "AT+JWT\u00a0",
    "",
]
TYP_ACCEPTED = ["at+jwt", "AT+JWT", "At+Jwt", "application/at+jwt", "APPLICATION/AT+JWT"]


@pytest.mark.parametrize("typ", TYP_REFUSED, ids=repr)
def test_should_refuse_a_typ_that_is_only_nearly_the_media_type(typ: str) -> None:
    token = forge({**GOOD_HEADER, "typ": typ}, _payload(), KEY)
    assert _refusal(_access_verifier(), token).code == "wrong_type"


@pytest.mark.parametrize("typ", TYP_ACCEPTED)
def test_should_accept_typ_case_insensitively_with_or_without_application(typ: str) -> None:
    assert _access_verifier().verify(forge({**GOOD_HEADER, "typ": typ}, _payload(), KEY))


def test_should_fold_only_ascii_letters_so_the_kelvin_sign_is_not_a_k() -> None:
    # str.lower() maps U+212A KELVIN SIGN to "k": "\u212ayc+jwt" would have been "kyc+jwt".
    assert normalize_typ("\u212ayc+jwt") != normalize_typ("kyc+jwt")
    custom = VerificationPolicy.custom(
        typ="kyc+jwt",
        algorithms=["ES256"],
        issuer=access_claims()["iss"],
        audience=access_claims()["aud"],
        keys=KeySet([KEY.public_key()]),
        clock=FixedClock(NOW),
    )
    header = {"alg": "ES256", "kid": KEY.kid}
    assert Verifier(custom).verify(forge({**header, "typ": "KYC+JWT"}, _payload(), KEY))
    token = forge({**header, "typ": "\u212ayc+jwt"}, _payload(), KEY)
    assert _refusal(Verifier(custom), token).code == "wrong_type"


@pytest.mark.parametrize("cty", ["JWT", "jwt", "application/JWT", "Application/jwt"])
def test_should_refuse_a_nested_jwt_whatever_the_case_of_cty(cty: str) -> None:
    token = forge({**GOOD_HEADER, "cty": cty}, _payload(), KEY)
    assert _refusal(_access_verifier(), token).code == "unsupported_serialization"


@pytest.mark.parametrize(
    "cty", [" JWT", "JWT ", "jwt;x=1", "application/jwt; v=1", "JWT\u0000", "jwt\n", ""], ids=repr
)
def test_should_refuse_a_cty_that_is_not_a_bare_media_type_so_no_nested_jwt_slips_past(
    cty: str,
) -> None:
    token = forge({**GOOD_HEADER, "cty": cty}, _payload(), KEY)
    error = _refusal(_access_verifier(), token)
    assert (error.code, "'cty'" in error.detail) == ("malformed", True)


@pytest.mark.parametrize("typ", [" at+jwt", "at+jwt ", "at+jwt;v=1", "at+jwt\x00", "a b"], ids=repr)
def test_should_refuse_a_policy_or_profile_typ_that_can_never_match(typ: str) -> None:
    with pytest.raises(ValueError, match="media type"):
        policy(KEY, typ=typ)
    with pytest.raises(ValueError, match="media type"):
        VerificationPolicy.custom(
            typ=typ, algorithms=["ES256"], issuer="i", audience="a", keys=KeySet([KEY])
        )
    with pytest.raises(ValueError, match="media type"):
        TokenProfile(name="x", typ=typ, token_use="x", default_ttl=60, max_ttl=60)
