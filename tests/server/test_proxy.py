"""Behind a reverse proxy: X-Forwarded-For is believed only from JWTWARDEN_TRUSTED_PROXIES."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.server.support import ServerProcess, clean_env, free_port

FORWARDED = {"x-forwarded-for": "203.0.113.7"}


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [
        # No proxy trusted: the header is ignored, the loopback peer may read /metrics.
        (None, 200),
        # The local proxy is trusted: the client is 203.0.113.7, not loopback, and is refused.
        ("127.0.0.1", 403),
    ],
)
def test_should_take_the_client_address_from_a_trusted_proxy_only(
    tmp_path: Path, trusted: str | None, expected: int
) -> None:
    env = {"JWTWARDEN_DATA_DIR": str(tmp_path / "data")}
    if trusted is not None:
        env["JWTWARDEN_TRUSTED_PROXIES"] = trusted
    server = ServerProcess(clean_env(env), free_port(), tmp_path / "serve.log")
    try:
        server.wait_ready()
        r = httpx.get(server.base_url + "/metrics", headers=FORWARDED, timeout=10)
        assert r.status_code == expected, r.text
    finally:
        server.stop()
