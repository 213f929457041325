"""Hostile keys: JWKs and PEM files that are malformed, ambiguous or built to cost CPU."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from typer.testing import CliRunner

from jwtwarden import KeySet, generate_key, import_jwk, import_pem
from jwtwarden.cli import app as cli
from jwtwarden.errors import InvalidKeyError, KeyRejectedError
from tests._verify_support import access_claims, key_for, sign, verifier


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@pytest.mark.parametrize("bits", [16392, 65536])
def test_should_refuse_an_rsa_modulus_over_16384_bits_that_only_slows_verification(
    bits: int,
) -> None:
    # A published key with a huge modulus is a CPU denial of service on every verification.
    n = (1 << (bits - 1)) | (1 << 100) | 1
    with pytest.raises(InvalidKeyError, match="16384"):
        import_jwk({"kty": "RSA", "alg": "RS256", "n": _int(n), "e": "AQAB"})


@pytest.mark.parametrize("member", ["x", "y"])
@pytest.mark.parametrize("change", ["zero_padded", "truncated"])
def test_should_refuse_ec_coordinates_that_are_not_the_full_curve_length(
    member: str, change: str
) -> None:
    # RFC 7518 6.2.1.2: the full coordinate length. A padded coordinate names the same point
    # under another string (another thumbprint, and parsers that disagree).
    jwk = dict(key_for("ES256").public_jwk())
    raw = _unb64(jwk[member])
    jwk[member] = _b64(b"\x00" + raw) if change == "zero_padded" else _b64(raw[1:])
    with pytest.raises(InvalidKeyError):
        import_jwk(jwk)


def test_should_refuse_an_okp_key_whose_x_is_not_the_public_half_of_its_d() -> None:
    # joserfc derives the key from "d" and keeps "x" for export: such a JWK would publish one
    # key and verify with another.
    jwk = {
        **generate_key("Ed25519").public_jwk(),
        "d": generate_key("Ed25519").export_private_jwk()["d"],
    }
    with pytest.raises(InvalidKeyError, match="'x'"):
        import_jwk(jwk)


def test_should_still_import_a_consistent_private_okp_key() -> None:
    key = generate_key("Ed25519")
    again = import_jwk(key.export_private_jwk())
    assert again.is_private and again.public_jwk()["x"] == key.public_jwk()["x"]


def _pem(key: Any) -> bytes:
    return bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@pytest.fixture(scope="module")
def two_rsa_keys() -> tuple[Any, Any]:
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


def test_should_refuse_a_pem_file_holding_several_keys(two_rsa_keys: tuple[Any, Any]) -> None:
    # Which one would be trusted (the first, the private one, the certificate) is up to the
    # parser: refuse the ambiguity.
    first, second = two_rsa_keys
    private = second.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    for data in (_pem(first) + _pem(second), _pem(first) + private):
        with pytest.raises(InvalidKeyError, match="several"):
            import_pem(data, algorithm="RS256")
    assert import_pem(_pem(first), algorithm="RS256").alg == "RS256"


def test_should_refuse_a_deeply_nested_jwk_set_with_a_key_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(InvalidKeyError):
        KeySet.from_jwks(deep)
    with pytest.raises(InvalidKeyError):
        import_jwk(deep)


@pytest.mark.parametrize("with_algorithm", [False, True])
def test_should_exit_2_not_crash_on_a_deeply_nested_jwks_file(
    tmp_path: Path, with_algorithm: bool
) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    args = ["verify", "--jwks", str(path), "--issuer", "i", "--audience", "a", "x.y.z"]
    if with_algorithm:
        args += ["--algorithm", "ES256"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "k": "", "alg": "HS256"},
        {"kty": "oct", "alg": "HS256"},
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "alg": "ES256"},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB", "alg": "RS256"},
        {"kty": "RSA", "n": _int((1 << 2047) | 1), "e": "AQ", "alg": "RS256"},  # e = 1
        {"kty": "EC", "crv": "P-256", "x": 1, "y": 2, "alg": "ES256"},
        {"kty": "OKP", "crv": "Ed25519", "x": "AA", "alg": "EdDSA"},
    ],
)
def test_should_refuse_broken_keys_with_a_key_error(jwk: dict[str, Any]) -> None:
    with pytest.raises(KeyRejectedError):
        import_jwk(json.dumps(jwk))


def test_should_never_publish_private_members_even_for_a_jwk_imported_with_them() -> None:
    key = import_jwk(generate_key("ES256").export_private_jwk())
    keys = KeySet([key])
    published = json.dumps(keys.public_jwks())
    (jwk,) = json.loads(published)["keys"]  # the key is published, as its public half
    assert (jwk["kid"], jwk["kty"], jwk["crv"]) == (key.kid, "EC", "P-256") and jwk["x"]
    assert '"d"' not in published and "d" not in jwk
    token = sign(access_claims(), key)
    assert verifier(key).verify(token).claims["sub"] == "user-1"


@pytest.mark.parametrize("kid", ["\x1b[2Jk1", "k1\n", "k\u202e1", "k\ud8001", "k\x001"])
def test_should_refuse_a_kid_that_would_drive_a_terminal_or_break_an_encoder(kid: str) -> None:
    # Imported kids are printed by `keys list` and used in key-store file names.
    with pytest.raises(InvalidKeyError, match="printable"):
        import_jwk({**key_for("ES256").public_jwk(), "kid": kid})


def test_should_refuse_a_private_rsa_jwk_with_d_alone_instead_of_recovering_its_primes() -> None:
    full = generate_key("RS256", rsa_bits=2048).export_private_jwk()
    d_only = {k: v for k, v in full.items() if k not in ("p", "q", "dp", "dq", "qi")}
    with pytest.raises(InvalidKeyError):
        import_jwk(d_only)
    assert import_jwk(full).is_private
