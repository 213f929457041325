"""Shared fixtures: test data location, real PostgreSQL and Redis.

PostgreSQL and Redis are real servers (``scripts/test`` starts them when they are missing).
Outside CI a test that needs an absent service is skipped with the reason; with ``CI=true`` it
fails, so a green CI run always exercised them.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT.parent / "shared" / "testdata"
WYCHEPROOF = TESTDATA / "wycheproof"
IN_CI = os.environ.get("CI", "").lower() == "true"

POSTGRES_URL = os.environ.get(
    "JWTWARDEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("JWTWARDEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _need_service(name: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port} (scripts/test starts it)"
    if IN_CI:
        pytest.fail(message + "; CI=true, so this is a failure, not a skip")
    pytest.skip(message)


@pytest.fixture(scope="session")
def wycheproof_dir() -> Path:
    if not WYCHEPROOF.is_dir():
        message = f"Wycheproof vectors not found at {WYCHEPROOF} (../shared/testdata)"
        if IN_CI:
            pytest.fail(message + "; CI=true, so this is a failure, not a skip")
        pytest.skip(message)
    return WYCHEPROOF


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A libpq URL of a real PostgreSQL database (``JWTWARDEN_TEST_POSTGRES_URL``)."""
    _need_service("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A URL of a real Redis server (``JWTWARDEN_TEST_REDIS_URL``)."""
    _need_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL
