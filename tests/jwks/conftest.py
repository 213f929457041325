"""Fixtures for the remote key set tests: keys, a fixed clock, a counting server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jwtwarden import FixedClock, generate_key
from jwtwarden.keys.key import Key

from ._servers import CountingServer, counting_server

NOW = 1_800_000_000.0
ISSUER = "https://issuer.example"


@pytest.fixture(scope="session")
def signing_key() -> Key:
    return generate_key("ES256", kid="k1")


@pytest.fixture(scope="session")
def next_key() -> Key:
    return generate_key("ES256", kid="k2")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with counting_server() as srv:
        yield srv
