"""Keys, claims and tokens shared by every benchmark: one key per algorithm, the same token
for every library (except where a library only knows an algorithm under another name)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from jwtwarden import Key, KeySet, VerificationPolicy, generate_key
from jwtwarden._jose.sign import sign_compact

__all__ = ["ALGORITHMS", "AUD", "ISS", "TYP", "Fixture", "claims_now", "fixture"]

ALGORITHMS = ("ES256", "Ed25519", "RS256", "PS256", "HS256")
ISS = "https://auth.example.com"
AUD = "https://api.example.com"
TYP = "at+jwt"
LEEWAY = 30


def claims_now(sub: str = "user-1234", jti: str = "3f2c8a1e-bench", lifetime: int = 3600) -> dict:
    """A realistic RFC 9068 access token claim set, valid for ``lifetime`` seconds from now."""
    now = int(time.time())
    return {
        "iss": ISS,
        "aud": AUD,
        "sub": sub,
        "client_id": "web-app",
        "scope": "read:orders write:orders",
        "iat": now,
        "exp": now + lifetime,
        "jti": jti,
    }


@dataclass(frozen=True, slots=True)
class Fixture:
    alg: str
    private: Key  # signs
    public: Key  # verifies (the same object for HMAC)
    native_public: Any  # cryptography public key, or the HMAC secret bytes
    native_private: Any  # cryptography private key, or the HMAC secret bytes
    public_pem: bytes | None  # for libraries that import PEM (None for HMAC)
    public_jwk: dict[str, Any]  # for libraries that import a JWK (the secret for HMAC)
    claims: dict[str, Any]
    header: dict[str, Any]
    token: str
    # The same key under the RFC 8037 name "EdDSA", for libraries that lack RFC 9864's
    # "Ed25519" (PyJWT). The signature bytes are the same Ed25519 signature.
    eddsa_token: str | None

    def policy(self, **overrides: Any) -> VerificationPolicy:
        """The strict policy every jwtwarden figure uses (RFC 9068 access token profile)."""
        options: dict[str, Any] = {
            "algorithms": [self.alg],
            "issuer": ISS,
            "audience": AUD,
            "keys": KeySet([self.public]),
            "leeway": LEEWAY,
        }
        options.update(overrides)
        return VerificationPolicy.access_token(**options)

    def sign(self, claims: dict[str, Any]) -> str:
        return sign_compact(self.header, claims, self.private)


@cache
def fixture(alg: str) -> Fixture:
    private = generate_key(alg, kid=f"bench-{alg.lower()}", rsa_bits=2048)
    claims = claims_now()
    header = {"typ": TYP}
    if private.is_symmetric:
        public = private
        native_public = native_private = private.jwk.raw_value
        public_pem = None
        public_jwk = private.export_private_jwk()
    else:
        public = private.public_key()
        native_public = public.jwk.public_key
        native_private = private.jwk.private_key
        public_pem = public.jwk.as_pem(private=False)
        public_jwk = public.public_jwk()
    eddsa_token = None
    if alg == "Ed25519":
        legacy = Key(private.jwk, alg="EdDSA", kid=private.kid)
        eddsa_token = sign_compact(header, claims, legacy)
    return Fixture(
        alg=alg,
        private=private,
        public=public,
        native_public=native_public,
        native_private=native_private,
        public_pem=public_pem,
        public_jwk=public_jwk,
        claims=claims,
        header=header,
        token=sign_compact(header, claims, private),
        eddsa_token=eddsa_token,
    )
