"""The core path end to end: a key, a signed token, one verify call."""

from __future__ import annotations

import pytest

from jwtwarden import FixedClock, KeySet, VerificationPolicy, Verifier, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.errors import BadSignatureError, ExpiredTokenError

NOW = 1_800_000_000


@pytest.mark.parametrize(
    "alg", ["ES256", "ES384", "ES512", "RS256", "PS256", "Ed25519", "EdDSA", "HS256"]
)
def test_should_verify_a_token_signed_by_the_trusted_key_and_refuse_an_expired_one(alg: str):
    key = generate_key(alg, rsa_bits=2048)
    keys = KeySet([key.public_key()])
    clock = FixedClock(NOW)
    policy = VerificationPolicy.access_token(
        algorithms=[alg], issuer="https://iss.example", audience="api", keys=keys, clock=clock
    )
    claims = {
        "iss": "https://iss.example",
        "aud": "api",
        "sub": "u1",
        "iat": NOW,
        "exp": NOW + 600,
        "jti": "j1",
        "client_id": "client-1",  # RFC 9068 2.2
    }
    token = sign_compact({"typ": "at+jwt"}, claims, key)
    verifier = Verifier(policy)
    assert verifier.verify(token).claims == claims
    clock.advance(600 + 30)
    with pytest.raises(ExpiredTokenError):
        verifier.verify(token)
    clock.set(NOW)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(BadSignatureError):
        verifier.verify(forged)
