"""The token inspector page (``jwtwarden inspect --web``) in Chromium, and its guards."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jwtwarden import KeySet, generate_key
from jwtwarden._jose.sign import sign_compact

from ..jwks._servers import free_port, wait_until
from .conftest import screenshot

ISS = "https://issuer.example"


@pytest.fixture
def inspector() -> Iterator[str]:
    """``jwtwarden inspect --web`` as a user starts it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "jwtwarden", "inspect", "--web", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"

    def up() -> bool:
        try:
            return httpx.get(base, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, "the inspector to start")
        yield base
    finally:
        process.terminate()
        process.wait(10)


def _token_and_jwks() -> tuple[str, str]:
    key = generate_key("ES256", kid="k1")
    now = int(time.time())
    claims = {"iss": ISS, "aud": "api", "sub": "alice", "iat": now, "exp": now + 600}
    return sign_compact({"typ": "JWT"}, claims, key), json.dumps(KeySet([key]).public_jwks())


def test_should_explain_a_pasted_token_with_its_checks_in_the_page(context: Any, inspector: str):
    token, jwks = _token_and_jwks()
    page = context.new_page()
    page.goto(inspector)
    page.fill("#token", token)
    page.fill("#jwks", jwks)
    page.fill("#issuer", ISS)
    page.fill("#audience", "api")
    page.click("#inspect")
    page.wait_for_selector("#verdict")
    assert page.text_content("#verdict") == "Verdict: valid"
    claims = page.text_content("#claims") or ""
    assert "alice" in claims and re.search(r"Z \(in [0-9.]+ min\)", claims)  # human times
    assert "signature" in (page.text_content("#checks") or "")
    assert token not in page.content()  # not echoed back
    screenshot(page, "inspector")


def test_should_serve_the_inspector_page_with_a_strict_policy_and_no_caching(inspector: str):
    token, _ = _token_and_jwks()
    answer = httpx.post(inspector, data={"token": token}, trust_env=False)
    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no script at all
    assert answer.headers["cache-control"] == "no-store"
    assert token not in answer.text


def test_should_refuse_another_host_and_a_cross_origin_post(inspector: str):
    port = inspector.rsplit(":", 1)[1].strip("/")
    rebound = httpx.get(inspector, headers={"Host": f"evil.example:{port}"}, trust_env=False)
    assert rebound.status_code == 421
    cross = httpx.post(
        inspector,
        data={"token": "x.y.z"},
        headers={"Origin": "https://evil.example"},
        trust_env=False,
    )
    assert cross.status_code == 403
