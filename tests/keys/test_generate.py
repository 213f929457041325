"""Key generation: the strength floors hold for every algorithm and cannot be turned off."""

from __future__ import annotations

import pytest

from jwtwarden import generate_key
from jwtwarden._jose.algorithms import ALGORITHMS
from jwtwarden.errors import WeakKeyError
from jwtwarden.keys.generate import DEFAULT_ALGORITHM, DEFAULT_RSA_BITS
from jwtwarden.keys.key import import_jwk

HMAC_BITS = {"HS256": 256, "HS384": 384, "HS512": 512}
CURVES = {
    "ES256": "P-256",
    "ES384": "P-384",
    "ES512": "P-521",
    "Ed25519": "Ed25519",
    "EdDSA": "Ed25519",
    "Ed448": "Ed448",
}


def test_should_default_to_es256() -> None:
    assert DEFAULT_ALGORITHM == "ES256"
    assert generate_key().alg == "ES256"


@pytest.mark.parametrize(("alg", "bits"), sorted(HMAC_BITS.items()))
def test_should_generate_hmac_secrets_as_long_as_the_hash(alg: str, bits: int) -> None:
    key = generate_key(alg)
    assert len(key.jwk.raw_value) * 8 == bits
    assert generate_key(alg).jwk.raw_value != key.jwk.raw_value  # fresh CSPRNG output


@pytest.mark.parametrize("alg", ["RS256", "PS384"])
def test_should_generate_3072_bit_rsa_keys_by_default(alg: str) -> None:
    assert DEFAULT_RSA_BITS == 3072
    key = generate_key(alg)
    assert key.jwk.private_key.key_size == 3072
    assert key.jwk.public_key.public_numbers().e == 65537


@pytest.mark.parametrize("bits", [512, 1024, 2047])
def test_should_refuse_rsa_keys_under_2048_bits(bits: int) -> None:
    with pytest.raises(WeakKeyError):
        generate_key("RS256", rsa_bits=bits)


@pytest.mark.parametrize(("alg", "curve"), sorted(CURVES.items()))
def test_should_generate_curve_keys_on_the_algorithm_s_curve(alg: str, curve: str) -> None:
    assert generate_key(alg).jwk.curve_name == curve


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
def test_should_generate_keys_that_pass_the_import_floors_for_every_algorithm(alg: str) -> None:
    key = generate_key(alg, token_use="access", environment="production", rsa_bits=2048)
    again = import_jwk(key.export_private_jwk(), token_use="access", environment="production")
    assert (again.alg, again.kid, again.token_use, again.environment) == (
        alg,
        key.kid,
        "access",
        "production",
    )
    assert key.is_private


@pytest.mark.parametrize("alg", ["ES256", "HS256", "EdDSA"])
def test_should_default_the_kid_to_the_rfc7638_thumbprint(alg: str) -> None:
    key = generate_key(alg)
    assert key.kid == key.thumbprint()
    assert generate_key(alg, kid="mine").kid == "mine"


def test_should_refuse_none_and_unknown_algorithms() -> None:
    for alg in ("none", "HS1", "RS128"):
        with pytest.raises(ValueError):
            generate_key(alg)


def test_should_keep_private_material_out_of_repr() -> None:
    key = generate_key("HS256")
    secret = key.export_private_jwk()["k"]
    # The repr is the key's (it names it), and it leaves the secret out.
    assert (
        repr(key)
        == str(key)
        == (f"Key(kid={key.kid!r}, alg='HS256', use=None, environment=None, private)")
    )
    assert secret not in repr(key)


def test_should_refuse_to_generate_an_rsa_key_larger_than_the_import_cap() -> None:
    from jwtwarden.keys.strength import MAX_RSA_BITS

    with pytest.raises(ValueError):
        generate_key("RS256", rsa_bits=MAX_RSA_BITS + 8)
