"""Every exit code is documented (docs/cli.md, "Exit codes") and each example of that table
runs with the code it is listed under (issue 17); ``serve`` stopped by SIGTERM ends by that
signal after a graceful shutdown, as documented."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from jwtwarden.cli import app

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
runner = CliRunner()


def _table() -> list[tuple[int, str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows: list[tuple[int, str]] = []
    for line in section.splitlines():
        match = re.match(r"\| `(\d)` \|.*\| (.*) \|$", line)
        if match:
            for example in re.findall(r"`(jwtwarden [^`]+)`", match.group(2)):
                rows.append((int(match.group(1)), example))
    return rows


def test_should_document_the_codes_0_1_and_2_each_with_an_example() -> None:
    assert {code for code, _ in _table()} == {0, 1, 2}


@pytest.mark.parametrize(("code", "example"), _table(), ids=[e for _, e in _table()])
def test_should_exit_with_the_documented_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, example: str
) -> None:
    monkeypatch.chdir(tmp_path)  # an empty folder: nothing there to find or to write to
    for name in list(os.environ):
        if name.startswith("JWTWARDEN_"):
            monkeypatch.delenv(name)
    result = runner.invoke(app, shlex.split(example)[1:], input="")
    assert result.exit_code == code, (example, result.output)
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == []  # nothing created by a refused command


def test_should_end_serve_by_sigterm_after_a_graceful_shutdown(tmp_path: Path) -> None:
    from tests.server.support import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JWTWARDEN_")}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    argv = [sys.executable, "-m", "jwtwarden", "serve", "--port", str(port)]
    argv += ["--data-dir", str(tmp_path / "data")]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "serve was not ready"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert returncode == -signal.SIGTERM, output  # a shell shows 143
    assert "Shutting down" in output or "Finished server process" in output
