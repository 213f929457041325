"""jwtwarden: JSON Web Token authentication that is correct by default.

>>> from jwtwarden import KeySet, VerificationPolicy, Verifier  # doctest: +SKIP
>>> policy = VerificationPolicy.access_token(
...     algorithms=["ES256"], issuer="https://auth.example.com",
...     audience="https://api.example.com", keys=KeySet.from_jwks(jwks))
>>> claims = Verifier(policy).verify(token).claims
"""

from __future__ import annotations

from .cache import CachedVerifier
from .clock import Clock, FixedClock, SystemClock
from .errors import (
    ClaimError,
    InvalidTokenError,
    JWTWardenError,
    KeyRejectedError,
    RevocationUnavailableError,
    RevokedTokenError,
)
from .keys import Key, KeySet, generate_key, import_jwk, import_pem
from .policy import VerificationPolicy
from .verify import (
    JWSVerifier,
    KeySource,
    VerifiedJWS,
    VerifiedToken,
    Verifier,
    verify,
    verify_async,
    verify_compact,
)

__version__ = "0.1.0"

__all__ = [
    "CachedVerifier",
    "ClaimError",
    "Clock",
    "FixedClock",
    "InvalidTokenError",
    "JWSVerifier",
    "JWTWardenError",
    "Key",
    "KeyRejectedError",
    "KeySet",
    "KeySource",
    "RevocationUnavailableError",
    "RevokedTokenError",
    "SystemClock",
    "VerificationPolicy",
    "VerifiedJWS",
    "VerifiedToken",
    "Verifier",
    "__version__",
    "generate_key",
    "import_jwk",
    "import_pem",
    "verify",
    "verify_async",
    "verify_compact",
]
