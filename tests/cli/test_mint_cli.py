"""``jwtwarden mint``: a token from the directory store that the verifier accepts."""

from __future__ import annotations

import base64
import json
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jwtwarden import KeySet, VerificationPolicy, Verifier
from jwtwarden.errors import WrongTypeError

KEK = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
ENV = {"JWTWARDEN_KEK": KEK}
ISS = "https://auth.example"
AUD = "https://api.example"

runner = CliRunner()


def run(*args: str) -> Result:
    from jwtwarden.cli import app

    return runner.invoke(app, list(args), env=ENV)


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    for use in ("access", "id"):
        result = run("keys", "generate", "--dir", str(directory), "-e", "production", "--use", use)
        assert result.exit_code == 0, result.stderr
    return directory


def mint(kdir: Path, *args: str) -> Result:
    return run(
        "mint", "--dir", str(kdir), "-e", "production", "--issuer", ISS, "--sub", "user-1", *args
    )


def verifier(kdir: Path, kind: str = "access") -> Verifier:
    jwks = json.loads(run("keys", "jwks", "--dir", str(kdir), "-e", "production").stdout)
    keys = KeySet.from_jwks(jwks)
    if kind == "access":
        return Verifier(
            VerificationPolicy.access_token(
                algorithms=["ES256"], issuer=ISS, audience=AUD, keys=keys
            )
        )
    return Verifier(
        VerificationPolicy.id_token(algorithms=["ES256"], issuer=ISS, audience=AUD, keys=keys)
    )


def test_should_print_an_access_token_that_verifies_with_the_published_jwks(kdir: Path) -> None:
    result = mint(
        kdir, "--aud", AUD, "--claim", "scope=read write", "--claim-json", "level=3", "--ttl", "300"
    )
    assert result.exit_code == 0, result.stderr
    claims = verifier(kdir).verify(result.stdout.strip()).claims
    assert (claims["sub"], claims["scope"], claims["level"]) == ("user-1", "read write", 3)
    assert claims["exp"] - claims["iat"] == 300


def test_should_print_an_id_token_with_its_nonce_that_the_access_policy_refuses(kdir: Path) -> None:
    result = mint(kdir, "--aud", AUD, "--type", "id", "--nonce", "abc123")
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert verifier(kdir, "id").verify(token).claims["nonce"] == "abc123"
    with pytest.raises(WrongTypeError):
        verifier(kdir, "access").verify(token)


def test_should_print_token_and_claims_as_json(kdir: Path) -> None:
    result = mint(kdir, "--aud", AUD, "--aud", "https://other.example", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["claims"]["aud"] == [AUD, "https://other.example"]
    assert verifier(kdir).verify(document["token"]).claims == document["claims"]


def test_should_exit_1_naming_a_claim_that_looks_like_a_secret(kdir: Path) -> None:
    result = mint(kdir, "--aud", AUD, "--claim", "api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc")
    assert result.exit_code == 1
    assert "'api_key'" in result.stderr and "claim_refused" in result.stderr
    assert "4eC39HqLyjWDarjtT1zdp7dc" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ttl", "5000"], "at most 900"),
        (["--ttl", "60"], "at least 300"),
        # OpenID Connect Core 3.1.2.1: the nonce is optional, but never empty when given;
        # and only ID tokens carry one.
        (["--type", "id", "--nonce", ""], "non-empty"),
        (["--nonce", "n-1"], "carry no nonce"),
        (["--type", "reset"], "no active signing key"),
        (["--type", "refresh"], "unknown token profile"),
        (["--claim", "novalue"], "NAME=VALUE"),
        (["--claim-json", "x={bad"], "not valid JSON"),
        (["--claim", "iss=https://evil.example"], "cannot be overridden"),
    ],
)
def test_should_exit_2_with_a_clear_message_on_a_bad_request(
    kdir: Path, args: list[str], message: str
) -> None:
    result = mint(kdir, "--aud", AUD, *args)
    expected = 1 if "overridden" in message else 2
    assert result.exit_code == expected, result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_should_hint_at_the_generate_command_that_runs_as_printed(kdir: Path) -> None:
    result = mint(kdir, "--aud", AUD, "--type", "reset")
    assert result.exit_code == 2
    hint = result.stderr.split("create one with: ", 1)[1].rsplit(" [", 1)[0]
    assert hint == f"jwtwarden keys generate --dir {kdir} --use reset -e production"
    assert "KeyRing" not in result.stderr  # no library call in a command-line hint
    made = run(*shlex.split(hint)[1:])  # the command as printed
    assert made.exit_code == 0, made.output
    assert mint(kdir, "--aud", AUD, "--type", "reset").exit_code == 0


def test_should_allow_a_longer_access_token_only_when_asked(kdir: Path) -> None:
    result = mint(kdir, "--aud", AUD, "--ttl", "3600", "--allow-long-ttl")
    assert result.exit_code == 0, result.stderr
    claims = verifier(kdir).verify(result.stdout.strip()).claims
    assert claims["exp"] - claims["iat"] == 3600


def test_should_require_an_audience(kdir: Path) -> None:
    result = mint(kdir)
    assert result.exit_code == 2
    assert "--aud" in result.stderr
