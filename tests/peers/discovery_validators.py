"""The discovery-document validators of oic, idpyoidc and the MCP SDK, run in their own
environment (``tests/peers/discovery-validators``: requirements.txt pins it, validate.py runs
them). ``scripts/test`` makes the environment and names its python in
``JWTWARDEN_TEST_VALIDATORS_PYTHON``; else ``tests/peers/discovery-validators/.venv`` is used if
it exists. Without either a test skips locally and fails under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

PEER = Path(__file__).resolve().parent / "discovery-validators"
IN_CI = os.environ.get("CI", "").lower() == "true"
NAMES = ("oic", "idpyoidc", "mcp")


def validators_python() -> str:
    """The python of the validators' environment, or skip (fail under ``CI=true``)."""
    named = os.environ.get("JWTWARDEN_TEST_VALIDATORS_PYTHON")
    path = Path(named) if named else PEER / ".venv" / "bin" / "python"
    if not path.is_file():
        problem = (
            f"the discovery validators' environment is missing ({path}): scripts/test makes it,"
            f" or `pip install -r {PEER.relative_to(PEER.parents[2])}/requirements.txt` in"
            " a virtual environment at tests/peers/discovery-validators/.venv"
        )
        if IN_CI:
            pytest.fail(problem + " (CI=true, so this is a failure, not a skip)")
        pytest.skip(problem)
    return str(path)


def verdicts(*documents: dict[str, Any]) -> list[dict[str, dict[str, Any]]]:
    """Each library's verdict on each document: ``{"oic": {"accepted": bool, "error"?: str},
    ...}``, one process for all of them."""
    done = subprocess.run(
        [validators_python(), str(PEER / "validate.py")],
        input=json.dumps(list(documents)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: list[dict[str, dict[str, Any]]] = json.loads(done.stdout)
    assert len(answer) == len(documents) and all(set(v) == set(NAMES) for v in answer), answer
    return answer
