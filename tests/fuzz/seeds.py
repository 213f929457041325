"""Write the seed corpus (tests/fuzz/corpus/TARGET/): ``python -m tests.fuzz.seeds``.

The files are committed; this only says where they came from. Seeds are valid inputs and near
misses of each shape the targets understand, so that the fuzzer starts deep in the code. The
token seeds are signed with the fixed HMAC test key of targets.py (they verify in every run);
the ES256 and EdDSA ones are re-signed by the target anyway. Regression inputs (crashes found
and fixed) are added to the same folders by hand, named ``regress-*``, and never rewritten.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jwtwarden import generate_key
from jwtwarden._jose.b64 import b64url_encode
from jwtwarden._jose.sign import sign_segments

from .targets import AUD, ISS, NONCE, NOW, signing_keys

CORPUS = Path(__file__).resolve().parent / "corpus"


def _seg(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return b64url_encode(raw)


def _token(header: Any, claims: Any, alg: str = "HS256") -> bytes:
    key = signing_keys()[alg]
    if isinstance(header, dict):
        header = {"alg": alg, "kid": key.kid, **header}
    return sign_segments(_seg(header), _seg(claims), key).encode()


def _claims(**extra: Any) -> dict[str, Any]:
    base = {"iss": ISS, "aud": AUD, "sub": "user-1", "iat": NOW - 10, "exp": NOW + 300}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def token_seeds() -> list[bytes]:
    access = _claims(jti="j-1", client_id="c-1", scope="read write")
    out = [
        _token({"typ": "at+jwt"}, access),
        _token({"typ": "application/AT+JWT"}, {**access, "aud": [AUD, "x"]}),
        _token({"typ": "JWT"}, _claims(nonce=NONCE, azp="c-1", amr=["pwd"], auth_time=NOW - 5)),
        _token({}, _claims(nonce=NONCE)),
        _token({"typ": "JWT"}, _claims(jti="j-2"), "ES256"),
        _token({"typ": "JWT", "jku": "https://x.example/jwks"}, _claims(jti="revoked"), "EdDSA"),
        _token({"typ": "JWT", "x5c": ["MIIB"]}, _claims(sub="gone", nbf=NOW + 1), "ES256"),
        _token({"typ": "at+jwt", "crit": ["exp"], "exp": 1}, access),
        _token({"typ": "at+jwt", "b64": False, "crit": ["b64"]}, access),
        _token({"typ": "at+jwt", "cty": "JWT"}, access),
        _token({"typ": "at+jwt", "enc": "A128GCM"}, access),
        _token({"typ": "at+jwt", "kid": "k" * 300}, access),
        _token({"typ": "at+jwt", "kid": None}, access),
        _token({"typ": "at+jwt"}, {**access, "exp": 1e400, "nbf": -0.0, "iat": 10**30}),
        _token({"typ": "at+jwt"}, {**access, "aud": [], "sub": "", "jti": 5}),
        _token({"typ": "at+jwt"}, {**access, "cnf": {"jkt": "x"}, "act": [], "sid": None}),
        _token({"typ": "at+jwt"}, b'{"iss":"a","iss":"b"}'),
        _token({"typ": "at+jwt"}, '{"sub":"\\ud800","s":"é\\u00e9\U0001f600"}'.encode()),
        _token(b'{"alg":"none"}', access),
        _token(b'{"alg":"HS256","alg":"none"}', access),
        _token({"typ": "at+jwt"}, b"[1,2]"),
        _token({"typ": "at+jwt"}, b""),
    ]
    valid = out[0].decode()
    head, payload, sig = valid.split(".")
    out += [
        f"{head}.{payload}.{sig}=".encode(),
        f"{head}.{payload}.{sig[:-1]}B".encode(),
        f"{head} .{payload}.{sig}".encode(),
        f"{head}.{payload}.{sig}.{sig}.{sig}".encode(),
        json.dumps({"protected": head, "payload": payload, "signature": sig}).encode(),
        valid.replace("-", "+").replace("_", "/").encode(),
        b"eyJhbGciOiJub25lIn0.e30.",
    ]
    return out


def jwk_seeds() -> list[bytes]:
    keys = [
        generate_key(alg, kid=f"seed-{alg}", rsa_bits=2048)
        for alg in ("RS256", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed448")
    ]
    public = [k.public_jwk() for k in keys]
    hs = generate_key("HS384", kid="seed-hs384").export_private_jwk()
    out: list[Any] = [
        *public,
        {"keys": public},
        {"keys": [public[2], {**public[3], "use": "enc"}, {"kty": "oct", "k": "AAAA"}]},
        keys[2].export_private_jwk(),
        keys[5].export_private_jwk(),
        hs,
        {**hs, "alg": "RS256"},
        {**public[2], "key_ops": ["encrypt"]},
        {**public[2], "alg": None},
        {**public[0], "e": "AQ"},
        {"kty": "RSA", "n": public[0]["n"], "e": "AQAB", "d": "AQAB"},
        {"keys": [public[2], public[2]]},
        {"keys": [public[4], hs]},
        {"kty": "EC", "crv": "P-256", "x": public[2]["x"], "y": public[2]["x"], "alg": "ES256"},
    ]
    return [json.dumps(item, separators=(",", ":")).encode() for item in out]


def json_seeds() -> list[bytes]:
    return [
        b'{"a":1,"b":[true,false,null],"c":{"d":"e"}}',
        b'{"n":-0.5e-3,"i":123456789012345678901234567890,"f":1.5E+2}',
        '{"u":"\\u00e9\\ud83d\\ude00é","k":"\\ud800"}'.encode(),
        b'{"a":1,"a":2}',
        b'{"x":NaN,"y":Infinity}',
        b' {"w":"space"} ',
        b'{"deep":' + b"[" * 50 + b"]" * 50 + b"}",
        b'\xef\xbb\xbf{"bom":1}',
        b'{"z":"\x00"}',
    ]


def main() -> None:
    for target, seeds in (("token", token_seeds()), ("jwk", jwk_seeds()), ("json", json_seeds())):
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("seed-*"):
            old.unlink()
        for data in seeds:
            (folder / f"seed-{hashlib.sha1(data).hexdigest()[:16]}").write_bytes(data)
        print(f"{target}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
