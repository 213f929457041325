"""The fuzz targets: each takes the fuzzer's bytes and raises only when it finds a bug.

A target catches exactly the jwtwarden errors its entry point is documented to raise; any other
exception escapes and is a crash (atheris saves the input). Each target also checks a property
that an exception alone would not show:

- ``token``: the compact parser and the whole verifier. The input is a token; it is verified by
  three policies (access, ID and a generic one with hooks) through the verifier's steps run one
  by one, where nothing is caught, so an internal ``TypeError`` that ``Verifier.verify`` would
  turn into ``malformed`` shows here; ``verify`` must then agree (same code, or both accept).
  If the input has the shape ``a.b.c``, ``a.b`` is signed again with a trusted key (the key of
  the header's ``alg`` when there is one) so that the fuzzer reaches the key, signature, claim
  and hook steps with header and payload of its choosing. ``explain`` must never raise and
  ``decode_unverified`` only raises jwtwarden errors.
- ``jwk``: ``import_jwk``, ``KeySet.from_jwks`` and the fetched-JWKS parser (``parse_jwks``) on
  the same bytes; a key that imports exports a public JWK that imports again to the same
  thumbprint.
- ``json``: the strict JSON parser. What it accepts, the standard library parses to the same
  value, with no duplicate member, no NaN or infinity and no lone surrogate (re-encoding to
  strict UTF-8 JSON works).

Keys here are test keys made for the fuzzer; nothing secret.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
from collections.abc import Callable
from typing import Any

from jwtwarden import (
    FixedClock,
    JWTWardenError,
    KeyRejectedError,
    KeySet,
    VerificationPolicy,
    VerifiedToken,
    Verifier,
    generate_key,
    import_jwk,
)
from jwtwarden._jose.sign import sign_segments
from jwtwarden._jose.strict_json import JSONRefused, loads_object
from jwtwarden.errors import JWKSFetchError, RevokedTokenError
from jwtwarden.explain import explain
from jwtwarden.jwks._document import parse_jwks
from jwtwarden.unsafe import decode_unverified
from jwtwarden.verify import Trace

__all__ = ["AUD", "ISS", "MUTATORS", "NONCE", "NOW", "TARGETS", "signing_keys"]

ISS = "https://issuer.fuzz.example"
AUD = "https://api.fuzz.example"
NOW = 1_800_000_000
NONCE = "n-fuzz-0S6_WzA2Mj"
# A fixed HMAC test key, so that the committed seed tokens verify in every run.
HS256_JWK = {
    "kty": "oct",
    "alg": "HS256",
    "kid": "fuzz-hs256",
    "k": base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode(),
}


def _build() -> tuple[dict[str, Any], list[Verifier]]:
    hs256 = import_jwk(HS256_JWK)
    es256 = generate_key("ES256", kid="fuzz-es256")
    ed25519 = generate_key("EdDSA", kid="fuzz-eddsa")
    keys = {"HS256": hs256, "ES256": es256, "EdDSA": ed25519}
    clock = FixedClock(NOW)
    hmac_keys = KeySet([hs256])
    access = VerificationPolicy.access_token(
        algorithms=["HS256"], issuer=ISS, audience=AUD, keys=hmac_keys, clock=clock, max_age=3600
    )
    id_token = VerificationPolicy.id_token(
        algorithms=["HS256"],
        issuer=ISS,
        audience=[AUD, "other"],
        keys=hmac_keys,
        clock=clock,
        nonce=NONCE,
    )

    def denylist(token: VerifiedToken) -> bool:
        # A hook that reads a claim the way applications do.
        if token.claims.get("jti") == "revoked":
            raise RevokedTokenError("revoked")
        return token.claims.get("jti") != "predicate-false"

    generic = VerificationPolicy(
        algorithms=["ES256", "EdDSA"],
        issuers={ISS: KeySet([es256.public_key(), ed25519.public_key()])},
        audience=AUD,
        typ="JWT",
        leeway=0,
        allowed_headers=["jku", "x5c"],
        required_claims=("exp",),
        subject_exists=lambda sub: sub != "gone",
        checks=(denylist,),
        clock=clock,
    )
    return keys, [Verifier(access), Verifier(id_token), Verifier(generic)]


_KEYS, _VERIFIERS = _build()


def signing_keys() -> dict[str, Any]:
    """The private keys the ``token`` target re-signs with, by algorithm."""
    return dict(_KEYS)


def _unmasked(verifier: Verifier, token: str | bytes) -> str:
    """The verifier's outcome ("ok" or a code) with nothing caught but jwtwarden errors."""
    trace = Trace(token)
    try:
        for _name, step in verifier.steps():
            step(trace)
        assert trace.header is not None and trace.claims is not None and trace.key is not None
        result = VerifiedToken(trace.header, trace.claims, trace.key)
        verifier.check_claims(result)
        verifier.run_hooks(result)
    except JWTWardenError as exc:
        return exc.code
    return "ok"


def _masked(verifier: Verifier, token: str | bytes) -> str:
    try:
        verifier.verify(token)
    except JWTWardenError as exc:
        return exc.code
    return "ok"


def _verify_everywhere(token: str | bytes) -> None:
    for verifier in _VERIFIERS:
        unmasked = _unmasked(verifier, token)
        masked = _masked(verifier, token)
        assert masked == unmasked, (masked, unmasked)


def _resigned(token: str) -> str | None:
    head, dot, rest = token.partition(".")
    payload, dot2, _ = rest.partition(".")
    if not (dot and dot2) or not head.isascii() or not payload.isascii():
        return None
    try:
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, RecursionError):
        header = None
    alg = header.get("alg") if isinstance(header, dict) else None
    key = _KEYS.get(alg) if isinstance(alg, str) else None
    # sign_segments signs exactly the two segments it is given, whatever they hold.
    return sign_segments(head, payload, key or _KEYS["HS256"])


def token_target(data: bytes) -> None:
    """The ``token`` target (see the module docstring)."""
    text = data.decode("utf-8", "surrogateescape")
    for token in (data, text):
        _verify_everywhere(token)
    explained = explain(text, _VERIFIERS[0].policy)
    assert explained is not None
    with contextlib.suppress(JWTWardenError):
        decode_unverified(data)
    resigned = _resigned(text)
    if resigned is not None:
        _verify_everywhere(resigned)
        explain(resigned, _VERIFIERS[2].policy)


def _roundtrip(key: Any) -> None:
    if key.is_symmetric:
        again = import_jwk(key.export_private_jwk())
    else:
        again = import_jwk(key.public_jwk())
    assert again.thumbprint() == key.thumbprint()
    assert (again.alg, again.kid) == (key.alg, key.kid)


def jwk_target(data: bytes) -> None:
    """The ``jwk`` target (see the module docstring)."""
    # A refusal of the re-import in _roundtrip is a bug: it runs outside the try blocks.
    imported: list[Any] = []
    with contextlib.suppress(KeyRejectedError):
        imported.append(import_jwk(data, algorithm="ES256"))
    with contextlib.suppress(KeyRejectedError):
        imported.extend(KeySet.from_jwks(data, algorithm="RS256"))
    for key in imported:
        _roundtrip(key)
    try:
        parsed = parse_jwks(data, algorithm="EdDSA", source="fuzz")
    except JWKSFetchError:
        return
    assert len(parsed.keys) >= 1 and parsed.dropped >= 0
    for key in parsed.keys:
        assert not key.is_symmetric and not key.is_private
        _roundtrip(key)


def _pairs_counted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    assert len(out) == len(pairs), "a duplicate member name was accepted"
    return out


def _no_constant(name: str) -> Any:
    raise AssertionError(f"{name} was accepted")


def json_target(data: bytes) -> None:
    """The ``json`` target (see the module docstring)."""
    try:
        value = loads_object(data, "fuzz")
    except JSONRefused:
        return
    assert type(value) is dict
    # The standard library's reading of the same text is the reference.
    reference = json.loads(
        data.decode("utf-8"), object_pairs_hook=_pairs_counted, parse_constant=_no_constant
    )
    strict = json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True)
    assert strict == json.dumps(reference, ensure_ascii=False, allow_nan=False, sort_keys=True)
    strict.encode("utf-8")  # no lone surrogate
    assert all(math.isfinite(v) for v in _floats(value))


def _floats(value: Any) -> list[float]:
    out: list[float] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is float:
            out.append(item)
        elif type(item) is dict:
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return out


def _b64(segment: bytes) -> bytes:
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


def token_mutator(
    mutate: Callable[[bytes, int], bytes], data: bytes, max_size: int, seed: int
) -> bytes:
    """Mutate a token where the verifier reads it: libFuzzer's byte mutations of a base64
    segment rarely decode to JSON, so half the time one segment is decoded, its JSON mutated
    and encoded again (canonically); otherwise the raw token bytes are mutated."""
    parts = data.split(b".")
    if seed % 2 or len(parts) != 3:
        return mutate(data, max_size)
    index = (seed >> 1) % 2  # the header or the payload
    try:
        inner = _b64(parts[index])
    except ValueError:
        return mutate(data, max_size)
    budget = max(1, (max_size - len(data)) * 3 // 4 + len(inner))
    parts[index] = base64.urlsafe_b64encode(mutate(inner, budget)).rstrip(b"=")
    return b".".join(parts)[:max_size]


TARGETS: dict[str, Callable[[bytes], None]] = {
    "token": token_target,
    "jwk": jwk_target,
    "json": json_target,
}
# Custom mutators (atheris's custom_mutator), by target; given atheris.Mutate first.
MUTATORS: dict[str, Callable[[Callable[[bytes, int], bytes], bytes, int, int], bytes]] = {
    "token": token_mutator,
}
