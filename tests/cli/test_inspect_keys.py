"""``jwtwarden inspect`` / ``verify`` key options (issue 17): a signature-only check with keys
and no issuer/audience, ``--secret-file`` and ``--pem``, and an alg-less JWK Set with several
``--algorithm`` options."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from typer.testing import CliRunner

from jwtwarden import KeySet, generate_key
from jwtwarden._jose.sign import sign_compact
from tests._verify_support import key_for

ISS = "https://issuer.example"
AUD = "https://api.example"
runner = CliRunner()


def _claims() -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISS, "aud": AUD, "sub": "u1", "iat": now, "exp": now + 600, "jti": "j1"}


def _run(*args: str) -> Any:
    from jwtwarden.cli import app

    return runner.invoke(app, list(args))


def test_should_check_the_signature_alone_given_keys_without_issuer_or_audience(tmp_path: Path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(KeySet([key_for("ES256").public_key()]).public_jwks()))
    good = sign_compact({}, _claims(), key_for("ES256"))
    result = _run("inspect", good, "--jwks", str(jwks), "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    checks = {c["step"]: c for c in doc["checks"]}
    assert checks["signature"]["passed"] is True
    assert checks["claims"]["passed"] is None and "--issuer" in checks["claims"]["detail"]
    forged = sign_compact({}, _claims(), generate_key("ES256", kid=key_for("ES256").kid))
    refused = _run("inspect", forged, "--jwks", str(jwks), "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["error"] == "bad_signature"


def test_should_take_an_hmac_secret_from_a_file(tmp_path: Path):
    secret = os.urandom(32)
    (tmp_path / "secret").write_bytes(secret)
    keys = KeySet.from_secret(secret)
    token = sign_compact({}, _claims(), next(iter(keys)))
    ok = _run("inspect", token, "--secret-file", str(tmp_path / "secret"), "--json")
    assert ok.exit_code == 0, ok.stderr
    verified = _run(
        "verify", token, "--secret-file", str(tmp_path / "secret"), "--issuer", ISS,
        "--audience", AUD,
    )  # fmt: skip
    assert verified.exit_code == 0 and json.loads(verified.stdout)["valid"] is True
    (tmp_path / "short").write_bytes(os.urandom(16))
    weak = _run("inspect", token, "--secret-file", str(tmp_path / "short"))
    assert weak.exit_code == 2 and "weak_key" in weak.stderr


def test_should_take_a_pem_public_key(tmp_path: Path):
    key = key_for("ES256")
    pem = (
        key.public_key()
        .jwk.get_op_key("verify")
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    (tmp_path / "key.pem").write_bytes(pem)
    token = sign_compact({}, _claims(), key)
    ok = _run("inspect", token, "--pem", str(tmp_path / "key.pem"), "--algorithm", "ES256")
    assert ok.exit_code == 0, ok.stderr
    unnamed = _run("inspect", token, "--pem", str(tmp_path / "key.pem"))
    assert unnamed.exit_code == 2 and "--algorithm" in unnamed.stderr


def test_should_refuse_two_key_sources_naming_both(tmp_path: Path):
    (tmp_path / "s").write_bytes(os.urandom(32))
    result = _run("inspect", "a.b.c", "--secret-file", str(tmp_path / "s"), "--jwks", "x.json")
    assert result.exit_code == 2
    assert "not --jwks and --secret-file" in result.stderr


def test_should_verify_with_an_alg_less_set_and_two_algorithms(tmp_path: Path):
    rsa, ec = key_for("RS256"), key_for("ES256", name="ec")
    document = KeySet([rsa.public_key(), ec.public_key()]).public_jwks()
    for jwk in document["keys"]:
        del jwk["alg"]
    (tmp_path / "jwks.json").write_text(json.dumps(document))
    token = sign_compact({}, _claims(), ec)
    args = ["--jwks", str(tmp_path / "jwks.json"), "--issuer", ISS, "--audience", AUD]
    ok = _run("verify", token, *args, "--algorithm", "RS256", "--algorithm", "ES256")
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    ambiguous = _run("verify", token, *args, "--algorithm", "RS256", "--algorithm", "PS256")
    assert ambiguous.exit_code == 2 and "ambiguous" in ambiguous.stderr
    assert "[ambiguous_key]" in ambiguous.stderr  # a stable code, not only a message
