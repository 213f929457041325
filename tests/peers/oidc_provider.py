"""The reference OpenID provider (``oidc-provider`` from npm, OpenID Certified) started for a
test on a free 127.0.0.1 port: ``tests/peers/oidc-provider/provider.mjs`` with a JSON
configuration (see that file for the members).

Needs Node.js and ``npm ci`` in tests/peers/oidc-provider (``scripts/test`` runs it); without
them a test skips locally and fails under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._services import free_port

PEER = Path(__file__).resolve().parent / "oidc-provider"
IN_CI = os.environ.get("CI", "").lower() == "true"


def node(folder: Path = PEER, package: str = "oidc-provider") -> str:
    """The ``node`` executable, once ``package`` is installed in ``folder``'s node_modules
    (``npm ci`` there); otherwise skip, or fail under ``CI=true``. The interop tests ask it for
    their own folder and package."""
    path = shutil.which("node")
    problem = None
    if path is None:
        problem = "node is not installed"
    elif not (folder / "node_modules" / package / "package.json").is_file():
        where = folder.relative_to(PEER.parents[2])
        problem = f"the {package} package is missing: run `npm ci` in {where}"
    if problem is not None:
        if IN_CI:
            pytest.fail(problem + " (CI=true, so this is a failure, not a skip)")
        pytest.skip(problem)
    assert path is not None
    return path


@dataclass
class PeerProvider:
    """A running oidc-provider: its issuer URL and its counters (``stats()``)."""

    issuer: str
    process: subprocess.Popen[bytes]
    log: Path

    def stats(self) -> dict[str, Any]:
        """Token endpoint outcomes by grant type (``token``), errors (``errors``)."""
        data: dict[str, Any] = httpx.get(f"{self.issuer}/_peer/stats", trust_env=False).json()
        return data

    def refreshes(self) -> int:
        return int(self.stats()["token"].get("refresh_token", 0))


@contextmanager
def oidc_provider(config: dict[str, Any]) -> Iterator[PeerProvider]:
    """Start provider.mjs with ``config`` (a free port is added); stop it afterwards."""
    executable = node()
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
    log = workdir / "stderr.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [executable, str(PEER / "provider.mjs"), json.dumps({**config, "port": port})],
            cwd=PEER,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith(b"LISTENING "):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(30):
            raise RuntimeError(f"oidc-provider did not start: {log.read_text()[-2000:]}")
        yield PeerProvider(f"http://127.0.0.1:{port}", process, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(workdir, ignore_errors=True)


def web_client(
    base_url: str, secret: str, *, client_id: str = "webapp", **extra: Any
) -> dict[str, Any]:
    """An oidc-provider client for an application at ``base_url``."""
    return {
        "client_id": client_id,
        "client_secret": secret,
        "redirect_uris": [f"{base_url}/callback"],
        "post_logout_redirect_uris": [f"{base_url}/"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        **extra,
    }
