"""Tokens minted by jwtwarden for the interoperability tests, one key ring per algorithm."""

from __future__ import annotations

from functools import cache
from typing import Any

from jwtwarden.issue import Issuer
from jwtwarden.keys.key import Key
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.stores.memory import MemoryKeyStore

ISS = "https://auth.example"
AUD = "https://api.example"
NONCE = "n-0S6_WzA2Mj"
TYPS = {"access": "at+jwt", "id": "JWT", "reset": "reset+jwt"}


@cache
def ring(alg: str) -> KeyRing:
    keys = KeyRing(
        MemoryKeyStore(environment="production"),
        algorithms={use: alg for use in TYPS},
        rsa_bits=2048,
    )
    keys.ensure()
    return keys


def issuer(alg: str) -> Issuer:
    return Issuer(issuer=ISS, keys=ring(alg), environment="production")


def mint(alg: str, profile: str = "access", **claims: Any) -> str:
    extra = {"nonce": NONCE} if profile == "id" else {}
    return issuer(alg).mint(
        profile, sub="user-1", audience=AUD, claims={"scope": "read", **claims}, **extra
    )


def signing_key(alg: str, profile: str = "access") -> Key:
    return ring(alg).signing_key(profile)
