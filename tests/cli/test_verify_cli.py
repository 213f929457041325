"""``jwtwarden verify``: one JSON line per token, in order; exit 0 all valid, 1 any refused, 2 a
usage or configuration error with a one-line message on stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from jwtwarden import KeySet, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.cli import app
from tests._verify_support import b64, forge, key_for

ISS = "https://issuer.example"
AUD = "https://api.example"
runner = CliRunner()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISS,
        "aud": AUD,
        "sub": "user-1",
        "iat": now,
        "exp": now + 600,
        "jti": "j1",
        "client_id": "client-1",
    }
    claims.update(overrides)
    return claims


def _token(key_alg: str = "ES256", typ: str | None = None, **overrides: Any) -> str:
    header = {"typ": typ} if typ else {}
    return sign_compact(header, _claims(**overrides), key_for(key_alg))


@pytest.fixture()
def jwks(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    keys = KeySet([key_for("ES256").public_key(), key_for("RS256").public_key()])
    path.write_text(json.dumps(keys.public_jwks()))
    return path


def _run(args: list[str], stdin: str | None = None) -> Any:
    return runner.invoke(app, ["verify", *args], input=stdin)


def _base(jwks: Path) -> list[str]:
    return ["--jwks", str(jwks), "--issuer", ISS, "--audience", AUD]


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def test_should_print_the_header_and_claims_of_a_valid_token_and_exit_0(jwks: Path) -> None:
    token = _token()
    result = _run([*_base(jwks), token])
    assert result.exit_code == 0, result.stderr
    [line] = _lines(result.stdout)
    assert line["valid"] is True
    assert line["claims"]["sub"] == "user-1"
    assert line["header"]["alg"] == "ES256"


def test_should_print_the_error_code_of_a_refused_token_and_exit_1(jwks: Path) -> None:
    result = _run([*_base(jwks), _token(aud="https://other.example")])
    assert result.exit_code == 1
    [line] = _lines(result.stdout)
    assert line == {"valid": False, "error": "wrong_audience", "detail": line["detail"]}
    assert line["detail"]


def test_should_read_tokens_from_stdin_in_order_skipping_blank_lines(jwks: Path) -> None:
    tokens = [_token(sub=f"user-{i}") for i in range(5)]
    stdin = "\n".join([tokens[0], "", tokens[1], "   ", tokens[2] + "\r", tokens[3], tokens[4]])
    for args in ([], ["-"]):
        result = _run([*_base(jwks), *args], stdin=stdin + "\n")
        assert result.exit_code == 0, result.stderr
        assert [r["claims"]["sub"] for r in _lines(result.stdout)] == [
            f"user-{i}" for i in range(5)
        ]


def test_should_exit_1_when_any_token_of_a_batch_is_refused(jwks: Path) -> None:
    stdin = "\n".join([_token(), "not-a-token", _token(exp=int(time.time()) - 3600), _token()])
    result = _run(_base(jwks), stdin=stdin)
    assert result.exit_code == 1
    assert [(r["valid"], r.get("error")) for r in _lines(result.stdout)] == [
        (True, None),
        (False, "malformed"),
        (False, "expired"),
        (True, None),
    ]


def test_should_default_the_algorithms_to_those_of_the_keys(jwks: Path) -> None:
    stdin = "\n".join([_token("ES256"), _token("RS256")])
    assert _run(_base(jwks), stdin=stdin).exit_code == 0
    only_es = _run([*_base(jwks), "--algorithm", "ES256"], stdin=stdin)
    assert [r.get("error") for r in _lines(only_es.stdout)] == [None, "algorithm_not_allowed"]


def test_should_check_the_type_when_given_and_use_the_access_profile_on_request(
    jwks: Path,
) -> None:
    typed, untyped = _token(typ="at+jwt"), _token()
    result = _run([*_base(jwks), "--type", "application/AT+JWT"], stdin=f"{typed}\n{untyped}\n")
    assert [r.get("error") for r in _lines(result.stdout)] == [None, "wrong_type"]
    id_like = _token(typ="at+jwt", nonce="n")
    access = _run([*_base(jwks), "--profile", "access"], stdin=f"{typed}\n{id_like}\n")
    assert [r.get("error") for r in _lines(access.stdout)] == [None, "invalid_claim"]


def test_should_require_client_id_in_the_access_profile_unless_relaxed(jwks: Path) -> None:
    # RFC 9068 2.2 makes client_id REQUIRED; Okta- and Auth0-style issuers omit it.
    without = sign_compact(
        {"typ": "at+jwt"},
        {k: v for k, v in _claims().items() if k != "client_id"},
        key_for("ES256"),
    )
    strict = _run([*_base(jwks), "--profile", "access", without])
    assert strict.exit_code == 1
    (refusal,) = _lines(strict.stdout)
    assert refusal["error"] == "missing_claim" and "client_id" in refusal["detail"]
    relaxed = _run([*_base(jwks), "--profile", "access", "--no-require-client-id", without])
    assert relaxed.exit_code == 0, relaxed.stdout
    assert _lines(relaxed.stdout)[0]["claims"]["sub"] == "user-1"
    generic = _run([*_base(jwks), "--no-require-client-id", without])
    assert generic.exit_code == 2 and "--profile access" in generic.output


def test_should_apply_leeway_max_age_and_required_claims(jwks: Path) -> None:
    now = int(time.time())
    just_expired = _token(exp=now - 20)
    assert _run([*_base(jwks), just_expired]).exit_code == 0  # default leeway 30 s
    assert _run([*_base(jwks), "--leeway", "0", just_expired]).exit_code == 1
    old = _token(iat=now - 4000, exp=now + 600)
    refused = _run([*_base(jwks), "--max-age", "3600", old])
    assert _lines(refused.stdout)[0]["error"] == "too_old"
    missing = _run([*_base(jwks), "--require", "tenant", _token()])
    assert _lines(missing.stdout)[0]["error"] == "missing_claim"
    assert _run([*_base(jwks), "--require", "tenant", _token(tenant="t")]).exit_code == 0


def test_should_load_a_pem_key_when_its_algorithm_is_named(tmp_path: Path) -> None:
    pem = tmp_path / "key.pem"
    pem.write_bytes(
        key_for("ES256").jwk.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    args = ["--jwks", str(pem), "--issuer", ISS, "--audience", AUD]
    # A PEM key's kid is its thumbprint, so the token names none: exactly one key fits.
    kidless = forge({"alg": "ES256"}, _claims(), key_for("ES256"))
    assert _run([*args, "--algorithm", "ES256", kidless]).exit_code == 0
    no_alg = _run([*args, kidless])
    assert no_alg.exit_code == 2
    assert "error:" in no_alg.stderr


def _usage_cases(tmp_path: Path, jwks: Path) -> list[tuple[str, list[str]]]:
    weak = tmp_path / "weak.json"
    weak.write_text(json.dumps({"kty": "oct", "k": b64(b"short"), "alg": "HS256"}))
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    return [
        ("missing --issuer", ["--jwks", str(jwks), "--audience", AUD, "x"]),
        ("missing --audience", ["--jwks", str(jwks), "--issuer", ISS, "x"]),
        ("no key source", ["--issuer", ISS, "--audience", AUD, "x"]),
        ("two key sources", [*_base(jwks), "--jwks-url", "https://k.example/j", "x"]),
        (
            "unreadable jwks",
            ["--jwks", str(tmp_path / "absent.json"), "--issuer", ISS, "--audience", AUD, "x"],
        ),
        ("weak key refused", ["--jwks", str(weak), "--issuer", ISS, "--audience", AUD, "x"]),
        ("not a key set", ["--jwks", str(garbage), "--issuer", ISS, "--audience", AUD, "x"]),
        ("alg none", [*_base(jwks), "--algorithm", "none", "x"]),
        ("unknown alg", [*_base(jwks), "--algorithm", "HS1", "x"]),
        ("alg without a key", [*_base(jwks), "--algorithm", "ES512", "x"]),
        ("empty audience", ["--jwks", str(jwks), "--issuer", ISS, "--audience", "", "x"]),
        ("negative leeway", [*_base(jwks), "--leeway", "-5", "x"]),
        ("bad profile", [*_base(jwks), "--profile", "admin", "x"]),
        ("profile and type", [*_base(jwks), "--profile", "access", "--type", "at+jwt", "x"]),
        (
            "remote JWKS",
            ["--jwks-url", "https://k.example/j", "--issuer", ISS, "--audience", AUD, "x"],
        ),
        ("leeway not a number", [*_base(jwks), "--leeway", "soon", "x"]),
    ]


def test_should_exit_2_with_a_message_on_every_usage_or_configuration_error(
    tmp_path: Path, jwks: Path
) -> None:
    for name, args in _usage_cases(tmp_path, jwks):
        result = _run(args)
        assert result.exit_code == 2, f"{name}: {result.exit_code} {result.stdout}"
        assert result.stderr.strip(), name
        assert result.stdout == "", name


def test_should_exit_2_when_no_token_is_given_on_stdin(jwks: Path) -> None:
    result = _run(_base(jwks), stdin="\n\n")
    assert result.exit_code == 2
    assert result.stderr.startswith("error:")
    assert result.stdout == ""


def test_should_never_print_an_hmac_secret(tmp_path: Path) -> None:
    key = key_for("HS256")
    path = tmp_path / "hs.json"
    path.write_text(json.dumps({"keys": [key.export_private_jwk()]}))
    secret = key.export_private_jwk()["k"]
    stranger = generate_key("HS256", kid=key.kid)
    stdin = "\n".join([_token("HS256"), sign_compact({}, _claims(), stranger), "junk"])
    result = _run(["--jwks", str(path), "--issuer", ISS, "--audience", AUD], stdin=stdin)
    assert [r.get("error") for r in _lines(result.stdout)] == [None, "bad_signature", "malformed"]
    assert secret not in result.output


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("jwtwarden")
    found = str(script) if script.exists() else shutil.which("jwtwarden")
    assert found, "the jwtwarden console script is not installed (pip install -e .)"
    return [found]


def test_should_verify_a_batch_of_1000_tokens_through_the_real_console_script(
    jwks: Path,
) -> None:
    key = key_for("ES256")
    tokens = [sign_compact({}, _claims(sub=f"user-{i}"), key) for i in range(1000)]
    bad_at = 637
    tokens[bad_at] = sign_compact({}, _claims(sub=f"user-{bad_at}", aud="elsewhere"), key)
    proc = subprocess.run(
        [*_console_script(), "verify", *_base(jwks)],
        input="\n".join(tokens) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    lines = _lines(proc.stdout)
    assert len(lines) == 1000
    for i, line in enumerate(lines):
        if i == bad_at:
            assert line == {"valid": False, "error": "wrong_audience", "detail": line["detail"]}
        else:
            assert line["valid"] is True and line["claims"]["sub"] == f"user-{i}"
    assert proc.stderr == ""
