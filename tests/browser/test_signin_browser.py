"""The hosted sign-in in Chromium (Playwright, Debian's /usr/bin/chromium) against a real
``jwtwarden serve`` on 127.0.0.1: a browser accepts the ``__Host-`` ``Secure`` cookies from a
loopback http origin, the strict CSP lets the page's own style apply and the redirect to the
client after the form (``form-action``) go through, and the form works from the keyboard
alone. The client's redirect URI is answered by the test (no request leaves the machine)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.server.support import ServerProcess, clean_env, free_port, run_cli

from .conftest import screenshot

REDIRECT = "https://app.example.test/cb"
USER = ("chromium-user@example.test", "a long and honest password")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("signin-browser")
    port = free_port()
    env = clean_env(
        {"JWTWARDEN_DATA_DIR": str(tmp / "data"), "JWTWARDEN_ISSUER": f"http://127.0.0.1:{port}"}
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
            "Browser app",
            "--type",
            "public",
            "--redirect-uri",
            REDIRECT,
            "--json",
        ],
        env,
    )
    assert done.returncode == 0, done.stderr
    process = ServerProcess(env, port, tmp / "server.log")
    try:
        process.wait_ready()
        yield {"url": process.base_url, "client_id": json.loads(done.stdout)["client_id"]}
    finally:
        process.stop()


def test_should_sign_in_with_the_keyboard_in_chromium_and_land_on_the_client_with_a_code(
    browser: Any, server: dict[str, Any]
) -> None:
    context = browser.new_context()
    callbacks: list[str] = []

    def route(route: Any) -> None:
        # Routes see no redirect hop: the redirect to the client is seen as a request (below),
        # which Chromium issues only if the CSP's form-action allows it; it then fails to
        # resolve (the client's host does not exist), and nothing leaves the machine.
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    context.route("**/*", route)
    context.on("request", lambda r: callbacks.append(r.url) if r.url.startswith(REDIRECT) else None)
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda message: problems.append(message.text))
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": server["client_id"],
                "redirect_uri": REDIRECT,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": "chromium-state",
            }
        )
        page.goto(f"{server['url']}/oauth/authorize?{query}")
        assert page.locator("h1").inner_text() == "Sign in"
        # The style applied: the CSP nonce let the page's own <style> in.
        assert page.locator("button").evaluate("b => getComputedStyle(b).borderRadius") == "8px"
        screenshot(page, "signin")
        # Keyboard only: the email field has the focus, Tab moves to the password, Enter sends.
        page.keyboard.type(USER[0])
        page.keyboard.press("Tab")
        page.keyboard.type(USER[1])
        with page.expect_request(lambda r: r.url.startswith(REDIRECT)):
            page.keyboard.press("Enter")
        answer = {k: v[0] for k, v in parse_qs(urlsplit(callbacks[-1]).query).items()}
        assert answer["state"] == "chromium-state" and answer["iss"] == server["url"]
        cookies = {c["name"]: c for c in context.cookies(server["url"])}
        signin = cookies["__Host-jwtwarden-signin"]
        assert signin["secure"] and signin["httpOnly"] and signin["sameSite"] == "Lax"
        assert not [p for p in problems if "Content Security Policy" in p], problems
        token = httpx.post(
            server["url"] + "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "client_id": server["client_id"],
                "code": answer["code"],
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
            },
        )
        assert token.status_code == 200, token.text
        # Signed in now: the next authorization request goes straight back with a code.
        from playwright.sync_api import Error as PlaywrightError

        with (
            page.expect_request(lambda r: r.url.startswith(REDIRECT)),
            contextlib.suppress(PlaywrightError),  # the client's host does not resolve
        ):
            page.goto(f"{server['url']}/oauth/authorize?{query}", wait_until="commit")
        assert "code=" in callbacks[-1] and len(callbacks) == 2
    finally:
        context.close()
