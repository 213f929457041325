"""Configuration errors (issue 17): all listed at once, under the names the user typed
(``--port``, the TOML key, the ``JWTWARDEN_*`` variable), without pydantic's phrasing or
internal names, with "did you mean" for a misspelt key or variable, and naming the file (and
the line) of a broken TOML file. Values are never echoed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jwtwarden.cli import app
from jwtwarden.server.settings import Settings
from jwtwarden.server.settings_report import unknown_variables

runner = CliRunner()
FIELDS = list(Settings.model_fields)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    before = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("JWTWARDEN_"):
            monkeypatch.delenv(name)
    yield
    # The CLI hands its options to workers through the environment (JWTWARDEN_CONFIG...):
    # nothing it set outlives the test.
    for name in list(os.environ):
        if name.startswith("JWTWARDEN_") and name not in before:
            del os.environ[name]


def _problems(result: object) -> list[str]:
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert result.exit_code == 2, stderr  # type: ignore[attr-defined]
    assert "configuration error:" in stderr
    return [line.strip() for line in stderr.splitlines() if line.startswith("  ")]


def test_should_name_options_as_typed_and_list_every_problem_at_once(tmp_path: Path) -> None:
    args = ["serve", "--port", "0", "--workers", "99", "--data-dir", str(tmp_path / "d")]
    problems = _problems(runner.invoke(app, args))
    assert problems == [
        "--port: must be greater than or equal to 1",
        "--workers: must be less than or equal to 64",
    ]


def test_should_name_variables_and_toml_keys_as_typed_with_did_you_mean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('prot = 8000\nworkers = "many"\n')
    monkeypatch.setenv("JWTWARDEN_ISUER", "https://auth.example")
    monkeypatch.setenv("JWTWARDEN_ACCESS_TOKEN_TTL", "5")
    args = ["db", "upgrade", "--config", str(config), "--data-dir", str(tmp_path / "d")]
    problems = _problems(runner.invoke(app, args))
    assert "JWTWARDEN_ISUER: is not a setting (did you mean JWTWARDEN_ISSUER?)" in problems
    assert "JWTWARDEN_ACCESS_TOKEN_TTL: must be greater than or equal to 300" in problems
    assert f"'prot' in {config}: is not a setting (did you mean 'port'?)" in problems
    assert any(p.startswith(f"'workers' in {config}: must be a valid integer") for p in problems)
    joined = "\n".join(problems)
    for internal in ("Value error", "Input should", "Extra inputs", "type=", "pydantic"):
        assert internal not in joined
    assert "many" not in joined and "auth.example" not in joined  # values are never echoed


def test_should_name_the_option_in_a_whole_configuration_problem(tmp_path: Path) -> None:
    args = ["serve", "--host", "::", "--data-dir", str(tmp_path / "d")]
    problems = _problems(runner.invoke(app, args))
    assert problems[0].startswith("--host: :: listens on every interface")


def test_should_name_the_file_and_line_of_a_broken_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('port = 8000\nissuer = "https://a.example\n')
    result = runner.invoke(app, ["db", "upgrade", "--config", str(config)])
    assert result.exit_code == 2
    assert f"the config file {str(config)!r} is not valid TOML" in result.stderr
    assert "line 2" in result.stderr
    assert "Traceback" not in result.output


def test_should_only_warn_about_a_variable_far_from_every_setting() -> None:
    errors, warnings = unknown_variables(
        {"JWTWARDEN_PROT": "1", "JWTWARDEN_SOMETHING_ELSE": "x", "JWTWARDEN_PORT": "2"}, FIELDS
    )
    assert errors == ["JWTWARDEN_PROT: is not a setting (did you mean JWTWARDEN_PORT?)"]
    assert warnings == ["JWTWARDEN_SOMETHING_ELSE is not a jwtwarden setting; it is ignored"]


def test_should_know_the_variables_read_outside_the_settings() -> None:
    environ = {"JWTWARDEN_CONFIG": "a", "JWTWARDEN_KEY_DIR": "b", "JWTWARDEN_KEYS": "c"}
    # The test suite's variables, though JWTWARDEN_TEST_REDIS_URL is close to a setting's name.
    environ |= {"JWTWARDEN_TEST_REDIS_URL": "redis://", "JWTWARDEN_TEST_POSTGRES_URL": "pg"}
    assert unknown_variables(environ, FIELDS) == ([], [])
