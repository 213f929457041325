"""Commands that read never write (issue 11, class 4): each read-only command is run against a
key directory and a working directory, and the whole tree (names, modes, content hashes) must be
byte-identical afterwards, whether the command succeeds or is refused. The review's example:
``keys list --environment development`` on a production key directory wrote a development KEK
into it."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jwtwarden.cli import app

KEK = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
ISS = "https://auth.example.com"
AUD = "https://api.example.com"
MINT_CLAIMS = ("--issuer", ISS, "--sub", "u1", "--aud", AUD)

runner = CliRunner()


def _tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every path under ``root``: its mode and (files) the sha256 of its content."""
    out = {".": (os.stat(root).st_mode, "")}
    for path in sorted(root.rglob("*")):
        info = os.lstat(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(info.st_mode) else ""
        out[str(path.relative_to(root))] = (info.st_mode, digest)
    return out


def _invoke(args: list[str], env: dict[str, str]) -> int:
    clean = {k: None for k in os.environ if k.startswith("JWTWARDEN_")}
    return runner.invoke(app, args, env={**clean, **env}).exit_code


@pytest.fixture
def stores(tmp_path: Path) -> dict[str, object]:
    """A production store (KEK in the environment), a development store (its own .kek), a
    JWKS file and a token; fresh for each test, so one command's writes never hide another's."""
    root = tmp_path
    production, development = root / "prod-keys", root / "dev-keys"
    prod_env = {"JWTWARDEN_KEK": KEK}
    assert (
        _invoke(["keys", "generate", "--dir", str(production), "-e", "production"], prod_env) == 0
    )
    assert _invoke(["keys", "generate", "--dir", str(development)], {}) == 0
    minted = runner.invoke(
        app,
        [*("mint", "--dir", str(production), "-e", "production"), *MINT_CLAIMS],
        env=prod_env,
    )
    assert minted.exit_code == 0, minted.output
    jwks = runner.invoke(
        app, ["keys", "jwks", "--dir", str(production), "-e", "production"], env=prod_env
    )
    assert jwks.exit_code == 0
    jwks_file = root / "jwks.json"
    jwks_file.write_text(jwks.stdout)
    kid = next(iter(p.name for p in production.glob("*.jwk.json"))).removesuffix(".jwk.json")
    return {
        "production": production,
        "development": development,
        "jwks": jwks_file,
        "token": minted.stdout.strip(),
        "kid": kid,
        "root": root,
    }


# (command, environment variables): {prod}, {dev}, {jwks}, {token}, {kid}, {missing} are filled in.
READ_ONLY = [
    (["keys", "list", "--dir", "{prod}", "-e", "production"], {"JWTWARDEN_KEK": KEK}),
    (["keys", "list", "--dir", "{prod}", "-e", "production", "--json"], {"JWTWARDEN_KEK": KEK}),
    # The review's example: no KEK and the development environment on a production directory.
    (["keys", "list", "--dir", "{prod}", "--environment", "development"], {}),
    (["keys", "list", "--dir", "{prod}", "-e", "staging"], {}),
    (["keys", "list", "--dir", "{prod}", "-e", "staging"], {"JWTWARDEN_KEK": KEK}),
    (["keys", "list", "--dir", "{dev}"], {}),
    (["keys", "list", "--dir", "{missing}"], {}),
    (["keys", "jwks", "--dir", "{prod}", "-e", "production"], {"JWTWARDEN_KEK": KEK}),
    (["keys", "jwks", "--dir", "{prod}"], {}),
    (["keys", "jwks", "--dir", "{dev}"], {}),
    (["keys", "export", "--dir", "{prod}", "-e", "production", "{kid}"], {"JWTWARDEN_KEK": KEK}),
    (["keys", "export", "--dir", "{prod}", "{kid}"], {}),
    (["mint", "--dir", "{prod}", "--issuer", ISS, "--sub", "u", "--aud", AUD], {}),
    (["inspect", "{token}"], {}),
    (["verify", "{token}", "--jwks", "{jwks}", "--issuer", ISS, "--audience", AUD], {}),
    (["verify", "{token}", "--jwks", "{jwks}", "--issuer", "https://other", "--audience", AUD], {}),
]


@pytest.mark.parametrize(("args", "env"), READ_ONLY, ids=[" ".join(a[:4]) for a, _ in READ_ONLY])
def test_should_leave_every_file_byte_identical_when_a_read_only_command_runs(
    stores: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    env: dict[str, str],
) -> None:
    root = stores["root"]
    assert isinstance(root, Path)
    monkeypatch.chdir(root)  # whatever a command would write to its working directory shows
    values = {
        "{prod}": str(stores["production"]),
        "{dev}": str(stores["development"]),
        "{jwks}": str(stores["jwks"]),
        "{token}": str(stores["token"]),
        "{kid}": str(stores["kid"]),
        "{missing}": str(root / "missing" / "keys"),
    }
    before = _tree(root)
    code = _invoke([values.get(a, a) for a in args], env)
    assert code in (0, 1, 2)
    assert _tree(root) == before


def test_should_refuse_to_list_a_production_directory_as_development_without_a_kek(
    stores: dict[str, object],
) -> None:
    production = stores["production"]
    result = runner.invoke(
        app,
        ["keys", "list", "--dir", str(production), "--environment", "development"],
        env={"JWTWARDEN_KEK": None},
    )
    assert result.exit_code == 2
    assert "never" in result.stderr or "no key-encryption key" in result.stderr
    assert not (Path(str(production)) / ".kek").exists()


@pytest.mark.parametrize("command", ["rotate", "tick", "generate"])
def test_should_never_generate_a_development_kek_in_a_directory_that_holds_keys(
    stores: dict[str, object], command: str
) -> None:
    production = Path(str(stores["production"]))
    before = _tree(production)
    result = runner.invoke(
        app, ["keys", command, "--dir", str(production)], env={"JWTWARDEN_KEK": None}
    )
    assert result.exit_code == 2, result.output
    assert "already holds keys" in result.stderr
    assert _tree(production) == before
