"""The run instructions in the docstrings of examples/fastapi_app.py and examples/flask_app.py
work as written (issue 17): the development server started with the docstring's variables
issues tokens for the example's audience and offers its scopes, and the example started with
its own ``API_*`` variables serves ``/items`` to a user who signed in asking for the scope.

The commands are read from the docstring's literal block; the only substitutions are the
ports (8000 and 5001 become free ones) and ``.venv/bin/jwtwarden``, which is the suite's CLI.
"""

from __future__ import annotations

import ast
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ..server.support import clean_env, free_port

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long example passphrase"


def _commands(example: str) -> list[tuple[dict[str, str], list[str]]]:
    """Each command of the docstring's ``::`` block: its variables and its argv."""
    doc = ast.get_docstring(ast.parse((ROOT / "examples" / example).read_text())) or ""
    block = doc.split("::\n", 1)[1].strip("\n").split("\n\n", 1)[0]
    out = []
    for command in block.replace("\\\n", " ").splitlines():
        words = shlex.split(command)
        env = {}
        while "=" in words[0] and not words[0].startswith("-"):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        out.append((env, words))
    return out


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited early:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not start:\n{log.read_text()[-3000:]}")


def _start(
    env: dict[str, str], argv: list[str], cwd: Path, log: Path, ports: dict[str, str]
) -> subprocess.Popen[bytes]:
    argv = [ports.get(word, word) for word in argv]
    if argv[0] == ".venv/bin/jwtwarden":
        argv = [sys.executable, "-m", "jwtwarden", *argv[1:], "--port", ports["8000"]]
    else:
        argv[0] = str(Path(sys.executable).parent / argv[0])  # uvicorn or flask
    values = {k: v.replace("127.0.0.1:8000", f"127.0.0.1:{ports['8000']}") for k, v in env.items()}
    full = {
        **clean_env(values),
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=cwd, env=full, stdout=out, stderr=out)


@pytest.fixture
def ports() -> dict[str, str]:
    return {"8000": str(free_port()), "5001": str(free_port())}


@pytest.mark.parametrize("example", ["fastapi_app.py", "flask_app.py"])
def test_should_serve_items_when_run_as_its_docstring_says(
    example: str, tmp_path: Path, ports: dict[str, str]
) -> None:
    (server_env, server_argv), (app_env, app_argv) = _commands(example)
    assert not [name for name in app_env if name.startswith("JWTWARDEN_")]  # its own names
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(_start(server_env, server_argv, tmp_path, tmp_path / "server.log", ports))
        base = f"http://127.0.0.1:{ports['8000']}"
        _wait(base + "/healthz", processes[0], tmp_path / "server.log")
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "jwtwarden",
                "users",
                "create",
                "ada@example.com",
                "--password-stdin",
            ],
            input=PASSWORD + "\n",
            cwd=tmp_path,
            env=clean_env({}),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert made.returncode == 0, made.stderr
        login = httpx.post(
            base + "/auth/login",
            json={"email": "ada@example.com", "password": PASSWORD, "scope": "items:read"},
        )
        assert login.status_code == 200, login.text
        api_cwd = ROOT  # uvicorn and flask import examples.* from the repository root
        processes.append(_start(app_env, app_argv, api_cwd, tmp_path / "app.log", ports))
        app = f"http://127.0.0.1:{ports['5001']}"
        _wait(app + "/health", processes[1], tmp_path / "app.log")
        bearer = {"authorization": "Bearer " + login.json()["access_token"]}
        items = httpx.get(app + "/items", headers=bearer)
        assert items.status_code == 200, items.text
        assert items.json()["items"] == ["apple", "pear"]
    finally:
        for process in processes:
            process.terminate()
            process.wait(15)


def test_should_read_two_commands_from_each_docstring() -> None:
    for example in ("fastapi_app.py", "flask_app.py"):
        commands = _commands(example)
        assert commands[0][1][0] == ".venv/bin/jwtwarden"
        assert len(commands) == 2
        assert commands[0][0]["JWTWARDEN_AUDIENCE"] == commands[1][0]["API_AUDIENCE"]
