"""The checks ``import_jwk`` runs on a JWK's raw members, before joserfc sees them, one helper
per ``kty``.

Why before: joserfc warns (``SecurityWarning``) about short HMAC secrets and RSA moduli, and
under a "warnings are errors" filter that warning would replace our ``weak_key`` refusal with
another error; and a huge RSA modulus must be refused before its ``int`` conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .._jose.algorithms import AlgorithmSpec
from .._jose.b64 import b64url_decode_checked
from ..errors import InvalidKeyError, WeakKeyError
from .strength import MAX_RSA_BITS, check_hmac_secret

__all__ = ["PRIVATE_MEMBERS", "PUBLIC_MEMBERS", "check_members", "key_material"]

# The JWK members that carry key material, per kty (RFC 7518 section 6, RFC 8037 section 2).
PUBLIC_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x"), "oct": ()}
PRIVATE_MEMBERS = {
    "RSA": ("d", "p", "q", "dp", "dq", "qi"),
    "EC": ("d",),
    "OKP": ("d",),
    "oct": ("k",),
}

# RFC 7518 6.2.1.2-6.2.2.1 and RFC 8037 2: each member is the curve's full length, exactly.
# A shorter or zero-padded encoding names the same point under another string: another
# thumbprint (kid) for one key, and a parser that disagrees with ours.
_MEMBER_BYTES = {"P-256": 32, "P-384": 48, "P-521": 66, "Ed25519": 32, "Ed448": 57}


def key_material(data: Mapping[str, Any], kty: str) -> dict[str, str]:
    """The key-material members of ``data`` (and ``kty``), each a string and, but ``crv``,
    canonical base64url; every other member is left out of what joserfc imports.

    Raises:
        InvalidKeyError: a member is not a string, or not base64url.
    """
    material = {"kty": kty}
    for name in (*PUBLIC_MEMBERS[kty], *PRIVATE_MEMBERS[kty]):
        if name in data:
            value = data[name]
            if not isinstance(value, str):
                raise InvalidKeyError(f"JWK member {name!r} must be a string")
            if name != "crv":
                try:
                    b64url_decode_checked(value)
                except ValueError:
                    raise InvalidKeyError(f"JWK member {name!r} is not base64url") from None
            material[name] = value
    return material


def check_members(spec: AlgorithmSpec, material: Mapping[str, str]) -> None:
    """The ``kty``'s checks on the raw members (see the module docstring).

    Raises:
        InvalidKeyError, WeakKeyError: the key is refused.
    """
    _MEMBER_CHECKS[spec.kty](spec, material)


def _check_oct(spec: AlgorithmSpec, material: Mapping[str, str]) -> None:
    if not material.get("k"):
        raise InvalidKeyError("an HMAC key needs a non-empty 'k'")
    check_hmac_secret(b64url_decode_checked(material["k"]), alg=spec.name, min_bits=spec.min_bits)


def _check_rsa(spec: AlgorithmSpec, material: Mapping[str, str]) -> None:
    if "d" in material and not all(m in material for m in ("p", "q", "dp", "dq", "qi")):
        # RFC 7518 6.3.2 lets a producer send d alone, but recovering the primes from it costs
        # about 0.1 s per key: a key set full of such keys is a CPU exhaustion vector.
        raise InvalidKeyError("a private RSA JWK must carry p, q, dp, dq and qi along with d")
    if "n" not in material:
        return  # joserfc refuses the key without its modulus
    modulus = b64url_decode_checked(material["n"])
    if len(modulus) * 8 > MAX_RSA_BITS + 8:  # before the int conversion of a huge n
        raise InvalidKeyError(f"RSA modulus over {MAX_RSA_BITS} bits (denial of service)")
    bits = int.from_bytes(modulus, "big").bit_length()
    if bits < spec.min_bits:
        raise WeakKeyError(f"RSA key of {bits} bits; at least {spec.min_bits} bits are required")
    if bits > MAX_RSA_BITS:
        raise InvalidKeyError(f"RSA modulus of {bits} bits; at most {MAX_RSA_BITS}")


def _check_curve(spec: AlgorithmSpec, material: Mapping[str, str]) -> None:
    """EC and OKP: every coordinate is exactly the curve's length."""
    size = _MEMBER_BYTES.get(material.get("crv", ""))
    if size is None:
        return  # an unknown curve is refused by the import and the curve check
    for name in ("x", "y", "d"):
        if name in material and len(b64url_decode_checked(material[name])) != size:
            raise InvalidKeyError(
                f"JWK member {name!r} must be exactly {size} bytes on {material['crv']}"
            )


_MEMBER_CHECKS: dict[str, Callable[[AlgorithmSpec, Mapping[str, str]], None]] = {
    "oct": _check_oct,
    "RSA": _check_rsa,
    "EC": _check_curve,
    "OKP": _check_curve,
}
