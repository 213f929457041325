"""The framework-free RFC 6750 pieces: header parsing, scopes, realms, answers."""

from __future__ import annotations

import pytest

from jwtwarden.errors import JWKSFetchError, RevocationUnavailableError, WrongAudienceError
from jwtwarden.integrations._bearer import (
    MalformedAuthorization,
    bearer_token,
    check_realm,
    granted_scopes,
    normalize_scopes,
    refusal_for,
)


@pytest.mark.parametrize(
    ("values", "token"),
    [
        ([], None),
        (["Basic dXNlcjpwdw=="], None),
        (["Bearer abc.def.ghi"], "abc.def.ghi"),
        (["bearer abc"], "abc"),
        (["BEARER a-b_c~d+e/f=="], "a-b_c~d+e/f=="),
        (["Bearer   spaced"], "spaced"),
    ],
)
def test_should_read_a_single_b64token_from_a_bearer_header(values: list[str], token: str | None):
    assert bearer_token(values) == token


@pytest.mark.parametrize(
    "values",
    [
        ["Bearer"],
        ["Bearer "],
        ["Bearer a b"],
        ["Bearer a=b"],
        ["Bearer ä"],
        ["Bearer x", "Bearer y"],
        ["Bearer " + "a" * 20000],
    ],
)
def test_should_refuse_a_malformed_bearer_header(values: list[str]):
    with pytest.raises(MalformedAuthorization):
        bearer_token(values)


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        ({"scope": "a b  c"}, {"a", "b", "c"}),
        ({"scp": ["a", "b"]}, {"a", "b"}),
        ({"scp": "a b"}, {"a", "b"}),
        ({"scope": "a", "scp": ["b"]}, {"a"}),  # scope (RFC 9068) wins when present
        ({"scope": ["a"]}, set()),
        ({"scp": ["a", 1]}, set()),
        ({}, set()),
    ],
)
def test_should_read_granted_scopes_from_scope_or_scp(claims: dict, scopes: set[str]):
    assert granted_scopes(claims) == scopes


@pytest.mark.parametrize("bad", ['a"b', "a\\b", "é", ""])
def test_should_refuse_invalid_scope_names_at_set_up(bad: str):
    with pytest.raises(ValueError):
        normalize_scopes([bad])


def test_should_refuse_a_realm_that_would_break_the_challenge():
    for realm in ('a"b', "a\\b", "", "x" * 101, "tab\there"):
        with pytest.raises(ValueError):
            check_realm(realm)
    assert check_realm("my api") == "my api"


def test_should_map_token_errors_to_401_and_service_errors_to_503_without_detail():
    refused = refusal_for(WrongAudienceError("aud is other", claim="aud", reason="mismatch"), "api")
    assert refused.status == 401 and "aud" not in str(refused.body)
    for exc in (
        RevocationUnavailableError("db down"),
        JWKSFetchError("issuer down"),
        RuntimeError("bug"),
    ):
        answer = refusal_for(exc, "api")
        assert answer.status == 503 and "down" not in str(answer.body)
