"""``KeySet.from_secret`` / ``from_pem`` (strength floors kept) and JWK Sets whose keys carry
no ``alg`` (Entra ID publishes such sets): pinned when exactly one allowed algorithm fits the
key's type, refused as ambiguous otherwise."""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from jwtwarden import KeySet
from jwtwarden.errors import AmbiguousKeyError, InvalidKeyError, WeakKeyError
from jwtwarden.jwks._document import parse_jwks
from tests._verify_support import key_for


def _without_alg(*algs: str) -> dict[str, Any]:
    keys = []
    for i, alg in enumerate(algs):
        jwk = key_for(alg, name=f"k{i}").public_jwk()
        jwk.pop("alg")
        keys.append(jwk)
    return {"keys": keys}


def test_should_build_a_set_from_a_secret_pinned_to_hs256_by_default():
    keys = KeySet.from_secret(os.urandom(32))
    assert keys.algorithms == frozenset({"HS256"})


def test_should_keep_the_hmac_floor_in_from_secret():
    with pytest.raises(WeakKeyError):
        KeySet.from_secret(os.urandom(31))
    with pytest.raises(WeakKeyError):
        KeySet.from_secret(os.urandom(32), algorithm="HS512")
    with pytest.raises(WeakKeyError):
        KeySet.from_secret(b"a" * 64)


def test_should_refuse_a_non_hmac_algorithm_for_a_secret():
    with pytest.raises(InvalidKeyError, match="not an HMAC algorithm"):
        KeySet.from_secret(os.urandom(32), algorithm="RS256")


def test_should_build_a_set_from_a_pem_public_key():
    key = key_for("ES256")
    pem = (
        key.public_key()
        .jwk.get_op_key("verify")
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    assert KeySet.from_pem(pem, algorithm="ES256").algorithms == frozenset({"ES256"})
    with pytest.raises(InvalidKeyError):
        KeySet.from_pem(pem, algorithm="RS256")


def test_should_pin_alg_less_keys_to_the_one_allowed_algorithm_their_type_fits():
    keys = KeySet.from_jwks(_without_alg("RS256", "ES256"), algorithm=["RS256", "ES256"])
    assert sorted(k.alg for k in keys) == ["ES256", "RS256"]


def test_should_pin_an_ec_key_by_its_curve():
    keys = KeySet.from_jwks(_without_alg("ES384"), algorithm=["ES256", "ES384"])
    assert [k.alg for k in keys] == ["ES384"]


def test_should_refuse_an_rsa_key_without_alg_when_two_rsa_algorithms_are_allowed():
    with pytest.raises(AmbiguousKeyError, match="ambiguous") as caught:
        KeySet.from_jwks(_without_alg("RS256"), algorithm=["RS256", "RS384"])
    assert caught.value.code == "ambiguous_key"
    assert isinstance(caught.value, InvalidKeyError)  # existing handlers still catch it
    with pytest.raises(AmbiguousKeyError, match="ambiguous"):
        KeySet.from_jwks(_without_alg("RS256"), algorithm=["RS256", "PS256"])


def test_should_refuse_an_alg_less_key_no_allowed_algorithm_fits():
    with pytest.raises(InvalidKeyError, match="no allowed algorithm"):
        KeySet.from_jwks(_without_alg("RS256"), algorithm=["ES256"])


def test_should_keep_a_keys_own_alg_whatever_the_allowed_list():
    jwk = key_for("PS256").public_jwk()
    keys = KeySet.from_jwks({"keys": [jwk]}, algorithm=["RS256", "PS256"])
    assert [k.alg for k in keys] == ["PS256"]


def test_should_drop_an_ambiguous_key_from_a_fetched_set_and_keep_the_others():
    document = _without_alg("RS256", "ES256")
    import json

    parsed = parse_jwks(
        json.dumps(document).encode(), algorithm=("ES256", "PS256", "RS256"), source="test"
    )
    assert [k.alg for k in parsed.keys] == ["ES256"]
    assert parsed.dropped == 1
