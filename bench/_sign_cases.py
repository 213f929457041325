"""Signing candidates: mint the fixture's claim set with each library, keys imported once.

Every candidate's output is verified by jwtwarden before it is timed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from _fixtures import AUD, ISS, Fixture
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from jwtwarden import KeySet, Verifier
from jwtwarden._jose.sign import sign_compact

__all__ = ["mint_candidates", "sign_candidates"]

SignFn = Callable[[], str]

_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _raw_sign(fx: Fixture) -> Callable[[bytes], bytes]:
    native = fx.native_private
    if fx.alg == "ES256":
        ecdsa = ec.ECDSA(hashes.SHA256())

        def es256(msg: bytes) -> bytes:
            r, s = decode_dss_signature(native.sign(msg, ecdsa))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # RFC 7518 3.4

        return es256
    if fx.alg == "RS256":
        pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
        return lambda msg: native.sign(msg, pkcs1, sha256)
    if fx.alg == "PS256":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        sha256 = hashes.SHA256()
        return lambda msg: native.sign(msg, pss, sha256)
    if fx.alg == "Ed25519":
        return lambda msg: native.sign(msg)
    if fx.alg == "HS256":
        return lambda msg: hmac.new(native, msg, hashlib.sha256).digest()
    raise ValueError(fx.alg)


def floor_sign(fx: Fixture) -> SignFn:
    """JSON-encode and base64url header and claims, sign with bare ``cryptography``."""
    raw = _raw_sign(fx)
    header = {"alg": fx.alg, "kid": fx.private.kid, **fx.header}
    claims = fx.claims

    def sign() -> str:
        signing_input = f"{_b64e(_dumps(header).encode())}.{_b64e(_dumps(claims).encode())}"
        return f"{signing_input}.{_b64e(raw(signing_input.encode()))}"

    return sign


def sign_candidates(fx: Fixture) -> dict[str, tuple[SignFn, str]]:
    """Signing a fixed claim set: ``name -> (sign, note)``, each output checked first."""
    import jwt as pyjwt
    from joserfc import jwt as jjwt
    from joserfc.jwk import import_key

    out: dict[str, tuple[SignFn, str]] = {"floor-sign": (floor_sign(fx), "")}
    key, header, claims = fx.private, fx.header, fx.claims
    out["jwtwarden sign_compact"] = (lambda: sign_compact(header, claims, key), "")
    py_alg = "EdDSA" if fx.alg == "Ed25519" else fx.alg
    py_headers = {"kid": key.kid, **header}
    native = fx.native_private
    out["PyJWT"] = (
        lambda: pyjwt.encode(claims, native, algorithm=py_alg, headers=py_headers),
        "as EdDSA" if py_alg != fx.alg else "",
    )
    jkey = import_key(key.export_private_jwk())
    j_header = {"alg": fx.alg, "kid": key.kid, **header}
    out["joserfc"] = (lambda: jjwt.encode(j_header, claims, jkey, algorithms=[fx.alg]), "")
    _check(fx, out, lambda got: got == claims)
    return out


class _Provider:
    """The smallest ``SigningKeyProvider``: one key for every token use."""

    def __init__(self, fx: Fixture) -> None:
        self._fx = fx

    def signing_key(self, token_use: str) -> Any:
        return self._fx.private

    def verification_keys(self, token_use: str | None = None) -> Any:
        return KeySet([self._fx.public])


def mint_candidates(fx: Fixture) -> dict[str, tuple[SignFn, str]]:
    """Minting: build a fresh claim set (iat, exp, a 256-bit random jti) and sign it.

    ``Issuer.mint`` also lints the custom claims for secrets and checks the size budget; the
    others do only what is written here.
    """
    import jwt as pyjwt
    from joserfc import jwt as jjwt
    from joserfc.jwk import import_key

    from jwtwarden.issue import Issuer

    key, header = fx.private, fx.header
    extra = {"client_id": fx.claims["client_id"], "scope": fx.claims["scope"]}
    sub = fx.claims["sub"]
    token_urlsafe, clock = secrets.token_urlsafe, time.time

    def fresh() -> dict[str, Any]:
        now = int(clock())
        return {
            "iss": ISS, "sub": sub, "aud": AUD, "iat": now, "exp": now + 600,
            "jti": token_urlsafe(32), **extra,
        }  # fmt: skip

    raw = _raw_sign(fx)
    full_header = {"alg": fx.alg, "kid": key.kid, **header}

    def floor_mint() -> str:
        signing_input = f"{_b64e(_dumps(full_header).encode())}.{_b64e(_dumps(fresh()).encode())}"
        return f"{signing_input}.{_b64e(raw(signing_input.encode()))}"

    issuer = Issuer(issuer=ISS, keys=_Provider(fx))
    py_alg = "EdDSA" if fx.alg == "Ed25519" else fx.alg
    py_headers = {"kid": key.kid, **header}
    native = fx.native_private
    jkey = import_key(key.export_private_jwk())
    out: dict[str, tuple[SignFn, str]] = {
        "floor-mint": (floor_mint, ""),
        "jwtwarden Issuer.mint": (
            lambda: issuer.mint("access", sub=sub, audience=AUD, claims=extra),
            "lint + budget",
        ),
        "PyJWT": (
            lambda: pyjwt.encode(fresh(), native, algorithm=py_alg, headers=py_headers),
            "as EdDSA" if py_alg != fx.alg else "",
        ),
        "joserfc": (
            lambda: jjwt.encode(full_header, fresh(), jkey, algorithms=[fx.alg]),
            "",
        ),
    }
    _check(fx, out, lambda got: got["sub"] == sub and len(got["jti"]) >= 43)
    return out


def _check(fx: Fixture, out: dict[str, tuple[SignFn, str]], ok: Callable[[Any], bool]) -> None:
    checker = Verifier(fx.policy(algorithms=[fx.alg]))
    for name, (fn, note) in out.items():
        token = fn()
        if note == "as EdDSA":
            continue  # an EdDSA token: this policy pins Ed25519 (the bytes are the same kind)
        got: Any = checker.verify(token).claims
        if not ok(got):
            raise AssertionError(f"{name} minted a token with other claims: {got!r}")
