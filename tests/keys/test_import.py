"""Key import: strength floors, one algorithm per key, and key sets that cannot confuse.

Every refusal is a ``KeyRejectedError`` (``weak_key`` or ``invalid_key``) at load time, so a bad
key never reaches a verifier.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from jwtwarden import KeyRejectedError, KeySet, import_jwk, import_pem
from jwtwarden._jose.sign import sign_compact
from jwtwarden.errors import InvalidKeyError, WeakKeyError
from tests._verify_support import b64, key_for


def _rejected(data: Any, **kw: Any) -> KeyRejectedError:
    with pytest.raises(KeyRejectedError) as info:
        import_jwk(data, **kw)
    return info.value


def _int_b64(n: int) -> str:
    return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def _rsa_jwk(bits: int = 2048, e: int = 65537, **extra: Any) -> dict[str, Any]:
    pub = key_for("RS256").public_jwk() if bits == 2048 else None
    if pub is None:
        native = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
        n = native.public_numbers().n
        pub = {"kty": "RSA", "n": _int_b64(n), "e": "AQAB"}
    jwk = {"kty": "RSA", "n": pub["n"], "e": _int_b64(e), "alg": "RS256"}
    jwk.update(extra)
    return jwk


def _es_jwk(**extra: Any) -> dict[str, Any]:
    jwk = dict(key_for("ES256").public_jwk())
    jwk.pop("kid")
    jwk.update(extra)
    return jwk


# --- HMAC -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "size"), [("HS256", 31), ("HS256", 16), ("HS256", 1), ("HS384", 47), ("HS512", 63)]
)
def test_should_refuse_an_hmac_secret_shorter_than_its_hash(alg: str, size: int) -> None:
    secret = bytes(range(1, size + 1))
    err = _rejected({"kty": "oct", "k": b64(secret), "alg": alg})
    assert err.code == "weak_key"


def test_should_refuse_a_placeholder_secret_of_repeated_bytes() -> None:
    assert _rejected({"kty": "oct", "k": b64(b"a" * 64), "alg": "HS256"}).code == "weak_key"
    assert _rejected({"kty": "oct", "k": b64(b"ab" * 32), "alg": "HS256"}).code == "weak_key"


def test_should_refuse_an_empty_hmac_secret() -> None:
    assert _rejected({"kty": "oct", "k": "", "alg": "HS256"}).code in {"invalid_key", "weak_key"}


def test_should_import_a_strong_hmac_secret() -> None:
    key = import_jwk({"kty": "oct", "k": b64(bytes(range(32))), "alg": "HS256", "kid": "h"})
    assert (key.alg, key.kid, key.is_symmetric) == ("HS256", "h", True)


# --- RSA --------------------------------------------------------------------------------------


def test_should_refuse_a_1024_bit_rsa_key() -> None:
    assert _rejected(_rsa_jwk(bits=1024)).code == "weak_key"


@pytest.mark.parametrize("e", [1, 2, 65536, 4])
def test_should_refuse_an_rsa_exponent_that_is_one_or_even(e: int) -> None:
    # e = 1 makes every message its own signature; an even e is not an RSA key at all.
    assert _rejected(_rsa_jwk(e=e)).code == "invalid_key"


def test_should_refuse_an_rsa_key_with_the_roca_fingerprint_cve_2017_15361(
    wycheproof_dir: Path,
) -> None:
    data = json.loads((wycheproof_dir / "json_web_key_test.json").read_text())
    group = next(g for g in data["testGroups"] if g["comment"] == "jws_rsa_roca_key")
    jwk = group["public"]["keys"][0]
    assert _rejected(jwk).code == "weak_key"


def test_should_refuse_a_1024_bit_rsa_pem_too() -> None:
    native = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = native.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(WeakKeyError):
        import_pem(pem, algorithm="RS256")


# --- EC / OKP ---------------------------------------------------------------------------------


def test_should_refuse_an_ec_point_off_its_curve_invalid_curve_attack() -> None:
    # A point not on P-256 lets an attacker learn a private key through ECDH-style small
    # subgroup tricks; cryptography checks the point when the key is loaded.
    jwk = _es_jwk()
    assert import_jwk(jwk).alg == "ES256"
    y = int.from_bytes(base64.urlsafe_b64decode(jwk["y"] + "=="), "big")
    bent = {**jwk, "y": b64((y ^ 1).to_bytes(32, "big"))}
    assert _rejected(bent).code == "invalid_key"


@pytest.mark.parametrize(
    ("alg", "crv"), [("ES256", "P-384"), ("ES384", "P-256"), ("ES512", "P-256")]
)
def test_should_refuse_a_curve_that_is_not_the_algorithm_s(alg: str, crv: str) -> None:
    native = ec.generate_private_key(
        {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}[crv]
    ).public_key()
    nums = native.public_numbers()
    size = {"P-256": 32, "P-384": 48}[crv]
    jwk = {
        "kty": "EC",
        "crv": crv,
        "alg": alg,
        "x": b64(nums.x.to_bytes(size, "big")),
        "y": b64(nums.y.to_bytes(size, "big")),
    }
    assert _rejected(jwk).code == "invalid_key"


def test_should_refuse_an_ed448_key_pinned_to_ed25519() -> None:
    ed448 = key_for("Ed448").public_jwk()
    assert _rejected({**ed448, "alg": "Ed25519"}).code == "invalid_key"


# --- use, key_ops, alg ------------------------------------------------------------------------


def test_should_refuse_a_key_for_encryption() -> None:
    assert _rejected(_es_jwk(use="enc")).code == "invalid_key"


@pytest.mark.parametrize("ops", [["encrypt"], ["decrypt", "wrapKey"], [], "sign"])
def test_should_refuse_key_ops_that_allow_neither_sign_nor_verify(ops: Any) -> None:
    assert _rejected(_es_jwk(key_ops=ops)).code == "invalid_key"


def test_should_import_key_ops_that_allow_verify() -> None:
    assert import_jwk(_es_jwk(key_ops=["verify"])).alg == "ES256"


def test_should_refuse_a_key_without_alg_unless_the_caller_names_it() -> None:
    jwk = _es_jwk()
    jwk.pop("alg")
    assert _rejected(jwk).code == "invalid_key"
    assert import_jwk(jwk, algorithm="ES256").alg == "ES256"


def test_should_refuse_a_key_whose_alg_disagrees_with_the_named_algorithm() -> None:
    assert _rejected(_es_jwk(), algorithm="ES384").code == "invalid_key"


@pytest.mark.parametrize(
    ("jwk_alg", "kty_source"),
    [
        ("HS256", "EC"),
        ("RS256", "EC"),
        ("ES256", "RSA"),
        ("EdDSA", "EC"),
        ("none", "EC"),
        ("A256GCM", "EC"),
        ("RSA-OAEP", "RSA"),
    ],
)
def test_should_refuse_an_alg_that_does_not_fit_the_key_type(jwk_alg: str, kty_source: str) -> None:
    base = _es_jwk() if kty_source == "EC" else _rsa_jwk()
    assert _rejected({**base, "alg": jwk_alg}).code == "invalid_key"


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        "[1, 2]",
        {"kty": "XYZ", "alg": "ES256"},
        {"alg": "ES256"},
        {"kty": "EC", "crv": "P-256", "x": 1, "y": "AA", "alg": "ES256"},
        {"kty": "EC", "crv": "P-256", "x": "AA==", "y": "AA", "alg": "ES256"},
        {"kty": "EC", "crv": "P-256", "x": "a+b/", "y": "AA", "alg": "ES256"},
        {"kty": "RSA", "alg": "RS256"},
    ],
)
def test_should_refuse_malformed_jwks_with_invalid_key(data: Any) -> None:
    assert _rejected(data).code == "invalid_key"


@pytest.mark.parametrize("kid", ["", "k" * 257, 7, ["a"]])
def test_should_refuse_a_kid_that_is_empty_too_long_or_not_a_string(kid: Any) -> None:
    assert _rejected(_es_jwk(kid=kid)).code == "invalid_key"


def test_should_default_kid_to_the_rfc7638_thumbprint() -> None:
    key = import_jwk(_es_jwk())
    assert key.kid == key.thumbprint()


# --- key sets ---------------------------------------------------------------------------------


def test_should_refuse_a_key_set_that_mixes_hmac_and_asymmetric_keys() -> None:
    # Wycheproof jws_mixedSymmetryKeyset: how a public key ends up used as an HMAC secret.
    with pytest.raises(InvalidKeyError):
        KeySet([key_for("HS256"), key_for("ES256").public_key()])
    jwks = {"keys": [key_for("ES256").public_jwk(), key_for("HS256").export_private_jwk()]}
    with pytest.raises(KeyRejectedError):
        KeySet.from_jwks(json.dumps(jwks))


def test_should_refuse_a_key_set_with_a_duplicate_kid() -> None:
    a = key_for("ES256", "a").public_jwk()
    b = {**key_for("ES256", "b").public_jwk(), "kid": a["kid"]}
    with pytest.raises(InvalidKeyError):
        KeySet.from_jwks({"keys": [a, b]})


@pytest.mark.parametrize("data", ['{"keys": {}}', '{"keys": "x"}', "[]", "nope"])
def test_should_refuse_a_jwk_set_that_is_not_a_set(data: str) -> None:
    with pytest.raises(InvalidKeyError):
        KeySet.from_jwks(data)


def test_should_refuse_a_whole_set_when_one_key_is_weak() -> None:
    good = key_for("RS256").public_jwk()
    weak = {**_rsa_jwk(bits=1024), "kid": "weak"}
    with pytest.raises(WeakKeyError):
        KeySet.from_jwks({"keys": [good, weak]})


def test_should_refuse_non_key_objects_in_a_key_set() -> None:
    with pytest.raises(TypeError):
        KeySet([key_for("ES256").public_jwk()])  # type: ignore[list-item]


# --- PEM ----------------------------------------------------------------------------------------


def test_should_import_a_pem_public_key_pinned_to_the_named_algorithm(tmp_path: Path) -> None:
    native = key_for("ES256").jwk.public_key
    pem = native.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = import_pem(pem, algorithm="ES256", kid="pem-1")
    assert (key.alg, key.kid, key.is_private) == ("ES256", "pem-1", False)
    path = tmp_path / "key.pem"
    path.write_bytes(pem)
    with pytest.raises(InvalidKeyError):
        KeySet.from_file(str(path))  # PEM carries no algorithm: the caller must name it
    assert KeySet.from_file(str(path), algorithm="ES256").algorithms == frozenset({"ES256"})


@pytest.mark.parametrize(
    ("alg", "pem_of"),
    [("HS256", "ES256"), ("RS256", "ES256"), ("ES256", "RS256"), ("ES384", "ES256")],
)
def test_should_refuse_a_pem_key_for_the_wrong_algorithm(alg: str, pem_of: str) -> None:
    native = key_for(pem_of).jwk.public_key
    pem = native.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidKeyError):
        import_pem(pem, algorithm=alg)


def test_should_refuse_garbage_pem() -> None:
    with pytest.raises(InvalidKeyError):
        import_pem(
            b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", algorithm="ES256"
        )


# --- a pinned key signs only with its own algorithm ----------------------------------------


def test_should_sign_only_with_the_key_s_own_algorithm_and_kid() -> None:
    key = key_for("ES256")
    token = sign_compact({"alg": "HS256", "kid": "other"}, {"sub": "x"}, key)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "ES256", "kid": key.kid}


def test_should_refuse_to_pickle_a_key() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(key_for("HS256"))


def test_should_keep_secret_material_out_of_repr() -> None:
    key = key_for("HS256")
    assert repr(key).startswith(f"Key(kid={key.kid!r}, alg='HS256', ")
    assert key.export_private_jwk()["k"] not in repr(key)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA", "RS256"])
def test_should_check_a_granted_operation_once_and_a_refused_one_every_time(
    alg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from joserfc.errors import UnsupportedKeyOperationError
    from joserfc.jwk import ECKey, OKPKey, RSAKey

    base = {"ES256": ECKey, "EdDSA": OKPKey, "RS256": RSAKey}[alg]
    checks: list[str] = []
    real = base.check_key_op

    def counting(self: Any, operation: str) -> None:
        checks.append(operation)
        real(self, operation)

    monkeypatch.setattr(base, "check_key_op", counting)
    private = import_jwk(key_for(alg).export_private_jwk())
    public = private.public_key()
    for _ in range(3):
        assert private.jwk.get_op_key("sign") is private.jwk.raw_value
        with pytest.raises(UnsupportedKeyOperationError):
            public.jwk.get_op_key("sign")
    assert checks == ["sign"] * 4  # once for the private key, every time for the public one


def test_should_check_the_raw_members_of_every_kty_it_imports() -> None:
    # import_jwk runs one member check per kty before joserfc sees the key: a kty added to
    # the importable ones without its check would reach joserfc unchecked.
    from jwtwarden.keys._jwk_members import _MEMBER_CHECKS, PRIVATE_MEMBERS, PUBLIC_MEMBERS
    from jwtwarden.keys.key import JOSERFC_KEY_CLASSES

    assert set(_MEMBER_CHECKS) == set(JOSERFC_KEY_CLASSES) == {"oct", "RSA", "EC", "OKP"}
    assert set(PUBLIC_MEMBERS) == set(PRIVATE_MEMBERS) == set(JOSERFC_KEY_CLASSES)
