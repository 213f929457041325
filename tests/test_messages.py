"""Refusals that say what to do (issue 17): the expected and the actual value where both are
safe to show (the token's own claim, the verifier's configuration, a public discovery
document), a hint for a token pasted with ``Bearer `` or whitespace, "no keys" for an empty set,
and a suggestion for a mis-capitalised algorithm that is still refused (names are exact)."""

from __future__ import annotations

import pytest

from jwtwarden import FixedClock, KeySet, VerificationPolicy, Verifier
from jwtwarden._jose.algorithms import suggest_algorithm
from jwtwarden.errors import (
    JWKSFetchError,
    MalformedTokenError,
    WrongAudienceError,
    WrongIssuerError,
)
from jwtwarden.jwks._document import parse_jwks
from jwtwarden.jwks.discovery import jwks_uri_from
from tests._verify_support import AUD, ISS, NOW, access_claims, key_for, sign


def _verifier(**overrides: object) -> Verifier:
    options: dict[str, object] = {
        "algorithms": ["ES256"],
        "issuer": ISS,
        "audience": AUD,
        "keys": KeySet([key_for("ES256").public_key()]),
        "clock": FixedClock(NOW),
        **overrides,
    }
    return Verifier(VerificationPolicy.access_token(**options))  # type: ignore[arg-type]


def test_should_name_the_tokens_audience_and_the_expected_one_on_wrong_audience():
    token = sign(access_claims(aud="https://other.example"), key_for("ES256"), typ="at+jwt")
    with pytest.raises(WrongAudienceError) as caught:
        _verifier().verify(token)
    assert "'https://other.example'" in caught.value.detail
    assert f"expected '{AUD}'" in caught.value.detail


def test_should_name_the_tokens_issuer_and_the_trusted_one_on_wrong_issuer():
    token = sign(access_claims(iss="https://evil.example"), key_for("ES256"))
    with pytest.raises(WrongIssuerError) as caught:
        _verifier().verify(token)
    assert "'https://evil.example'" in caught.value.detail
    assert f"expected {ISS}" in caught.value.detail


def test_should_cut_a_long_audience_in_the_message():
    token = sign(access_claims(aud="x" * 5000), key_for("ES256"), typ="at+jwt")
    with pytest.raises(WrongAudienceError) as caught:
        _verifier().verify(token)
    assert len(caught.value.detail) < 300


@pytest.mark.parametrize(
    ("wrap", "hint"),
    [
        pytest.param(lambda t: f"Bearer {t}", "without the Authorization", id="bearer prefix"),
        pytest.param(lambda t: f"bearer  {t}", "without the Authorization", id="lower case"),
        pytest.param(lambda t: f"{t}\n", "whitespace around it", id="trailing newline"),
        pytest.param(lambda t: f"  {t}", "whitespace around it", id="leading spaces"),
    ],
)
def test_should_hint_at_a_bearer_prefix_or_surrounding_whitespace(wrap, hint):
    token = sign(access_claims(), key_for("ES256"))
    with pytest.raises(MalformedTokenError) as caught:
        _verifier().verify(wrap(token))
    assert hint in caught.value.detail


def test_should_say_no_keys_for_an_empty_key_set_at_construction():
    with pytest.raises(ValueError, match="has no keys"):
        _verifier(keys=KeySet([]))


def test_should_say_no_keys_for_an_empty_fetched_document():
    with pytest.raises(JWKSFetchError, match="no keys at all"):
        parse_jwks(b'{"keys": []}', algorithm=None, source="https://idp.example/jwks")


def test_should_show_both_issuers_and_the_trailing_slash_on_a_discovery_mismatch():
    body = b'{"issuer": "https://idp.example/", "jwks_uri": "https://idp.example/k"}'
    with pytest.raises(JWKSFetchError) as caught:
        jwks_uri_from(body, issuer="https://idp.example")
    detail = caught.value.detail
    assert "'https://idp.example/'" in detail and "not 'https://idp.example'" in detail
    assert "trailing slash" in detail


@pytest.mark.parametrize(("typed", "suggested"), [("es256", "ES256"), ("rs256", "RS256")])
def test_should_suggest_the_capitalised_algorithm_but_still_refuse_it(typed, suggested):
    assert suggest_algorithm(typed) == suggested
    with pytest.raises(ValueError, match=f"did you mean {suggested}"):
        _verifier(algorithms=[typed])


def test_should_not_suggest_anything_for_a_name_that_is_no_algorithm():
    assert suggest_algorithm("ES257") is None
    assert suggest_algorithm(None) is None
