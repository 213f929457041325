"""The test suite's own service provisioning (tests/_services.py), against real binaries."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import _services
from tests.conftest import IN_CI


def _need_binaries() -> None:
    missing = [
        name
        for name, found in (
            ("PostgreSQL (initdb, pg_ctl)", _services.postgres_bindir()),
            ("redis-server", _services.shutil.which("redis-server")),
        )
        if not found
    ]
    if missing:
        message = f"{', '.join(missing)} not installed"
        if IN_CI:
            pytest.fail(message + "; CI=true, so this is a failure, not a skip")
        pytest.skip(message)


def test_should_start_throwaway_servers_on_free_ports_and_stop_them(tmp_path: Path) -> None:
    _need_binaries()
    postgres = _services.start_postgres(tmp_path / "pg")
    redis = _services.start_redis(tmp_path / "redis")
    try:
        assert postgres.port != 5432 and redis.port != 6379
        assert _services.postgres_answers(postgres.url)
        assert _services.redis_answers(redis.url)
        assert redis.url.endswith(f"/{_services.REDIS_TEST_DB}")
    finally:
        postgres.remove()
        redis.stop()
    assert not _services.postgres_answers(postgres.url)
    assert not postgres.directory.exists()  # its files are gone too
    assert not _services.redis_answers(redis.url)


def test_should_use_the_servers_named_in_the_environment_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JWTWARDEN_TEST_POSTGRES_URL", "postgresql://u@127.0.0.1:1/elsewhere")
    monkeypatch.setenv("JWTWARDEN_TEST_REDIS_URL", "redis://127.0.0.1:1/5")
    urls = _services.up(tmp_path)
    assert urls == {
        "JWTWARDEN_TEST_POSTGRES_URL": "postgresql://u@127.0.0.1:1/elsewhere",
        "JWTWARDEN_TEST_REDIS_URL": "redis://127.0.0.1:1/5",
    }
    assert (tmp_path / "started.json").read_text() == "{}"  # nothing started, nothing to stop


def test_should_never_default_to_redis_database_zero() -> None:
    assert _services.REDIS_TEST_DB != 0
    assert _services.DEFAULT_REDIS_URL == "redis://127.0.0.1:6379/11"
