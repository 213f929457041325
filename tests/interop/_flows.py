"""What the openid-client flow tests share: Node and the package (skip locally, fail under
``CI=true``), a ``jwtwarden serve`` on 127.0.0.1 with one account and one client registered
through the CLI, and running a flow script (``code_flow.mjs``, ``oidc_flow.mjs``) against it.
Each test asserts on what its script reports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.server.support import ServerProcess, clean_env, free_port, run_cli

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def node() -> str:
    path = shutil.which("node")
    problem = None
    if path is None:
        problem = "node is not installed"
    elif not (HERE / "node_modules" / "openid-client" / "package.json").is_file():
        problem = "the openid-client package is missing: run `npm ci` in tests/interop"
    if problem is not None:
        if IN_CI:
            pytest.fail(problem + " (CI=true, so this is a failure, not a skip)")
        pytest.skip(problem)
    assert path is not None
    return path


def serve_with_client(
    tmp: Path, user: tuple[str, str], client_args: list[str]
) -> Iterator[dict[str, Any]]:
    """Development mode in ``tmp``: scopes read and write (both granted to every account by its
    role), ``user`` (email, password) created, a client created with ``client_args`` (after
    ``clients create``); yields ``{"url", "client"}`` while the server runs."""
    port = free_port()
    env = clean_env(
        {
            "JWTWARDEN_DATA_DIR": str(tmp / "data"),
            "JWTWARDEN_ISSUER": f"http://127.0.0.1:{port}",
            "JWTWARDEN_SCOPES": "read,write",
            # Every account may have read and write (issue 15: scopes come from roles).
            "JWTWARDEN_ROLES": '{"member": ["read", "write"]}',
            "JWTWARDEN_DEFAULT_ROLES": "member",
        }
    )
    made = run_cli(
        ["users", "create", user[0], "--password-stdin", "--create-database"],
        env,
        stdin=user[1] + "\n",
    )
    assert made.returncode == 0, made.stderr
    done = run_cli(["clients", "create", *client_args, "--json"], env)
    assert done.returncode == 0, done.stderr
    process = ServerProcess(env, port, tmp / "server.log")
    try:
        process.wait_ready()
        yield {"url": process.base_url, "client": json.loads(done.stdout)}
    finally:
        process.stop()


def run_flow(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``node script args...`` from this folder (its node_modules); the caller checks it."""
    return subprocess.run(
        [node(), str(HERE / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
