"""``jwtwarden inspect`` and ``jwtwarden.explain.explain``: decode without trusting, list the
findings, and, given expectations, run each verifier check and show why it passes or fails.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jwtwarden import FixedClock, KeySet, VerificationPolicy
from jwtwarden._jose.sign import sign_compact
from jwtwarden.cli import app
from jwtwarden.explain import Explanation, explain
from tests._verify_support import b64, forge, key_for

ISS = "https://issuer.example"
AUD = "https://api.example"
NOW = 1_800_000_000
runner = CliRunner()


def _claims(now: float | None = None, **overrides: Any) -> dict[str, Any]:
    t = int(time.time() if now is None else now)
    claims = {
        "iss": ISS,
        "aud": AUD,
        "sub": "user-1",
        "iat": t,
        "exp": t + 600,
        "jti": "j1",
        "client_id": "client-1",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture()
def jwks(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(KeySet([key_for("ES256").public_key()]).public_jwks()))
    return path


def _inspect(*args: str, stdin: str | None = None) -> Any:
    return runner.invoke(app, ["inspect", *args], input=stdin)


def _json(*args: str) -> tuple[int, dict[str, Any]]:
    result = _inspect(*args, "--json")
    return result.exit_code, json.loads(result.stdout)


def _codes(doc: dict[str, Any]) -> set[str]:
    return {f["code"] for f in doc["findings"]}


def _policy(**kw: Any) -> VerificationPolicy:
    return VerificationPolicy(
        algorithms=["ES256"],
        issuer=ISS,
        audience=AUD,
        keys=KeySet([key_for("ES256").public_key()]),
        clock=FixedClock(NOW),
        **kw,
    )


# --- the command ----------------------------------------------------------------------------


def test_should_show_header_claims_and_human_times_without_any_key() -> None:
    token = sign_compact({"typ": "at+jwt"}, _claims(now=NOW), key_for("ES256"))
    result = _inspect(token)
    assert result.exit_code == 0, result.stderr
    assert "decoded without verification" in result.stdout
    assert "Header" in result.stdout and "Claims" in result.stdout
    assert "2027-01-15T08:00:00Z" in result.stdout  # iat = 1 800 000 000, in UTC
    assert "Checks" not in result.stdout  # no expectations, no checks


def test_should_print_one_json_document_with_findings_and_times() -> None:
    token = sign_compact({}, _claims(now=NOW, exp=None), key_for("HS256"))
    code, doc = _json(token)
    assert code == 0
    assert doc["decoded"] is True and doc["valid"] is None
    assert doc["header"]["alg"] == "HS256"
    assert {"no_exp", "hmac", "no_typ"} <= _codes(doc)
    assert doc["times"]["iat"].startswith("2027-01-15T08:00:00Z")


def test_should_pass_every_check_of_a_valid_token_and_exit_0(jwks: Path) -> None:
    token = sign_compact({"typ": "at+jwt"}, _claims(), key_for("ES256"))
    code, doc = _json(
        token, "--jwks", str(jwks), "--issuer", ISS, "--audience", AUD, "--profile", "access"
    )
    assert code == 0
    assert doc["valid"] is True
    steps = {c["step"]: c["passed"] for c in doc["checks"]}
    for step in (
        "structure",
        "header",
        "payload",
        "issuer",
        "key",
        "signature",
        "typ",
        "exp",
        "aud",
        "sub",
        "verdict",
    ):
        assert steps[step] is True, step


def test_should_show_which_check_fails_and_why_and_exit_1(jwks: Path) -> None:
    token = sign_compact({}, _claims(aud="https://other.example"), key_for("ES256"))
    result = _inspect(token, "--jwks", str(jwks), "--issuer", ISS, "--audience", AUD)
    assert result.exit_code == 1
    assert "wrong_audience" in result.stdout
    assert "Verdict: refused" in result.stdout
    code, doc = _json(token, "--jwks", str(jwks), "--issuer", ISS, "--audience", AUD)
    assert code == 1
    checks = {c["step"]: c for c in doc["checks"]}
    assert checks["aud"]["passed"] is False and checks["aud"]["code"] == "wrong_audience"
    assert checks["signature"]["passed"] is True
    assert checks["exp"]["passed"] is True
    assert doc["error"] == "wrong_audience"


def test_should_stop_the_signature_steps_after_the_first_failure(jwks: Path) -> None:
    stranger = key_for("ES256", "stranger")
    token = sign_compact({}, _claims(), stranger)
    code, doc = _json(token, "--jwks", str(jwks), "--issuer", ISS, "--audience", AUD)
    assert code == 1
    checks = {c["step"]: c for c in doc["checks"]}
    assert checks["key"]["passed"] is False and checks["key"]["code"] == "unknown_key"
    assert checks["signature"]["passed"] is None
    assert doc["error"] == "unknown_key"


def test_should_refuse_partial_expectations_with_exit_2(jwks: Path) -> None:
    token = sign_compact({}, _claims(), key_for("ES256"))
    # Keys alone are a signature-only check (test_inspect_keys.py), not a partial expectation.
    for args in (
        ["--issuer", ISS],
        ["--jwks", str(jwks), "--issuer", ISS],
        ["--audience", AUD],
    ):
        result = _inspect(token, *args)
        assert result.exit_code == 2, args
        assert "error:" in result.stderr


def test_should_explain_a_token_that_cannot_be_decoded_and_exit_1() -> None:
    code, doc = _json("a.b.c.d.e")
    assert code == 1
    assert doc["decoded"] is False
    assert doc["error"] == "unsupported_serialization"


def test_should_flag_an_unsigned_alg_none_token() -> None:
    token = f"{b64(json.dumps({'alg': 'none'}))}.{b64(json.dumps({'sub': 'admin'}))}."
    code, doc = _json(token)
    assert code == 0
    assert {"alg_none", "unsigned", "no_exp"} <= _codes(doc)
    assert doc["claims"] == {"sub": "admin"}


def test_should_read_the_token_from_stdin() -> None:
    token = sign_compact({}, _claims(), key_for("ES256"))
    result = _inspect("-", "--json", stdin=f"\n{token}\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["claims"]["sub"] == "user-1"


def test_should_never_print_a_secret_found_in_the_claims() -> None:
    token = sign_compact({}, _claims(password="hunter2-correct-horse"), key_for("ES256"))
    table = _inspect(token)
    code, doc = _json(token)
    assert code == table.exit_code == 0
    assert "hunter2-correct-horse" not in table.stdout
    assert "hunter2-correct-horse" not in json.dumps(doc)
    assert "secret_in_claims" in _codes(doc)
    assert "password" in doc["claims"]  # the claim is named, its value is not shown


def test_should_not_let_token_content_drive_the_terminal_or_rich_markup() -> None:
    claims = _claims(note="[bold red]spoofed[/bold red]", esc="\x1b[2J\x1b[31mred")
    token = sign_compact({}, claims, key_for("ES256"))
    result = _inspect(token)
    assert "\x1b" not in result.stdout
    assert "[bold red]spoofed[/bold red]" in result.stdout


# --- the library: explain() -----------------------------------------------------------------


def _explain(header: dict[str, Any], claims: dict[str, Any] | bytes, **kw: Any) -> Explanation:
    return explain(forge(header, claims, key_for("ES256")), clock=FixedClock(NOW), **kw)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ({"alg": "ES256", "jku": "https://attacker.example/j"}, "key_in_header"),
        ({"alg": "ES256", "x5u": "https://attacker.example/c"}, "key_in_header"),
        ({"alg": "ES256", "jwk": {"kty": "EC"}}, "key_in_header"),
        ({"alg": "ES256", "x5c": ["AAAA"]}, "key_in_header"),
        ({"alg": "ES256", "crit": ["b64"], "b64": False}, "crit"),
        ({"alg": "HS256"}, "hmac"),
        ({"alg": "nOnE"}, "alg_none"),
        ({"alg": "EdDSA"}, "eddsa_legacy"),
        ({"alg": "ES256", "enc": "A256GCM"}, "jwe_header"),
        ({"alg": 7}, "alg_invalid"),
    ],
)
def test_should_flag_dangerous_headers(header: dict[str, Any], code: str) -> None:
    report = _explain(header, _claims(now=NOW))
    assert code in {f.code for f in report.findings}


def test_should_flag_an_access_token_living_longer_than_15_minutes() -> None:
    long = _explain({"alg": "ES256", "typ": "at+jwt"}, _claims(now=NOW, exp=NOW + 3600))
    short = _explain({"alg": "ES256", "typ": "at+jwt"}, _claims(now=NOW, exp=NOW + 600))
    assert "long_lifetime" in {f.code for f in long.findings}
    assert "long_lifetime" not in {f.code for f in short.findings}


def test_should_flag_expired_and_future_tokens_relative_to_the_clock() -> None:
    expired = _explain({"alg": "ES256"}, _claims(now=NOW - 7200))
    assert "expired" in {f.code for f in expired.findings}
    future = _explain({"alg": "ES256"}, _claims(now=NOW + 7200))
    assert {"issued_in_future"} <= {f.code for f in future.findings}
    assert "in 2 h" in future.times["iat"]


def test_should_flag_large_tokens() -> None:
    medium = _explain({"alg": "ES256"}, _claims(now=NOW, pad="x" * 1100))
    large = _explain({"alg": "ES256"}, _claims(now=NOW, pad="x" * 4200))
    assert "size_over_1k" in {f.code for f in medium.findings}
    assert "size_over_4k" in {f.code for f in large.findings}


def test_should_flag_personal_data_as_a_warning() -> None:
    report = _explain({"alg": "ES256"}, _claims(now=NOW, email="alice@example.com"))
    assert ("warn", "personal_data") in {(f.severity, f.code) for f in report.findings}


def test_should_flag_a_payload_that_is_not_json() -> None:
    report = _explain({"alg": "ES256"}, b"\x00binary")
    assert report.claims is None
    assert "payload_not_json" in {f.code for f in report.findings}


def test_should_agree_with_the_verifier_on_the_verdict() -> None:
    key = key_for("ES256")
    cases = {
        "valid": sign_compact({}, _claims(now=NOW), key),
        "expired": sign_compact({}, _claims(now=NOW - 7200), key),
        "wrong_issuer": sign_compact({}, _claims(now=NOW, iss="https://evil.example"), key),
        "bad_signature": forge(
            {"alg": "ES256", "kid": key.kid}, _claims(now=NOW), key_for("ES256", "stranger")
        ),
        "malformed": "x.y",
    }
    policy = _policy()
    for expected, token in cases.items():
        report = explain(token, policy)
        assert report.valid is (expected == "valid"), expected
        assert report.error == (None if expected == "valid" else expected)
        assert report.checks[-1].step in ("verdict", "structure")


def test_should_run_each_claim_check_on_its_own() -> None:
    key = key_for("ES256")
    # Two problems at once: expired AND the wrong audience. The verifier stops at the first;
    # the explanation shows both.
    token = sign_compact({}, _claims(now=NOW - 7200, aud="https://other.example"), key)
    report = explain(token, _policy())
    by_step = {c.step: c for c in report.checks}
    assert by_step["exp"].code == "expired"
    assert by_step["aud"].code == "wrong_audience"
    assert by_step["sub"].passed is True
    assert report.valid is False


def test_should_refuse_a_policy_that_is_not_a_policy() -> None:
    with pytest.raises(TypeError):
        explain("a.b.c", policy="strict")  # type: ignore[arg-type]


def test_should_explain_a_time_claim_beyond_any_float_without_raising() -> None:
    report = _explain({"alg": "ES256"}, b'{"exp":1' + b"0" * 400 + b',"sub":"a"}')
    assert "exp_invalid" in {f.code for f in report.findings}
    assert report.times["exp"] == "not a finite number"


def test_should_explain_a_float_beyond_a_double_as_a_payload_that_is_not_json() -> None:
    # 1e400 is refused by the strict parser itself (I-JSON, RFC 7493 2.2; tests/fuzz found
    # it): read as a float it would be an infinity.
    report = _explain({"alg": "ES256"}, b'{"exp":1e400,"sub":"a"}')
    assert "payload_not_json" in {f.code for f in report.findings}
