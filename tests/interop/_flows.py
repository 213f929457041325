"""What the openid-client flow tests share: Node and the package (skip locally, fail under
``CI=true``), the server settings under which accounts hold the scopes (for
``tests.server.support.serve_with_client``), and running a flow script (``code_flow.mjs``,
``oidc_flow.mjs``) against the server.
Each test asserts on what its script reports."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

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


# Every account may have read and write (issue 15: scopes come from roles).
SCOPES_FROM_ROLES = {
    "JWTWARDEN_SCOPES": "read,write",
    "JWTWARDEN_ROLES": '{"member": ["read", "write"]}',
    "JWTWARDEN_DEFAULT_ROLES": "member",
}


def run_flow(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``node script args...`` from this folder (its node_modules); the caller checks it."""
    return subprocess.run(
        [node(), str(HERE / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
