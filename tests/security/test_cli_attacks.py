"""The command line against hostile tokens: nothing from a token drives the terminal, and
every failure has its documented exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jwtwarden import KeySet
from jwtwarden.cli import app
from tests._verify_support import NOW, access_claims, forge, key_for

ESCAPES = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202e\x00"
runner = CliRunner()


def _hostile_token() -> str:
    claims = access_claims(
        iss=ESCAPES, aud=[ESCAPES], sub=ESCAPES, exp=NOW + 10**7, **{ESCAPES: ESCAPES}
    )
    claims["password" + ESCAPES] = ESCAPES  # a lint finding that quotes the claim name
    claims["email"] = ESCAPES
    header = {"alg": "ES256", "kid": ESCAPES, "typ": ESCAPES, "jku": ESCAPES, ESCAPES: 1}
    return forge(header, claims, key_for("ES256"))


def _assert_inert(output: str) -> None:
    for control in ("\x1b", "\x9b", "\x07", "\u202e", "\x00"):
        assert control not in output, repr(control)


@pytest.fixture()
def jwks(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(KeySet([key_for("ES256").public_key()]).public_jwks()))
    return path


def test_should_not_let_token_content_drive_the_terminal_in_inspect_tables() -> None:
    result = runner.invoke(app, ["inspect", _hostile_token()])
    assert "secret_in_claims" in result.stdout
    _assert_inert(result.stdout)


def test_should_not_let_token_content_drive_the_terminal_in_inspect_checks(jwks: Path) -> None:
    args = ["inspect", _hostile_token(), "--jwks", str(jwks), "--issuer", "i", "--audience", "a"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    _assert_inert(result.stdout)


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_should_print_only_escaped_token_content_in_machine_output(
    jwks: Path, extra: list[str]
) -> None:
    command = ["inspect"] if extra else ["verify", "--issuer", "i", "--audience", "a"]
    args = [*command, _hostile_token(), *extra]
    if not extra:
        args[1:1] = ["--jwks", str(jwks)]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1)
    _assert_inert(result.stdout)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["verify", "--issuer", "i", "--audience", "a", "not-a-token"], 2),  # no key source
        (
            ["verify", "--jwks", "/nonexistent/jwks.json", "--issuer", "i", "--audience", "a", "t"],
            2,
        ),
        (["verify", "--issuer", "i", "--audience", "a", "--algorithm", "none", "t"], 2),
    ],
)
def test_should_exit_2_on_usage_errors(args: list[str], code: int) -> None:
    assert runner.invoke(app, args).exit_code == code


def test_should_exit_1_for_a_refused_token_and_never_echo_a_secret(jwks: Path) -> None:
    token = forge({"alg": "ES256"}, access_claims(password="hunter2-secret"), key_for("ES256"))
    args = ["verify", "--jwks", str(jwks), "--issuer", "i", "--audience", "a", token]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"] == "wrong_issuer"
    assert "hunter2" not in result.stdout
