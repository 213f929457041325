"""The JWS algorithms jwtwarden accepts, and what each demands of its key.

The signature itself is computed and checked by ``joserfc``'s algorithm objects (on
``cryptography``); this table only says which algorithm object, key type, curve and minimum key
size belong together, so a key can be pinned to exactly one algorithm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from joserfc._rfc8037.jws_eddsa import EdDSA as _LEGACY_EDDSA
from joserfc._rfc9864 import Ed448 as _ED448
from joserfc._rfc9864 import Ed25519 as _ED25519
from joserfc.jwa import ESAlgorithm, HMACAlgorithm, RSAAlgorithm, RSAPSSAlgorithm

__all__ = [
    "ALGORITHMS",
    "ASYMMETRIC",
    "RSA_MIN_BITS",
    "SYMMETRIC",
    "AlgorithmSpec",
    "spec_for",
    "suggest_algorithm",
    "unknown_algorithm_message",
]

# RFC 7518 3.3 and 3.5: "A key of size 2048 bits or larger MUST be used" with RS* and PS*.
# The one place the RSA floor is written: import, generation, rotation and the CLI read it.
RSA_MIN_BITS = 2048


@dataclass(frozen=True, slots=True)
class AlgorithmSpec:
    name: str
    kty: str  # "oct", "RSA", "EC", "OKP"
    impl: Any  # joserfc JWSAlgModel
    curves: frozenset[str] = frozenset()  # EC / OKP curves allowed
    min_bits: int = 0  # HMAC secret or RSA modulus floor
    signature_bytes: int = 0  # fixed signature length where the algorithm has one


def _table() -> dict[str, AlgorithmSpec]:
    t: dict[str, AlgorithmSpec] = {}
    sizes: tuple[Literal[256], Literal[384], Literal[512]] = (256, 384, 512)
    for bits in sizes:
        # HMAC floor: a secret at least as long as the hash output (RFC 7518 section 3.2).
        t[f"HS{bits}"] = AlgorithmSpec(
            f"HS{bits}", "oct", HMACAlgorithm(bits), min_bits=bits, signature_bytes=bits // 8
        )
        t[f"RS{bits}"] = AlgorithmSpec(
            f"RS{bits}", "RSA", RSAAlgorithm(bits), min_bits=RSA_MIN_BITS
        )
        t[f"PS{bits}"] = AlgorithmSpec(
            f"PS{bits}", "RSA", RSAPSSAlgorithm(bits), min_bits=RSA_MIN_BITS
        )
    curves: tuple[tuple[str, str, Literal[256, 384, 512], int], ...] = (
        ("ES256", "P-256", 256, 64),
        ("ES384", "P-384", 384, 96),
        ("ES512", "P-521", 512, 132),
    )
    for name, crv, bits, size in curves:
        t[name] = AlgorithmSpec(
            name, "EC", ESAlgorithm(name, crv, bits), frozenset({crv}), signature_bytes=size
        )
    t["Ed25519"] = AlgorithmSpec(
        "Ed25519", "OKP", _ED25519, frozenset({"Ed25519"}), signature_bytes=64
    )
    t["Ed448"] = AlgorithmSpec("Ed448", "OKP", _ED448, frozenset({"Ed448"}), signature_bytes=114)
    # RFC 8037 "EdDSA" is deprecated by RFC 9864 but still what most issuers send.
    t["EdDSA"] = AlgorithmSpec("EdDSA", "OKP", _LEGACY_EDDSA, frozenset({"Ed25519", "Ed448"}))
    return t


ALGORITHMS: dict[str, AlgorithmSpec] = _table()
SYMMETRIC = frozenset(n for n, s in ALGORITHMS.items() if s.kty == "oct")
ASYMMETRIC = frozenset(ALGORITHMS) - SYMMETRIC


def spec_for(name: str) -> AlgorithmSpec:
    """The spec of a supported algorithm; ``ValueError`` for anything else (``none`` included)."""
    try:
        return ALGORITHMS[name]
    except (KeyError, TypeError):
        raise ValueError(unknown_algorithm_message(name, "unsupported")) from None


def suggest_algorithm(name: object) -> str | None:
    """The supported algorithm ``name`` is a mis-capitalisation of (``es256`` -> ``ES256``).

    Only a suggestion for a message: algorithm names are compared exactly everywhere
    (RFC 7515 4.1.1: ``alg`` is case-sensitive), so ``es256`` is never accepted as ``ES256``.
    """
    if not isinstance(name, str):
        return None
    folded = {alg.lower(): alg for alg in ALGORITHMS}
    return folded.get(name.strip().lower())


def unknown_algorithm_message(name: object, adjective: str = "unknown") -> str:
    """``unknown algorithm 'es256' (did you mean ES256?); supported: ...``."""
    suggestion = suggest_algorithm(name)
    hint = f" (did you mean {suggestion}? names are case-sensitive)" if suggestion else ""
    return f"{adjective} algorithm {name!r}{hint}; supported: {', '.join(sorted(ALGORITHMS))}"
