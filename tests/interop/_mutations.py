"""Tokens for the differential tests: one valid token per algorithm and named mutations of it.

A mutation changes the header or the claims (and the token is signed again, so that only the
change is judged) or changes the compact form of the signed token itself (no new signature).
Each returns ``None`` where it does not apply to an algorithm (a signature with no unused bits
has no non-canonical encoding).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from jwtwarden._jose.b64 import b64url_encode
from jwtwarden._jose.sign import sign_segments

__all__ = ["AUD", "ISS", "MUTATIONS", "Mutation", "build"]

ISS = "https://issuer.diff.example"
AUD = "https://api.diff.example"

Header = dict[str, Any]
Claims = dict[str, Any]
# (header, claims, now) -> header and claims, each a dict or raw JSON bytes
Edit = Callable[[Header, Claims, int], tuple[Header | bytes, Claims | bytes]]
# (signed token) -> token, or None when the mutation does not apply
Reform = Callable[[str], str | None]


class Mutation:
    def __init__(self, name: str, edit: Edit | None = None, reform: Reform | None = None):
        self.name = name
        self.edit = edit
        self.reform = reform


def _seg(value: dict[str, Any] | bytes) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return b64url_encode(raw)


def build(mutation: Mutation, key: Any, now: int) -> str | None:
    """The token of ``mutation`` signed by ``key`` (a jwtwarden private ``Key``)."""
    header: Header = {"alg": key.alg, "kid": key.kid}
    claims: Claims = {"iss": ISS, "aud": AUD, "sub": "user-1", "iat": now - 10, "exp": now + 600}
    head: Header | bytes = header
    body: Claims | bytes = claims
    if mutation.edit is not None:
        head, body = mutation.edit(dict(header), dict(claims), now)
    token = sign_segments(_seg(head), _seg(body), key)
    return mutation.reform(token) if mutation.reform is not None else token


def _h(**members: Any) -> Edit:
    def edit(header: Header, claims: Claims, now: int) -> tuple[Header, Claims]:
        header.update(members)
        return {k: v for k, v in header.items() if v is not _DROP}, claims

    return edit


def _c(**members: Any) -> Edit:
    def edit(header: Header, claims: Claims, now: int) -> tuple[Header, Claims]:
        for name, value in members.items():
            claims[name] = value(now) if callable(value) else value
        return header, {k: v for k, v in claims.items() if v is not _DROP}

    return edit


def _raw_claims(template: str) -> Edit:
    """Claims written as raw JSON (duplicates, big numbers): ``{now}`` and the base claims."""

    def edit(header: Header, claims: Claims, now: int) -> tuple[Header, bytes]:
        base = f'"iss":"{ISS}","aud":"{AUD}","sub":"user-1","iat":{now - 10}'
        return header, ("{" + base + "," + template.replace("{now}", str(now)) + "}").encode()

    return edit


def _raw_header(template: str) -> Edit:
    def edit(header: Header, claims: Claims, now: int) -> tuple[bytes, Claims]:
        return template.replace("{alg}", header["alg"]).encode(), claims

    return edit


_DROP = object()


def _sig(change: Callable[[str], str | None]) -> Reform:
    def reform(token: str) -> str | None:
        head, payload, sig = token.split(".")
        out = change(sig)
        return None if out is None else f"{head}.{payload}.{out}"

    return reform


def _non_canonical(sig: str) -> str | None:
    # The last character of a 4k+2 / 4k+3 segment carries 4 / 2 unused bits: set one.
    rem = len(sig) % 4
    if rem not in (2, 3):
        return None
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return sig[:-1] + alphabet[alphabet.index(sig[-1]) | (1 if rem == 3 else 3)]


def _standard_alphabet(sig: str) -> str | None:
    changed = sig.replace("-", "+").replace("_", "/")
    return None if changed == sig else changed


def _json_serialization(token: str) -> str:
    head, payload, sig = token.split(".")
    return json.dumps({"protected": head, "payload": payload, "signature": sig})


def _flip(sig: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[0] ^= 1
    return b64url_encode(bytes(raw))


MUTATIONS = [
    Mutation("valid"),
    # --- header ---------------------------------------------------------------------------
    Mutation("typ JWT", _h(typ="JWT")),
    Mutation("typ unknown media type", _h(typ="application/example+jwt")),
    Mutation("kid absent", _h(kid=_DROP)),
    Mutation("kid unknown", _h(kid="no-such-key")),
    Mutation("kid null", _h(kid=None)),
    Mutation("kid number", _h(kid=7)),
    Mutation("alg lower case", lambda h, c, n: ({**h, "alg": h["alg"].lower()}, c)),
    Mutation("alg none", _h(alg="none")),
    Mutation("crit naming an unknown extension", _h(crit=["urn:example:ext"])),
    Mutation("crit empty", _h(crit=[])),
    Mutation("b64 false with crit", _h(b64=False, crit=["b64"])),
    Mutation("b64 true without crit", _h(b64=True)),
    Mutation("jku header", _h(jku="https://attacker.example/jwks.json")),
    Mutation("jwk header", _h(jwk={"kty": "oct", "k": "AAAA"})),
    Mutation("x5u header", _h(x5u="https://attacker.example/cert.pem")),
    Mutation("enc header (JWE member)", _h(enc="A256GCM")),
    Mutation("cty JWT (nested)", _h(cty="JWT")),
    Mutation("unknown header member", _h(example="x")),
    Mutation("header duplicate alg", _raw_header('{"alg":"{alg}","alg":"{alg}"}')),
    Mutation("header not an object", _raw_header('["{alg}"]')),
    # --- claims ---------------------------------------------------------------------------
    Mutation("exp in the past", _c(exp=lambda n: n - 100)),
    Mutation("exp a fraction", _c(exp=lambda n: n + 600.5)),
    Mutation("exp a numeric string", _c(exp=lambda n: str(n + 600))),
    Mutation("exp true", _c(exp=True)),
    Mutation("exp null", _c(exp=None)),
    Mutation("exp absent", _c(exp=_DROP)),
    Mutation("exp far future", _c(exp=10**15)),
    Mutation("exp beyond a double", _raw_claims('"exp":1e400')),
    Mutation("exp integer beyond a double", _raw_claims('"exp":1' + "0" * 400)),
    Mutation("exp duplicated", _raw_claims('"exp":{now}0,"exp":{now}0')),
    Mutation("nbf in the future", _c(nbf=lambda n: n + 100)),
    Mutation("nbf in the past", _c(nbf=lambda n: n - 100)),
    Mutation("nbf a string", _c(nbf="0")),
    Mutation("iat in the future", _c(iat=lambda n: n + 100)),
    Mutation("iat a string", _c(iat="0")),
    Mutation("iat absent", _c(iat=_DROP)),
    Mutation("aud a list with ours", _c(aud=["https://other.example", AUD])),
    Mutation("aud a list without ours", _c(aud=["https://other.example"])),
    Mutation("aud an empty list", _c(aud=[])),
    Mutation("aud a number", _c(aud=5)),
    Mutation("aud a list with a number", _c(aud=[AUD, 5])),
    Mutation("aud absent", _c(aud=_DROP)),
    Mutation("aud differs in case", _c(aud=AUD.upper())),
    Mutation("iss another", _c(iss="https://evil.example")),
    Mutation("iss with a trailing slash", _c(iss=ISS + "/")),
    Mutation("iss absent", _c(iss=_DROP)),
    Mutation("sub empty", _c(sub="")),
    Mutation("sub a number", _c(sub=5)),
    Mutation("sub absent", _c(sub=_DROP)),
    Mutation("jti a number", _c(jti=5)),
    Mutation("scope a list", _c(scope=["read"])),
    Mutation("client_id null", _c(client_id=None)),
    Mutation("claims unicode", _c(name="Zoë \U0001f600", note="\u202eevil")),
    Mutation("claim holding a lone surrogate", _raw_claims('"exp":{now}0,"x":"\\ud800"')),
    Mutation("claim beyond a double", _raw_claims('"exp":{now}0,"x":1e400')),
    Mutation("payload not an object", lambda h, c, n: (h, b"[1]")),
    # --- compact form ---------------------------------------------------------------------
    Mutation(
        "signature padded", reform=_sig(lambda s: s + "=" * (-len(s) % 4) if len(s) % 4 else None)
    ),
    Mutation("signature non-canonical", reform=_sig(_non_canonical)),
    Mutation("signature in the base64 alphabet", reform=_sig(_standard_alphabet)),
    Mutation("signature changed", reform=_sig(_flip)),
    Mutation("signature empty", reform=_sig(lambda s: "")),
    Mutation("whitespace inside", reform=lambda t: t[:20] + "\n" + t[20:]),
    Mutation("JWS JSON serialization", reform=_json_serialization),
    Mutation("five segments", reform=lambda t: t + ".AAAA.AAAA"),
]
