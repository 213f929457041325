"""Helpers shared by the verifier tests: keys, policies, and hand-made (hostile) tokens.

``forge`` signs arbitrary header and payload bytes with a key's own joserfc algorithm object, so
a test can put anything in a token and still have a signature that verifies: the refusal it
asserts then comes from the rule under test, not from a broken signature.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

from jwtwarden import FixedClock, Key, KeySet, VerificationPolicy, Verifier, generate_key
from jwtwarden._jose.sign import sign_compact

NOW = 1_800_000_000
ISS = "https://issuer.example"
AUD = "https://api.example"

__all__ = [
    "AUD",
    "DROP",
    "ISS",
    "NOW",
    "access_claims",
    "b64",
    "forge",
    "key_for",
    "policy",
    "sign",
    "verifier",
]


def b64(data: bytes | str) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@cache
def key_for(alg: str, name: str = "k1") -> Key:
    """A private key per algorithm and name, generated once per test session."""
    return generate_key(alg, kid=f"{alg}-{name}", rsa_bits=2048)


def access_claims(**overrides: Any) -> dict[str, Any]:
    """A claim set that passes every check of ``policy()`` at ``NOW``."""
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": "user-1",
        "iat": NOW - 10,
        "exp": NOW + 300,
        "jti": "jti-1",
        # RFC 9068 2.2: required by the access_token profile. The length matters: it leaves the
        # payload segment with unused bits (test_verify_structure flips them).
        "client_id": "client-12",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not _DROP}


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


_DROP: Any = _Drop()
DROP: Any = _DROP  # ``access_claims(exp=DROP)`` removes the claim


def sign(claims: dict[str, Any], key: Key | None = None, **header: Any) -> str:
    """A well-formed token signed by ``key`` (default ES256 ``k1``)."""
    return sign_compact(header, claims, key or key_for("ES256"))


def forge(header: dict[str, Any] | bytes, payload: dict[str, Any] | bytes, key: Key) -> str:
    """A token with exactly these header and payload bytes, signed by ``key``'s algorithm."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    p = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signing_input = f"{b64(h)}.{b64(p)}"
    return signing_input + "." + b64(key.impl.sign(signing_input.encode(), key.jwk))


def policy(
    *keys: Key, algorithms: list[str] | None = None, clock: FixedClock | None = None, **kw: Any
) -> VerificationPolicy:
    """A generic policy trusting ``keys`` (default ES256 ``k1``), with a fixed clock at NOW."""
    chosen = keys or (key_for("ES256"),)
    kw.setdefault("issuer", ISS)
    kw.setdefault("audience", AUD)
    if "issuers" in kw:
        kw.pop("issuer")
    else:
        kw.setdefault("keys", KeySet(k.public_key() for k in chosen))
    return VerificationPolicy(
        algorithms=algorithms or sorted({k.alg for k in chosen}),
        clock=clock or FixedClock(NOW),
        **kw,
    )


def verifier(*keys: Key, **kw: Any) -> Verifier:
    return Verifier(policy(*keys, **kw))
