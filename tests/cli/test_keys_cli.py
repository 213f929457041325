"""``jwtwarden keys``: generate, list, rotate, revoke, tick, jwks, export over a directory."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from jwtwarden.cli import app
from jwtwarden.stores.files import DirectoryKeyStore

KEK = bytes(range(32))
ENV = {"JWTWARDEN_KEK": base64.urlsafe_b64encode(KEK).rstrip(b"=").decode()}
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}

runner = CliRunner()


def keys(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, ["keys", *args], env=ENV if env is None else env)


def listed(directory: Path, environment: str = "production") -> list[dict[str, Any]]:
    result = keys("list", "--dir", str(directory), "-e", environment, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def secrets_in(directory: Path, environment: str = "production") -> list[str]:
    store = DirectoryKeyStore(directory, environment=environment, kek=KEK)
    out = []
    for record in store.load():
        if record.key.is_private:
            jwk = record.key.export_private_jwk()
            out.extend(jwk[m] for m in PRIVATE_MEMBERS if m in jwk)
    return out


@pytest.fixture
def kdir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


def test_should_generate_an_active_key_and_list_it(kdir: Path) -> None:
    result = keys("generate", "--dir", str(kdir), "-e", "production", "--use", "access")
    assert result.exit_code == 0, result.stderr
    (row,) = listed(kdir)
    assert (row["alg"], row["token_use"], row["environment"], row["state"]) == (
        "ES256",
        "access",
        "production",
        "active",
    )
    assert row["kid"] in result.stdout


def test_should_show_a_table_of_kid_algorithm_use_environment_state_and_dates(kdir: Path) -> None:
    keys("generate", "--dir", str(kdir), "-e", "production", "--alg", "EdDSA", "--use", "id")
    result = keys("list", "--dir", str(kdir), "-e", "production")
    assert result.exit_code == 0
    (row,) = listed(kdir)
    for text in (row["kid"], "EdDSA", "id", "production", "active", "published", "activates"):
        assert text in result.stdout


def test_should_be_idempotent_for_the_same_algorithm_and_refuse_another(kdir: Path) -> None:
    keys("generate", "--dir", str(kdir), "-e", "production")
    again = keys("generate", "--dir", str(kdir), "-e", "production")
    assert again.exit_code == 0 and "already" in again.stdout
    other = keys("generate", "--dir", str(kdir), "-e", "production", "--alg", "RS256")
    assert other.exit_code == 2
    # The hint runs as printed: it names the directory and the environment.
    assert f"keys rotate --dir {kdir} --use access --alg RS256 -e production" in other.stderr
    assert len(listed(kdir)) == 1


def test_should_rotate_with_a_pending_key_then_immediately(kdir: Path) -> None:
    keys("generate", "--dir", str(kdir), "-e", "production")
    rotated = keys("rotate", "--dir", str(kdir), "-e", "production", "--use", "access")
    assert rotated.exit_code == 0, rotated.stderr
    assert sorted(r["state"] for r in listed(kdir)) == ["active", "pending"]
    now = keys("rotate", "--dir", str(kdir), "-e", "production", "--use", "access", "--immediate")
    assert now.exit_code == 0
    assert sorted(r["state"] for r in listed(kdir)) == ["active", "retiring"]


def test_should_keep_the_algorithm_of_the_key_it_rotates(kdir: Path) -> None:
    keys("generate", "--dir", str(kdir), "-e", "production", "--alg", "ES384")
    keys("rotate", "--dir", str(kdir), "-e", "production", "--immediate")
    assert {r["alg"] for r in listed(kdir)} == {"ES384"}


def test_should_revoke_a_key_and_drop_it_from_the_jwks(kdir: Path) -> None:
    keys("generate", "--dir", str(kdir), "-e", "production")
    (old,) = listed(kdir)
    result = keys("revoke", "--dir", str(kdir), "-e", "production", "--", old["kid"])
    assert result.exit_code == 0, result.stderr
    assert "revoked" in result.stdout and "created" in result.stdout
    jwks = json.loads(keys("jwks", "--dir", str(kdir), "-e", "production").stdout)
    assert old["kid"] not in {k["kid"] for k in jwks["keys"]}
    assert len(jwks["keys"]) == 1


def test_should_refuse_to_revoke_an_unknown_kid(kdir: Path) -> None:
    keys("generate", "--dir", str(kdir), "-e", "production")
    result = keys("revoke", "--dir", str(kdir), "-e", "production", "nope")
    assert result.exit_code == 2
    assert "no key 'nope'" in result.stderr


def test_should_print_a_public_jwks_with_its_cache_lifetime(kdir: Path) -> None:
    for use, alg in (
        ("access", "RS256"),
        ("id", "ES512"),
        ("reset", "EdDSA"),
        ("internal", "HS256"),
    ):
        assert (
            keys(
                "generate",
                "--dir",
                str(kdir),
                "-e",
                "production",
                "--use",
                use,
                "--alg",
                alg,
                "--rsa-bits",
                "2048",
            ).exit_code
            == 0
        )
    result = keys("jwks", "--dir", str(kdir), "-e", "production")
    assert result.exit_code == 0
    jwks = json.loads(result.stdout)
    assert {k["alg"] for k in jwks["keys"]} == {"RS256", "ES512", "EdDSA"}  # never the HMAC key
    for jwk in jwks["keys"]:
        assert not PRIVATE_MEMBERS & set(jwk)
        assert jwk["use"] == "sig"
    assert "max-age=3600" in result.stderr


def test_should_never_print_private_material_unless_exported_explicitly(kdir: Path) -> None:
    outputs = [
        keys(
            "generate",
            "--dir",
            str(kdir),
            "-e",
            "production",
            "--alg",
            "RS256",
            "--rsa-bits",
            "2048",
        ),
        keys(
            "generate",
            "--dir",
            str(kdir),
            "-e",
            "production",
            "--use",
            "internal",
            "--alg",
            "HS256",
        ),
        keys("rotate", "--dir", str(kdir), "-e", "production", "--rsa-bits", "2048"),
        keys("list", "--dir", str(kdir), "-e", "production"),
        keys("list", "--dir", str(kdir), "-e", "production", "--json"),
        keys("jwks", "--dir", str(kdir), "-e", "production"),
        keys("tick", "--dir", str(kdir), "-e", "production"),
    ]
    text = "".join(r.stdout + r.stderr for r in outputs)
    secrets = secrets_in(kdir)
    assert len(secrets) >= 7
    for secret in secrets:
        assert secret not in text


def test_should_export_a_private_key_only_when_asked_and_say_so(kdir: Path) -> None:
    keys("generate", "--dir", str(kdir), "-e", "production")
    (row,) = listed(kdir)
    public = keys("export", "--dir", str(kdir), "-e", "production", "--", row["kid"])
    assert public.exit_code == 0 and "d" not in json.loads(public.stdout)
    private = keys("export", "--dir", str(kdir), "-e", "production", "--private", "--", row["kid"])
    assert private.exit_code == 0
    assert json.loads(private.stdout)["d"] in secrets_in(kdir)
    assert "PRIVATE" in private.stderr


def test_should_refuse_to_export_the_public_half_of_an_hmac_key(kdir: Path) -> None:
    keys("generate", "--dir", str(kdir), "-e", "production", "--alg", "HS256")
    (row,) = listed(kdir)
    result = keys("export", "--dir", str(kdir), "-e", "production", "--", row["kid"])
    assert result.exit_code == 2
    assert "HMAC" in result.stderr


def test_should_report_the_schedule_applied_by_tick(kdir: Path) -> None:
    keys("generate", "--dir", str(kdir), "-e", "production")
    result = keys("tick", "--dir", str(kdir), "-e", "production")
    assert result.exit_code == 0 and "no change" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["generate", "--rsa-bits", "1024", "--alg", "RS256"],
        ["generate", "--alg", "none"],
        ["generate", "--alg", "HS1"],
    ],
)
def test_should_exit_2_on_a_bad_request(kdir: Path, args: list[str]) -> None:
    result = keys(*args, "--dir", str(kdir), "-e", "production")
    assert result.exit_code == 2
    assert not kdir.exists() or listed(kdir) == []


def test_should_refuse_production_without_a_kek(kdir: Path) -> None:
    result = keys("generate", "--dir", str(kdir), "-e", "production", env={"JWTWARDEN_KEK": ""})
    assert result.exit_code == 2
    assert "JWTWARDEN_KEK" in result.stderr


def test_should_refuse_keys_of_another_environment(kdir: Path) -> None:
    keys("generate", "--dir", str(kdir), "-e", "staging")
    result = keys("list", "--dir", str(kdir), "-e", "production")
    assert result.exit_code == 2
    assert "staging" in result.stderr and "wrong_environment" in result.stderr


def test_should_work_out_of_the_box_in_development(kdir: Path) -> None:
    result = keys("generate", "--dir", str(kdir), env={"JWTWARDEN_KEK": ""})
    assert result.exit_code == 0, result.stderr
    assert (kdir / ".kek").exists()
    assert listed_dev(kdir)[0]["environment"] == "development"


def listed_dev(directory: Path) -> list[dict[str, Any]]:
    result = keys("list", "--dir", str(directory), "--json", env={"JWTWARDEN_KEK": ""})
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("command", [["list"], ["jwks"], ["rotate", "--use", "access"], ["tick"]])
def test_should_refuse_a_missing_store_without_creating_it_or_a_kek(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "typo"
    result = keys(*command, "--dir", str(missing), "-e", "development", env={})
    assert result.exit_code == 2
    assert "no key store" in result.stderr
    assert not missing.exists()
