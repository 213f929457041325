"""Generate keys with strength floors that cannot be turned off."""

from __future__ import annotations

from typing import Any

from .._jose.algorithms import RSA_MIN_BITS, spec_for
from ..errors import WeakKeyError
from .key import JOSERFC_KEY_CLASSES, Key
from .strength import MAX_RSA_BITS

__all__ = ["DEFAULT_ALGORITHM", "DEFAULT_RSA_BITS", "generate_key"]

DEFAULT_ALGORITHM = "ES256"
DEFAULT_RSA_BITS = 3072
_EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


def generate_key(
    algorithm: str = DEFAULT_ALGORITHM,
    *,
    kid: str | None = None,
    token_use: str | None = None,
    environment: str | None = None,
    rsa_bits: int = DEFAULT_RSA_BITS,
) -> Key:
    """Generate a new private key for ``algorithm`` (default ES256).

    HMAC secrets are as long as the hash (256/384/512 bits) from the OS CSPRNG; RSA keys are
    3072 bits by default and never under 2048; EC keys on the curve the algorithm names;
    ``EdDSA`` and ``Ed25519`` on Ed25519. ``kid`` defaults to the RFC 7638 thumbprint.

    Example:
        >>> key = generate_key("ES256", token_use="access", environment="production")
    """
    spec = spec_for(algorithm)
    classes = JOSERFC_KEY_CLASSES
    jwk: Any
    if spec.kty == "oct":
        jwk = classes["oct"].generate_key(spec.min_bits)  # secrets.token_bytes inside joserfc
    elif spec.kty == "RSA":
        if rsa_bits < RSA_MIN_BITS:
            raise WeakKeyError(f"RSA keys of {rsa_bits} bits are refused; at least {RSA_MIN_BITS}")
        if rsa_bits > MAX_RSA_BITS:
            # The import side refuses such keys (verification DoS), so never make one.
            raise ValueError(f"RSA keys are at most {MAX_RSA_BITS} bits, not {rsa_bits}")
        jwk = classes["RSA"].generate_key(rsa_bits)
    elif spec.kty == "EC":
        jwk = classes["EC"].generate_key(_EC_CURVES[algorithm])
    else:
        jwk = classes["OKP"].generate_key("Ed448" if algorithm == "Ed448" else "Ed25519")
    return Key(
        jwk,
        alg=algorithm,
        kid=kid or str(jwk.thumbprint()),
        token_use=token_use,
        environment=environment,
    )
