"""Claim checks: time (exp, nbf, iat, max_age, leeway), numeric dates, iss, aud, sub, jti.

Every failing row names the claim and the error code; each claim error also carries ``claim``
and a short ``reason`` word (asserted, since integrations map them).
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from jwtwarden import FixedClock, Verifier
from jwtwarden.errors import ClaimError, InvalidTokenError, RevocationUnavailableError
from tests._verify_support import (
    AUD,
    DROP,
    ISS,
    NOW,
    access_claims,
    forge,
    key_for,
    policy,
    sign,
    verifier,
)


def _refusal(v: Verifier, token: str) -> InvalidTokenError:
    with pytest.raises(InvalidTokenError) as info:
        v.verify(token)
    return info.value


def _claim_error(v: Verifier, token: str) -> ClaimError:
    err = _refusal(v, token)
    assert isinstance(err, ClaimError)
    return err


def _at(t: float, **kw: Any) -> Verifier:
    return verifier(clock=FixedClock(t), **kw)


# --- exp ------------------------------------------------------------------------------------


def test_should_require_exp_by_default() -> None:
    err = _claim_error(verifier(), sign(access_claims(exp=DROP)))
    assert (err.code, err.claim, err.reason) == ("missing_claim", "exp", "missing")


def test_should_refuse_an_expired_token_after_the_leeway_and_accept_it_within() -> None:
    token = sign(access_claims(exp=NOW))
    # Default leeway 30 s: valid up to (not including) exp + 30.
    assert _at(NOW + 29).verify(token)
    err = _claim_error(_at(NOW + 30), token)
    assert (err.code, err.claim, err.reason) == ("expired", "exp", "expired")
    strict = _at(NOW, leeway=0)
    assert _claim_error(strict, token).code == "expired"
    assert _at(NOW - 1, leeway=0).verify(token)


def test_should_accept_a_token_without_exp_only_when_the_policy_stops_requiring_it() -> None:
    v = verifier(required_claims=["sub"])
    claims = v.verify(sign(access_claims(exp=DROP))).claims
    assert claims["sub"] == "user-1" and "exp" not in claims
    err = _claim_error(verifier(), sign(access_claims(exp=DROP)))
    assert (err.code, err.claim) == ("missing_claim", "exp")


# --- nbf, iat, max_age ---------------------------------------------------------------------


def test_should_refuse_a_token_not_yet_valid_beyond_the_leeway() -> None:
    token = sign(access_claims(nbf=NOW + 100))
    err = _claim_error(_at(NOW), token)
    assert (err.code, err.claim) == ("not_yet_valid", "nbf")
    assert _at(NOW + 70).verify(token)  # 100 - 30 leeway
    assert _claim_error(_at(NOW + 69), token).code == "not_yet_valid"


def test_should_refuse_a_token_issued_in_the_future_beyond_the_leeway() -> None:
    token = sign(access_claims(iat=NOW + 31, exp=NOW + 600))
    err = _claim_error(_at(NOW), token)
    assert (err.code, err.claim) == ("issued_in_future", "iat")
    assert _at(NOW + 1).verify(token)


def test_should_refuse_a_token_older_than_max_age() -> None:
    token = sign(access_claims(iat=NOW - 1000, exp=NOW + 600))
    assert verifier(max_age=2000).verify(token)
    err = _claim_error(verifier(max_age=900), token)
    assert (err.code, err.claim, err.reason) == ("too_old", "iat", "too_old")
    # max_age needs iat: a token without one cannot prove its age.
    no_iat = sign(access_claims(iat=DROP))
    err = _claim_error(verifier(max_age=900), no_iat)
    assert (err.code, err.claim) == ("missing_claim", "iat")


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param("1800000300", id="numeric-string"),
        pytest.param("tomorrow", id="string"),
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param([NOW + 300], id="list"),
        pytest.param({"t": NOW}, id="object"),
        pytest.param(None, id="null"),
        pytest.param(10**400, id="integer-beyond-any-float"),
    ],
)
def test_should_refuse_numeric_dates_that_are_not_finite_json_numbers(
    name: str, value: Any
) -> None:
    # RFC 7519 section 2: a NumericDate is a JSON number. Strings, booleans (True == 1 in
    # Python!), NaN and Infinity are refused, not coerced.
    claims = access_claims(**{name: value})
    err = _claim_error(verifier(), forge_token(claims))
    assert (err.code, err.claim, err.reason) == ("invalid_claim", name, "not_a_number")


@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("value", [1e400, -1e400], ids=["overflow", "minus-overflow"])
def test_should_refuse_numeric_dates_beyond_a_double_as_malformed(name: str, value: Any) -> None:
    # The strict parser refuses 1e400 before the claims are read (I-JSON, RFC 7493 2.2): read as
    # a float it is an infinity, which no JSON encoder writes back (tests/fuzz found it).
    err = _refusal(verifier(), forge_token(access_claims(**{name: value})))
    assert err.code == "malformed"
    assert "double" in err.detail


def forge_token(claims: dict[str, Any]) -> str:
    # json.dumps writes 1e400 as "Infinity"; write the literal digits instead so the parser,
    # not the encoder, meets the overflow.
    import json

    text = json.dumps(claims, allow_nan=True)
    text = text.replace("-Infinity", "-1e400").replace("Infinity", "1e400")
    key = key_for("ES256")
    return forge({"alg": "ES256", "kid": key.kid}, text.encode(), key)


@pytest.mark.parametrize("value", [NOW + 300, float(NOW + 300), NOW + 300.5])
def test_should_accept_integer_and_fractional_numeric_dates(value: float) -> None:
    assert verifier().verify(sign(access_claims(exp=value))).claims["exp"] == value


def test_should_refuse_nan_as_a_numeric_date_even_if_a_lenient_encoder_wrote_it() -> None:
    key = key_for("ES256")
    raw = b'{"iss":"%s","aud":"%s","sub":"u","exp":NaN}' % (ISS.encode(), AUD.encode())
    err = _refusal(verifier(), forge({"alg": "ES256", "kid": key.kid}, raw, key))
    assert err.code == "malformed"
    assert not math.isnan(0.0)


# --- iss --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iss",
    [
        ISS + "/",  # trailing slash
        ISS + ".evil.example",  # the trusted issuer as a prefix
        ISS.upper(),
        "https://evil.example/?" + ISS,  # the trusted issuer as a substring
        ISS[:-1],  # a prefix of the trusted issuer
        " " + ISS,
        ISS + "\x00",
        "http://issuer.example",  # scheme downgrade
    ],
)
def test_should_match_the_issuer_exactly_never_by_prefix_substring_or_normalisation(
    iss: str,
) -> None:
    err = _claim_error(verifier(), sign(access_claims(iss=iss)))
    assert (err.code, err.claim) == ("wrong_issuer", "iss")


@pytest.mark.parametrize("iss", [1, ["https://issuer.example"], {"iss": ISS}, True])
def test_should_refuse_an_issuer_that_is_not_a_string(iss: Any) -> None:
    assert _claim_error(verifier(), sign(access_claims(iss=iss))).claim == "iss"


def test_should_refuse_a_token_without_iss() -> None:
    err = _claim_error(verifier(), sign(access_claims(iss=DROP)))
    assert (err.code, err.claim) == ("missing_claim", "iss")


# --- aud --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "aud",
    [AUD, [AUD], ["https://other.example", AUD], [AUD, AUD]],
)
def test_should_accept_aud_as_a_string_or_a_list_containing_the_audience(aud: Any) -> None:
    assert verifier().verify(sign(access_claims(aud=aud))).claims["aud"] == aud


def test_should_accept_any_of_several_configured_audiences() -> None:
    v = verifier(audience=[AUD, "https://api2.example"])
    assert v.verify(sign(access_claims(aud="https://api2.example")))


@pytest.mark.parametrize(
    ("aud", "code"),
    [
        pytest.param("https://other.example", "wrong_audience", id="other"),
        pytest.param(["https://other.example"], "wrong_audience", id="list-without-us"),
        pytest.param(AUD + "/", "wrong_audience", id="trailing-slash"),
        pytest.param(AUD.upper(), "wrong_audience", id="case"),
        pytest.param([], "invalid_claim", id="empty-list"),
        pytest.param("", "wrong_audience", id="empty-string"),
        pytest.param([AUD, 1], "invalid_claim", id="list-with-a-number"),
        pytest.param(1, "invalid_claim", id="number"),
        pytest.param({"aud": AUD}, "invalid_claim", id="object"),
        pytest.param(DROP, "missing_claim", id="absent"),
    ],
)
def test_should_refuse_an_audience_that_does_not_name_this_service(aud: Any, code: str) -> None:
    # A token minted for another service of the same issuer must not authenticate here.
    err = _claim_error(verifier(), sign(access_claims(aud=aud)))
    assert (err.code, err.claim) == (code, "aud")


# --- sub, jti ---------------------------------------------------------------------------------


def test_should_require_sub_by_default() -> None:
    err = _claim_error(verifier(), sign(access_claims(sub=DROP)))
    assert (err.code, err.claim) == ("missing_claim", "sub")


@pytest.mark.parametrize("sub", ["", 42, None, ["u"], True])
def test_should_refuse_a_sub_that_is_not_a_non_empty_string(sub: Any) -> None:
    err = _claim_error(verifier(), sign(access_claims(sub=sub)))
    assert (err.code, err.claim) == ("invalid_claim", "sub")


def test_should_ask_the_subject_exists_hook_and_refuse_unknown_accounts() -> None:
    asked: list[str] = []

    def exists(sub: str) -> bool:
        asked.append(sub)
        return sub == "user-1"

    v = verifier(subject_exists=exists)
    assert v.verify(sign(access_claims()))
    err = _claim_error(v, sign(access_claims(sub="deleted-user")))
    assert (err.code, err.claim, err.reason) == ("invalid_claim", "sub", "unknown_subject")
    assert asked == ["user-1", "deleted-user"]


def test_should_not_ask_the_subject_hook_about_a_token_with_a_bad_signature() -> None:
    asked: list[str] = []
    v = verifier(subject_exists=lambda sub: asked.append(sub) or True)
    stranger = key_for("ES256", "stranger")
    token = forge({"alg": "ES256", "kid": key_for("ES256").kid}, access_claims(), stranger)
    assert _refusal(v, token).code == "bad_signature"
    assert asked == []


def test_should_fail_closed_when_the_subject_hook_raises() -> None:
    def broken(sub: str) -> bool:
        raise ConnectionError("database down")

    with pytest.raises(RevocationUnavailableError) as info:
        verifier(subject_exists=broken).verify(sign(access_claims()))
    # The hook could not answer: the service is unavailable, the token is not "malformed"
    # (and not an InvalidTokenError, which integrations answer with 401 instead of 503).
    assert type(info.value) is RevocationUnavailableError
    assert info.value.code == "revocation_unavailable"
    assert not isinstance(info.value, InvalidTokenError)
    assert str(info.value) and "database down" not in str(info.value)


@pytest.mark.parametrize("jti", ["", 7, ["j"], None])
def test_should_refuse_a_jti_that_is_not_a_non_empty_string(jti: Any) -> None:
    err = _claim_error(verifier(), sign(access_claims(jti=jti)))
    assert (err.code, err.claim) == ("invalid_claim", "jti")


def test_should_require_every_configured_claim() -> None:
    v = verifier(required_claims=["exp", "sub", "tenant"])
    err = _claim_error(v, sign(access_claims()))
    assert (err.code, err.claim) == ("missing_claim", "tenant")
    assert v.verify(sign(access_claims(tenant="t1"))).claims["tenant"] == "t1"


def test_should_recheck_time_claims_on_an_already_verified_token() -> None:
    clock = FixedClock(NOW)
    v = Verifier(policy(clock=clock))
    result = v.verify(sign(access_claims(exp=NOW + 60)))
    v.check_claims(result)
    clock.advance(120)
    with pytest.raises(InvalidTokenError) as info:
        v.check_claims(result)
    assert info.value.code == "expired"
