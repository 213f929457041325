"""Tokens minted by jwtwarden verify with PyJWT, with algorithm, issuer and audience pinned."""

from __future__ import annotations

import jwt
import pytest
from _minting import AUD, ISS, TYPS, mint, ring, signing_key

# PyJWT names Ed25519 keys "EdDSA" and knows neither RFC 9864 name (Ed25519, Ed448).
ALGORITHMS = [
    "ES256",
    "ES384",
    "ES512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "EdDSA",
    "HS256",
    "HS384",
    "HS512",
]


def pyjwt_key(alg: str, kid: str, profile: str = "access") -> jwt.PyJWK:
    key = signing_key(alg, profile)
    if key.is_symmetric:
        return jwt.PyJWK({**key.export_private_jwk(), "alg": alg})
    return jwt.PyJWKSet.from_dict(ring(alg).jwks())[kid]


@pytest.mark.parametrize("alg", ALGORITHMS)
@pytest.mark.parametrize("profile", ["access", "id", "reset"])
def test_should_verify_with_pyjwt(alg: str, profile: str) -> None:
    token = mint(alg, profile)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(
        token,
        pyjwt_key(alg, header["kid"], profile),
        algorithms=[alg],
        audience=AUD,
        issuer=ISS,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    assert header["typ"] == TYPS[profile]
    assert (claims["sub"], claims["scope"]) == ("user-1", "read")


@pytest.mark.parametrize("alg", ["ES256", "RS256", "HS256"])
def test_should_be_refused_by_pyjwt_for_another_audience_or_a_changed_payload(alg: str) -> None:
    token = mint(alg)
    key = pyjwt_key(alg, jwt.get_unverified_header(token)["kid"])
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key, algorithms=[alg], audience="https://other.example", issuer=ISS)
    head, _, signature = token.split(".")
    forged = f"{head}.{mint(alg, sub_note='x').split('.')[1]}.{signature}"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, key, algorithms=[alg], audience=AUD, issuer=ISS)
