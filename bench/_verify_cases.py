"""Verification candidates: for one algorithm, a ``token -> claims`` function per library, each
configured as strictly as the library allows (pinned algorithm, iss, aud, exp required, typ
where the library has it, leeway 30 s), with every key imported once, outside the loop.

Each function is checked before it is timed: it must return the claims of the good token and
refuse a token for another audience and an expired one, so a figure can never come from a
library that was not actually checking.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

from _fixtures import AUD, ISS, LEEWAY, TYP, Fixture, claims_now
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from jwtwarden import Verifier
from jwtwarden.cache import CachedVerifier

__all__ = ["VerifyFn", "check_strict", "verify_candidates"]

VerifyFn = Callable[[str], Any]

_REQUIRED = ("exp", "iat", "sub", "jti", "iss", "aud")


def _b64d(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) & 3))


def _signature_check(fx: Fixture) -> Callable[[bytes, bytes], None]:
    """The bare ``cryptography`` (or ``hmac``) check, every object built once."""
    native = fx.native_public
    if fx.alg == "ES256":
        ecdsa = ec.ECDSA(hashes.SHA256())

        def es256(msg: bytes, sig: bytes) -> None:
            # JWS carries r||s (RFC 7518 3.4); cryptography takes DER.
            der = encode_dss_signature(
                int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
            )
            native.verify(der, msg, ecdsa)

        return es256
    if fx.alg == "RS256":
        pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()
        return lambda msg, sig: native.verify(sig, msg, pkcs1, sha256)
    if fx.alg == "PS256":
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        sha256 = hashes.SHA256()
        return lambda msg, sig: native.verify(sig, msg, pss, sha256)
    if fx.alg == "Ed25519":
        return lambda msg, sig: native.verify(sig, msg)
    if fx.alg == "HS256":
        sha = hashlib.sha256

        def hs256(msg: bytes, sig: bytes) -> None:
            if not hmac.compare_digest(hmac.new(native, msg, sha).digest(), sig):
                raise ValueError("bad signature")

        return hs256
    raise ValueError(fx.alg)


def floor(fx: Fixture) -> VerifyFn:
    """The floor: base64url and JSON decoding of header and payload, plus the bare signature
    check. What any verifier must at least do; no structure or claim checks at all."""
    check = _signature_check(fx)
    loads = json.loads

    def verify(token: str) -> Any:
        h, p, s = token.split(".")
        loads(_b64d(h))
        claims = loads(_b64d(p))
        check(f"{h}.{p}".encode(), _b64d(s))
        return claims

    return verify


def floor_plus_claims(fx: Fixture) -> VerifyFn:
    """The floor plus the strict claim checks written inline: the best a hand-rolled verifier
    for exactly this one token shape could do."""
    check = _signature_check(fx)
    loads = json.loads
    clock = time.time

    def verify(token: str) -> Any:
        h, p, s = token.split(".")
        header = loads(_b64d(h))
        claims = loads(_b64d(p))
        check(f"{h}.{p}".encode(), _b64d(s))
        if header.get("alg") != fx.alg or header.get("typ") != TYP:
            raise ValueError("header")
        now = clock()
        if claims["iss"] != ISS:
            raise ValueError("iss")
        aud = claims["aud"]
        if aud != AUD and not (type(aud) is list and AUD in aud):
            raise ValueError("aud")
        if not now < claims["exp"] + LEEWAY or claims["iat"] > now + LEEWAY:
            raise ValueError("time")
        nbf = claims.get("nbf")
        if nbf is not None and now + LEEWAY < nbf:
            raise ValueError("nbf")
        if type(claims["sub"]) is not str or type(claims["jti"]) is not str:
            raise ValueError("sub/jti")
        return claims

    return verify


_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def floor_plus_claims_tuned(fx: Fixture) -> VerifyFn:
    """``floor_plus_claims`` with the decoding tricks jwtwarden itself uses (binascii without
    base64's wrappers, the JSON scanner without decode's whitespace regexes), so that part of
    jwtwarden's margin over the idiomatic floor is not mistaken for anything else."""
    check = _signature_check(fx)
    scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
    a2b = binascii.a2b_base64
    clock = time.time

    def b64d(segment: str) -> bytes:
        return a2b(segment.encode().translate(_TO_STANDARD) + b"=" * (-len(segment) & 3))

    def verify(token: str) -> Any:
        h, p, s = token.split(".")
        header = scan(b64d(h).decode(), 0)[0]
        claims = scan(b64d(p).decode(), 0)[0]
        check(token[: len(h) + len(p) + 1].encode(), b64d(s))
        if header.get("alg") != fx.alg or header.get("typ") != TYP:
            raise ValueError("header")
        now = clock()
        if claims["iss"] != ISS:
            raise ValueError("iss")
        aud = claims["aud"]
        if aud != AUD and not (type(aud) is list and AUD in aud):
            raise ValueError("aud")
        if not now < claims["exp"] + LEEWAY or claims["iat"] > now + LEEWAY:
            raise ValueError("time")
        nbf = claims.get("nbf")
        if nbf is not None and now + LEEWAY < nbf:
            raise ValueError("nbf")
        if type(claims["sub"]) is not str or type(claims["jti"]) is not str:
            raise ValueError("sub/jti")
        return claims

    return verify


def jwtwarden_cold(fx: Fixture) -> VerifyFn:
    verifier = Verifier(fx.policy())
    return lambda token: verifier.verify(token).claims


def jwtwarden_cache_hit(fx: Fixture) -> VerifyFn:
    cached = CachedVerifier(Verifier(fx.policy()))
    return lambda token: cached.verify(token).claims


def pyjwt(fx: Fixture) -> tuple[VerifyFn, str]:
    import jwt

    alg = "EdDSA" if fx.alg == "Ed25519" else fx.alg  # PyJWT lacks RFC 9864 "Ed25519"
    options = {"require": list(_REQUIRED)}
    decode = jwt.decode
    key = fx.native_public

    def verify(token: str) -> Any:
        # PyJWT has no typ option.
        return decode(
            token,
            key,
            algorithms=[alg],
            audience=AUD,
            issuer=ISS,
            leeway=LEEWAY,
            options=options,  # type: ignore[arg-type]
        )

    return verify, alg


def joserfc(fx: Fixture) -> VerifyFn:
    from joserfc import jwt
    from joserfc.jwk import import_key

    key = import_key(fx.public_jwk) if fx.alg != "HS256" else import_key(fx.public_jwk, "oct")
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": ISS},
        aud={"essential": True, "value": AUD},
        exp={"essential": True},
        iat={"essential": True},
        sub={"essential": True},
        jti={"essential": True},
    )
    algorithms = [fx.alg]

    def verify(token: str) -> Any:
        # joserfc's decode checks no claims: validating them is a second call (and it has no
        # typ option).
        decoded = jwt.decode(token, key, algorithms=algorithms)
        registry.validate(decoded.claims)
        return decoded.claims

    return verify


def python_jose(fx: Fixture) -> VerifyFn | None:
    from jose import jwk, jwt

    if fx.alg not in ("ES256", "RS256", "HS256"):
        return None  # python-jose has no PS256 and no EdDSA
    raw = fx.native_public if fx.alg == "HS256" else fx.public_pem
    key = jwk.construct(raw, fx.alg)
    options = {"leeway": LEEWAY, **{f"require_{name}": True for name in _REQUIRED}}
    algorithms = [fx.alg]

    def verify(token: str) -> Any:
        return jwt.decode(
            token, key, algorithms=algorithms, audience=AUD, issuer=ISS, options=options
        )

    return verify


def jwcrypto(fx: Fixture) -> VerifyFn:
    from jwcrypto import jwk, jwt

    key = jwk.JWK(**fx.public_jwk)
    check_claims = {"iss": ISS, "aud": AUD, "exp": None, "iat": None, "sub": None, "jti": None}
    algs = [fx.alg]
    loads = json.loads

    def verify(token: str) -> Any:
        # jwcrypto has no typ option; leeway is an attribute, so deserialize explicitly.
        t = jwt.JWT(algs=algs, check_claims=check_claims, expected_type="JWS")
        t.leeway = LEEWAY
        t.deserialize(token, key)
        return loads(t.claims)

    return verify


def check_strict(name: str, verify: VerifyFn, fx: Fixture, token: str, *, strict: bool) -> None:
    """Refuse to time a candidate that does not accept the good token, or (``strict``) that
    accepts a token for another audience or an expired one."""
    got = verify(token)
    if got != fx.claims:
        raise AssertionError(f"{name} returned {got!r}, not the token's claims")
    if not strict:
        return
    wrong_aud = claims_now()
    wrong_aud["aud"] = "https://elsewhere.example"
    expired = claims_now()
    expired["exp"] = expired["iat"] - 120
    expired["iat"] -= 3600
    for label, claims in (("another audience", wrong_aud), ("an expired token", expired)):
        bad = fx.sign(claims)
        if token is fx.eddsa_token:
            from jwtwarden import Key
            from jwtwarden._jose.sign import sign_compact

            bad = sign_compact(fx.header, claims, Key(fx.private.jwk, alg="EdDSA", kid="x"))
        try:
            verify(bad)
        except Exception:  # each library raises its own error type
            continue
        raise AssertionError(f"{name} accepted {label}: not a strict configuration")


def verify_candidates(fx: Fixture) -> dict[str, tuple[VerifyFn, str, str]]:
    """``name -> (verify, token, note)`` for every library that supports ``fx.alg``."""
    out: dict[str, tuple[VerifyFn, str, str]] = {
        "floor": (floor(fx), fx.token, ""),
        "floor + claims": (floor_plus_claims(fx), fx.token, ""),
        "floor + claims, tuned decoding": (
            floor_plus_claims_tuned(fx),
            fx.token,
            "informational",
        ),
        "jwtwarden": (jwtwarden_cold(fx), fx.token, ""),
        "jwtwarden (cache hit)": (jwtwarden_cache_hit(fx), fx.token, ""),
    }
    py, alg = pyjwt(fx)
    assert fx.eddsa_token is not None or alg == fx.alg
    out["PyJWT"] = (
        py,
        fx.eddsa_token if alg != fx.alg and fx.eddsa_token else fx.token,
        "as EdDSA" if alg != fx.alg else "",
    )
    out["joserfc"] = (joserfc(fx), fx.token, "")
    pj = python_jose(fx)
    if pj is not None:
        out["python-jose"] = (pj, fx.token, "")
    out["jwcrypto"] = (jwcrypto(fx), fx.token, "")
    for name, (fn, token, _) in out.items():
        check_strict(name, fn, fx, token, strict=name != "floor")
    return out
