"""JSON null is not absence, beyond the verifier (security review, class 6).

Every place that reads a decoded header or claim set tests presence with ``in``: the jku key
source, the scope check of the integrations, the auth-version hook, the client's refresh
timing, the inspector, and the issuer (which never signs a registered claim of the wrong
type).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from jwtwarden import FixedClock, KeySet, VerificationPolicy, Verifier
from jwtwarden.errors import ClaimLintError, InvalidClaimError, MalformedTokenError
from jwtwarden.explain import explain
from jwtwarden.integrations._bearer import granted_scopes
from jwtwarden.integrations.httpx_auth import RefreshingAuth
from jwtwarden.issue import Issuer
from jwtwarden.jwks.jku import TrustedJKU
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.revocation.checks import AuthVersionCheck
from jwtwarden.stores.memory import MemoryKeyStore
from jwtwarden.verify import VerifiedToken
from tests._verify_support import NOW, access_claims, forge, key_for

KEY = key_for("ES256")


def test_should_not_send_a_null_jku_to_the_default_key_set() -> None:
    # Before: {"jku": null} read as "no jku", so the default key set verified the token.
    source = TrustedJKU(
        ["https://keys.example/jwks.json"], default=KeySet([KEY.public_key()]), timeout=0.1
    )
    verifier = Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"],
            issuer=access_claims()["iss"],
            audience=access_claims()["aud"],
            keys=source,
            clock=FixedClock(NOW),
            allowed_headers={"jku"},
        )
    )
    header = {"alg": "ES256", "typ": "at+jwt", "kid": KEY.kid}
    payload = json.dumps(access_claims()).encode()
    assert verifier.verify(forge(header, payload, KEY))  # no jku: the default set
    with pytest.raises(MalformedTokenError, match="'jku'"):
        verifier.verify(forge({**header, "jku": None}, payload, KEY))
    with pytest.raises(MalformedTokenError, match="'jku'"):
        source.select_for_header({**header, "jku": None}, KEY.kid, "ES256")


@pytest.mark.parametrize(
    "claims",
    [
        {"scope": None, "scp": ["admin"]},
        {"scope": None, "scp": "admin"},
        {"scope": 1, "scp": ["admin"]},
        {"scope": ["admin"], "scp": "admin"},
    ],
    ids=repr,
)
def test_should_never_fall_through_from_a_present_scope_to_scp(claims: dict[str, Any]) -> None:
    # Before: {"scope": null, "scp": ["admin"]} granted "admin".
    assert granted_scopes(claims) == frozenset()


def test_should_still_read_scp_when_scope_is_absent() -> None:
    assert granted_scopes({"scp": ["a", "b"]}) == {"a", "b"}


def _verified(claims: dict[str, Any]) -> VerifiedToken:
    return VerifiedToken({"alg": "ES256"}, claims, KEY.public_key())


@pytest.mark.parametrize("value", [None, "1", 1.0, True, []])
def test_should_refuse_an_auth_version_of_the_wrong_type_not_call_it_missing(value: Any) -> None:
    check = AuthVersionCheck(lambda sub: 1)
    with pytest.raises(InvalidClaimError) as caught:
        check(_verified({"sub": "u", "auth_version": value}))
    assert (caught.value.code, caught.value.claim) == ("invalid_claim", "auth_version")


def _unsigned(claims: dict[str, Any]) -> str:
    def seg(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return seg({"alg": "ES256"}) + "." + seg(claims) + ".AAAA"


@pytest.mark.parametrize("exp", [None, "9999999999", True, [], {}])
def test_should_treat_a_present_but_unreadable_exp_as_due_now_not_as_no_exp(exp: Any) -> None:
    # Before: {"exp": null} was "no exp", and expires_in (or nothing) kept a token that no
    # verifier accepts in use.
    clock = FixedClock(NOW)
    auth = RefreshingAuth(
        "https://auth.example/token",
        refresh_token="rt",
        access_token=_unsigned({"exp": exp}),
        clock=clock,
    )
    assert auth._expires_at == NOW
    absent = RefreshingAuth(
        "https://auth.example/token", refresh_token="rt", access_token=_unsigned({}), clock=clock
    )
    assert absent._expires_at is None  # absent: still "no expiry known"


def test_should_explain_a_null_iss_as_invalid_claim_as_the_verifier_does() -> None:
    policy = VerificationPolicy.access_token(
        algorithms=["ES256"],
        issuer=access_claims()["iss"],
        audience=access_claims()["aud"],
        keys=KeySet([KEY.public_key()]),
        clock=FixedClock(NOW),
    )
    header = {"alg": "ES256", "typ": "at+jwt", "kid": KEY.kid}
    token = forge(header, json.dumps(access_claims(iss=None)).encode(), KEY)
    with pytest.raises(InvalidClaimError):
        Verifier(policy).verify(token)
    explanation = explain(token, policy)
    assert (explanation.valid, explanation.error) == (False, "invalid_claim")


# --- the issuer -----------------------------------------------------------------------------


def _issuer(**kw: Any) -> Issuer:
    clock = FixedClock(NOW)
    ring = KeyRing(MemoryKeyStore(environment="test"), clock=clock)
    ring.ensure()
    return Issuer(issuer="https://issuer.example", keys=ring, clock=clock, **kw)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("scope", None),
        ("scope", ["read"]),
        ("client_id", None),
        ("client_id", 7),
        ("client_id", ""),
        ("sid", None),
        ("azp", {}),
        ("auth_time", "now"),
        ("amr", "pwd"),
        ("cnf", "key"),
    ],
    ids=repr,
)
def test_should_refuse_to_mint_a_registered_claim_of_the_wrong_type(name: str, value: Any) -> None:
    with pytest.raises(ClaimLintError) as caught:
        _issuer().mint("access", sub="u", audience="api", claims={name: value})
    assert caught.value.claim == name


def test_should_mint_access_tokens_with_the_first_party_client_id_by_default() -> None:
    issuer = _issuer()
    _, claims = issuer.mint_with_claims("access", sub="u", audience="api")
    assert claims["client_id"] == "jwtwarden"
    _, own = _issuer(client_id="web-app").mint_with_claims("access", sub="u", audience="api")
    assert own["client_id"] == "web-app"
    _, given = issuer.mint_with_claims("access", sub="u", audience="api", claims={"client_id": "c"})
    assert given["client_id"] == "c"
    token = issuer.mint("access", sub="u", audience="api")
    assert Verifier(issuer.verification_policy("access", audience="api")).verify(token)


def test_should_not_add_client_id_to_tokens_that_are_not_access_tokens() -> None:
    _, claims = _issuer().mint_with_claims("id", sub="u", audience="api", nonce="n")
    assert "client_id" not in claims


@pytest.mark.parametrize("value", ["", None, 7])
def test_should_refuse_an_issuer_client_id_that_is_not_a_non_empty_string(value: Any) -> None:
    with pytest.raises(ValueError, match="client_id"):
        _issuer(client_id=value)
