"""Node's ``openid-client`` (an OpenID Certified relying party library, v6, exact version in
package.json) runs the whole authorization code flow against a real jwtwarden server on
127.0.0.1 (``code_flow.mjs``): discovery (RFC 8414), the authorization URL with PKCE, the
hosted sign-in as a browser submits it, the exchange (it checks ``state`` and RFC 9207
``iss``), refresh, introspection, revocation. Without node or the package these tests skip
locally and fail under ``CI=true``."""

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
REDIRECT = "https://rp.example.test/callback"
USER = ("rp-user@example.test", "a long and honest password")

pytestmark = pytest.mark.node


def _node() -> str:
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


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("openid-client")
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
        ["users", "create", USER[0], "--password-stdin", "--create-database"],
        env,
        stdin=USER[1] + "\n",
    )
    assert made.returncode == 0, made.stderr
    done = run_cli(
        [
            "clients",
            "create",
            "--name",
            "Node RP",
            "--redirect-uri",
            REDIRECT,
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--scope",
            "read",
            "--json",
        ],
        env,
    )
    assert done.returncode == 0, done.stderr
    process = ServerProcess(env, port, tmp / "server.log")
    try:
        process.wait_ready()
        yield {"url": process.base_url, "client": json.loads(done.stdout)}
    finally:
        process.stop()


def test_should_run_the_whole_code_flow_with_node_openid_client(server: dict[str, Any]) -> None:
    client = server["client"]
    done = subprocess.run(
        [
            _node(),
            str(HERE / "code_flow.mjs"),
            server["url"],
            client["client_id"],
            client["client_secret"],
            REDIRECT,
            *USER,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == {
        "authorization_endpoint": server["url"] + "/oauth/authorize",
        "page_status": 200,
        "signin_status": 303,
        "callback_iss": server["url"],
        "scope": "read",
        "has_refresh_token": True,
        "rotated": True,
        "active": True,
        "introspected_client_id": client["client_id"],
        "after_revocation": "invalid_grant",
    }
