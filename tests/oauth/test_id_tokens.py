"""OpenID Connect ID tokens (oauth/id_tokens.py): at_hash (Core 3.1.3.6), the claims of Core
2, and the ID and access profiles keeping each other's tokens out in both directions."""

from __future__ import annotations

from typing import Any

import pytest
from authlib.oidc.core.util import create_half_hash
from joserfc import jwt
from joserfc.jwk import KeySet as JoseKeySet

from jwtwarden import FixedClock, Verifier
from jwtwarden.errors import InvalidTokenError, MissingClaimError
from jwtwarden.issue import ACCESS_TOKEN, ID_TOKEN, Issuer
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.oauth.id_tokens import IDTokenMinter, IDTokenRequest, at_hash, hash_for_alg
from jwtwarden.stores.memory import MemoryKeyStore
from jwtwarden.unsafe import decode_unverified

NOW = 1_800_000_000
ISS = "https://auth.example"
CLIENT = "web-app"
API = "https://api.example"
ACCESS = "jwtw_example_access_token_value"


def _issuer() -> tuple[Issuer, KeyRing]:
    clock = FixedClock(NOW)
    ring = KeyRing(
        MemoryKeyStore(environment="production"),
        clock=clock,
        algorithms={"access": "ES256", "id": "RS256"},
        rsa_bits=2048,
    )
    ring.ensure()
    issuer = Issuer(issuer=ISS, keys=ring, profiles=(ACCESS_TOKEN, ID_TOKEN), clock=clock)
    return issuer, ring


ISSUER, RING = _issuer()
MINTER = IDTokenMinter(ISSUER, lambda: RING.signing_key("id").alg, ttl=600)


def _claims(token: str) -> dict[str, Any]:
    return dict(decode_unverified(token).claims)


# --- at_hash ---------------------------------------------------------------------------------


def test_should_compute_at_hash_as_the_spec_s_worked_value_for_rs256() -> None:
    # SHA-256 of the ASCII token, its left 16 bytes, base64url (Core 3.1.3.6), computed once
    # by hand with hashlib for this fixed token.
    token = "jHkWEdUXMU1BwAsC4vtUsZwnNTJ1pWAsMaHOUNXwN3Y"
    assert at_hash(token, "RS256") == "yk2_Sav4-gQc6eQhsJrXhw"


@pytest.mark.parametrize(
    "alg", ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "ES512", "EdDSA"]
)
def test_should_agree_with_authlib_s_half_hash_for_every_signing_algorithm(alg: str) -> None:
    assert at_hash(ACCESS, alg) == create_half_hash(ACCESS, alg).decode()


@pytest.mark.parametrize("alg", ["none", "HS1", "ES256K", "XYZ", ""])
def test_should_refuse_an_algorithm_with_no_defined_hash(alg: str) -> None:
    with pytest.raises(ValueError, match="at_hash"):
        hash_for_alg(alg)


# --- the claims --------------------------------------------------------------------------------


def test_should_mint_an_id_token_with_the_required_claims_the_session_and_at_hash() -> None:
    token = MINTER.mint(
        IDTokenRequest(
            sub="user-1",
            client_id=CLIENT,
            auth_time=NOW - 30,
            sid="signin-1",
            nonce="n-0S6_WzA2Mj",
            access_token=ACCESS,
        )
    )
    unverified = decode_unverified(token)
    claims = dict(unverified.claims)
    assert unverified.header["typ"] == "JWT" and unverified.header["alg"] == "RS256"
    assert claims["iss"] == ISS and claims["sub"] == "user-1" and claims["aud"] == CLIENT
    assert claims["iat"] == NOW and claims["exp"] == NOW + 600
    assert claims["auth_time"] == NOW - 30 and claims["sid"] == "signin-1"
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["at_hash"] == create_half_hash(ACCESS, "RS256").decode()
    assert "azp" not in claims  # one audience: azp is not needed (Core 2)


def test_should_echo_the_nonce_exactly_as_sent() -> None:
    odd = "n ü/+=?&%20"  # spaces, non-ASCII, URL metacharacters: echoed byte for byte
    token = MINTER.mint(IDTokenRequest(sub="u", client_id=CLIENT, auth_time=NOW, nonce=odd))
    assert _claims(token)["nonce"] == odd


def test_should_leave_out_nonce_when_the_request_sent_none() -> None:
    token = MINTER.mint(IDTokenRequest(sub="u", client_id=CLIENT, auth_time=NOW))
    assert "nonce" not in _claims(token) and "at_hash" not in _claims(token)


def test_should_refuse_an_empty_nonce() -> None:
    with pytest.raises(ValueError, match="nonce"):
        MINTER.mint(IDTokenRequest(sub="u", client_id=CLIENT, auth_time=NOW, nonce=""))


def test_should_set_azp_when_the_audience_names_more_than_the_client() -> None:
    token = MINTER.mint(
        IDTokenRequest(sub="u", client_id=CLIENT, auth_time=NOW, audience=(API, CLIENT))
    )
    claims = _claims(token)
    assert claims["aud"] == [CLIENT, API] and claims["azp"] == CLIENT


def test_should_verify_with_joserfc_through_the_published_jwks() -> None:
    token = MINTER.mint(IDTokenRequest(sub="u", client_id=CLIENT, auth_time=NOW, nonce="n"))
    keys = JoseKeySet.import_key_set(RING.jwks())  # type: ignore[arg-type]
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    assert decoded.claims["sub"] == "u"


# --- the profiles, both directions ---------------------------------------------------------------


def _id_policy(**kwargs: Any) -> Verifier:
    return Verifier(ISSUER.verification_policy("id", audience=CLIENT, **kwargs))


ACCESS_VERIFIER = Verifier(ISSUER.verification_policy("access", audience=API))


def test_should_accept_an_id_token_at_the_id_profile() -> None:
    token = MINTER.mint(IDTokenRequest(sub="u", client_id=CLIENT, auth_time=NOW, nonce="n"))
    assert _id_policy(nonce="n").verify(token).claims["sub"] == "u"


@pytest.mark.parametrize("nonce", ["n", None])
def test_should_refuse_an_id_token_at_the_access_profile(nonce: str | None) -> None:
    token = MINTER.mint(
        IDTokenRequest(sub="u", client_id=CLIENT, auth_time=NOW, nonce=nonce, audience=(API,))
    )
    # Refused at the first of three layers: its alg (RS256, the id use's) is not the access
    # profile's, its key is of the id use, which the access profile never reads, and its typ
    # JWT is not at+jwt (tests/unit/test_issue.py shows the typ rule alone with one key).
    with pytest.raises(InvalidTokenError):
        ACCESS_VERIFIER.verify(token)
    same_alg = Verifier(ISSUER.verification_policy("access", audience=API, algorithms=["RS256"]))
    with pytest.raises(InvalidTokenError) as refused:
        same_alg.verify(token)
    assert refused.value.code == "unknown_key"


def test_should_refuse_an_access_token_at_the_id_profile() -> None:
    access = ISSUER.mint("access", sub="u", audience=CLIENT)
    with pytest.raises(InvalidTokenError):
        _id_policy().verify(access)
    with pytest.raises(InvalidTokenError):
        _id_policy(expect_nonce=False).verify(access)


def test_should_refuse_a_nonce_less_id_token_where_a_nonce_is_expected() -> None:
    token = MINTER.mint(IDTokenRequest(sub="u", client_id=CLIENT, auth_time=NOW))
    with pytest.raises(MissingClaimError):
        _id_policy().verify(token)
    assert _id_policy(expect_nonce=False).verify(token).claims["sub"] == "u"


def test_should_refuse_to_compare_a_nonce_without_expecting_one() -> None:
    with pytest.raises(ValueError, match="expect_nonce"):
        ISSUER.verification_policy("id", audience=CLIENT, nonce="n", expect_nonce=False)
