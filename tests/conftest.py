"""Shared fixtures: test data location, real PostgreSQL and Redis.

PostgreSQL and Redis are real servers, named by ``JWTWARDEN_TEST_POSTGRES_URL`` and
``JWTWARDEN_TEST_REDIS_URL`` (``scripts/test`` sets both, starting throwaway instances when no
server answers on the standard ports: see ``tests/_services.py``). Outside CI a test that needs
an absent service is skipped with the reason; with ``CI=true`` it fails, so a green CI run always
exercised them. Redis tests use database 11 and key prefixes of their own, never database 0.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests._logging_state import changes, logging_state, restore
from tests._services import DEFAULT_POSTGRES_URL, DEFAULT_REDIS_URL

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT.parent / "shared" / "testdata"
WYCHEPROOF = TESTDATA / "wycheproof"
IN_CI = os.environ.get("CI", "").lower() == "true"
_DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "redis": 6379}

POSTGRES_URL = os.environ.get("JWTWARDEN_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
REDIS_URL = os.environ.get("JWTWARDEN_TEST_REDIS_URL", DEFAULT_REDIS_URL)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _need_service(name: str, url: str) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or _DEFAULT_PORTS[parts.scheme]
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port} (scripts/test starts one)"
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
    _need_service("PostgreSQL", POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A URL of a real Redis server (``JWTWARDEN_TEST_REDIS_URL``)."""
    _need_service("Redis", REDIS_URL)
    return REDIS_URL


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port held by a listening socket: should ``serve`` start anyway (the regression), uvicorn
    fails to bind and exits 1 instead of serving forever."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """Fail the test that leaves a jwtwarden logger changed (not propagating, disabled, another
    level or handler): every later caplog test would see no records (tests/_logging_state.py).
    jwtwarden never configures its own loggers, so each test must also start from the defaults
    (a module of tests/ changing them at import is caught here, at the first test)."""
    before = logging_state()
    found = changes({}, before)
    if found:
        restore({})  # reported once, by the first test that sees it
        pytest.fail(
            "jwtwarden's logging was changed before this test (at import or collection, or by "
            "an earlier test's fixture): " + "; ".join(found)
        )
    yield
    changed = changes(before, logging_state())
    if changed:
        restore(before)  # only this test fails, not every later one
        pytest.fail("this test left jwtwarden's logging changed: " + "; ".join(changed))
