"""Fixtures for the framework integrations: a key, a fixed clock, a verifier, a token minter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from jwtwarden import FixedClock, KeySet, VerificationPolicy, Verifier, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.keys.key import Key

ISSUER = "https://issuer.example"
AUDIENCE = "https://api.example"
NOW = 1_800_000_000.0

Mint = Callable[..., str]


@pytest.fixture(scope="session")
def key() -> Key:
    return generate_key("ES256", kid="it-1")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def build_verifier(key: Key, clock: FixedClock, **policy: Any) -> Verifier:
    return Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"],
            issuer=ISSUER,
            audience=AUDIENCE,
            keys=KeySet([key.public_key()]),
            clock=clock,
            **policy,
        )
    )


@pytest.fixture
def verifier(key: Key, clock: FixedClock) -> Verifier:
    return build_verifier(key, clock)


@pytest.fixture
def mint(key: Key, clock: FixedClock) -> Mint:
    def make(*, lifetime: int = 600, signer: Key | None = None, **claims: Any) -> str:
        now = int(clock.now())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-1",
            "iat": now,
            "exp": now + lifetime,
            "jti": f"j-{now}",
            "client_id": "client-1",  # RFC 9068 2.2
            **claims,
        }
        return sign_compact({"typ": "at+jwt"}, body, signer or key)

    return make
