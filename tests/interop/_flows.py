"""What the openid-client flow tests share: Node with the package
(``tests.peers.oidc_provider.node``: skip locally, fail under ``CI=true``), the settings under
which accounts hold the scopes (for ``tests.server.support.serve_with_client``), and running a
flow script (``code_flow.mjs``, ``oidc_flow.mjs``). Each test asserts on what its script
reports."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.peers.oidc_provider import node

HERE = Path(__file__).resolve().parent

# Every account may have read and write (issue 15: scopes come from roles).
SCOPES_FROM_ROLES = {
    "JWTWARDEN_SCOPES": "read,write",
    "JWTWARDEN_ROLES": '{"member": ["read", "write"]}',
    "JWTWARDEN_DEFAULT_ROLES": "member",
}


def run_flow(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``node script args...`` from this folder (its node_modules); the caller checks it."""
    return subprocess.run(
        [node(HERE, "openid-client"), str(HERE / script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
