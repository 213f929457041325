"""The bugs the fuzz targets found, one named test each (the inputs are also in the corpus as
``regress-*``, replayed by test_fuzz.py)."""

from __future__ import annotations

import json

import pytest

from jwtwarden import KeySet, import_jwk
from jwtwarden._jose.sign import sign_segments
from jwtwarden._jose.strict_json import JSONRefused, loads_object
from jwtwarden.errors import InvalidKeyError, JWKSFetchError, MalformedTokenError
from jwtwarden.jwks._document import parse_jwks
from tests.fuzz.targets import _VERIFIERS, signing_keys


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1E+309", "123456789e999"])
def test_should_refuse_a_number_beyond_a_double_instead_of_reading_infinity(number: str) -> None:
    # atheris json target: {"":-1e400} was accepted as {"": -inf}, which json.dumps refuses.
    with pytest.raises(JSONRefused, match="out of a double's range"):
        loads_object(f'{{"x":{number}}}'.encode(), "payload")
    assert loads_object(b'{"x":1e308,"y":-0.0,"z":1e-400}', "payload") == {
        "x": 1e308,
        "y": -0.0,
        "z": 0.0,
    }


def test_should_refuse_a_token_whose_claim_overflows_a_double_as_malformed() -> None:
    from jwtwarden._jose.b64 import b64url_encode

    key = signing_keys()["HS256"]
    head = b64url_encode(json.dumps({"alg": "HS256", "kid": key.kid, "typ": "at+jwt"}).encode())
    body = b64url_encode(b'{"iss":"x","weight":1e400}')
    with pytest.raises(MalformedTokenError, match="double"):
        _VERIFIERS[0].verify(sign_segments(head, body, key))


@pytest.mark.parametrize("kty", [[], {}, ["EC"], {"EC": 1}])
def test_should_refuse_a_jwk_whose_kty_is_not_a_string_as_invalid_key(kty: object) -> None:
    # atheris jwk target: {"kty": {...}} raised TypeError (unhashable) out of import_jwk.
    with pytest.raises(InvalidKeyError, match="unsupported kty"):
        import_jwk({"kty": kty, "alg": "ES256"})
    with pytest.raises(InvalidKeyError, match="unsupported kty"):
        KeySet.from_jwks(json.dumps({"keys": [{"kty": kty}]}))
    with pytest.raises(JWKSFetchError, match="no usable signing key"):
        parse_jwks(json.dumps({"keys": [{"kty": kty}]}).encode(), algorithm=None, source="t")
