"""The hosted sign-in in Chromium (Playwright, Debian's /usr/bin/chromium) against a real
``jwtwarden serve`` on 127.0.0.1: a browser accepts the ``__Host-`` ``Secure`` cookies from a
loopback http origin, the strict CSP lets the page's own style apply and the redirect to the
client after the form (``form-action``) go through, and the form works from the keyboard
alone. The client's redirect URI is answered by the test (no request leaves the machine)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.server.authorize_support import authorize_url, code_exchange_form, pkce, query_of
from tests.server.support import serve_with_client

from .conftest import screenshot

REDIRECT = "https://app.example.test/cb"
USER = ("chromium-user@example.test", "a long and honest password")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serve_with_client(
        tmp_path_factory.mktemp("signin-browser"),
        USER,
        ["--name", "Browser app", "--type", "public", "--redirect-uri", REDIRECT],
    ) as (process, client):
        yield {"url": process.base_url, "client_id": client["client_id"]}


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
        verifier, challenge = pkce()
        authorize = authorize_url(
            server["url"], server["client_id"], REDIRECT, challenge, state="chromium-state"
        )
        page.goto(authorize)
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
        answer = query_of(callbacks[-1])
        assert answer["state"] == "chromium-state" and answer["iss"] == server["url"]
        cookies = {c["name"]: c for c in context.cookies(server["url"])}
        signin = cookies["__Host-jwtwarden-signin"]
        assert signin["secure"] and signin["httpOnly"] and signin["sameSite"] == "Lax"
        assert not [p for p in problems if "Content Security Policy" in p], problems
        token = httpx.post(
            server["url"] + "/oauth/token",
            data=code_exchange_form(server["client_id"], answer["code"], REDIRECT, verifier),
        )
        assert token.status_code == 200, token.text
        # Signed in now: the next authorization request goes straight back with a code.
        from playwright.sync_api import Error as PlaywrightError

        with (
            page.expect_request(lambda r: r.url.startswith(REDIRECT)),
            contextlib.suppress(PlaywrightError),  # the client's host does not resolve
        ):
            page.goto(authorize, wait_until="commit")
        assert "code=" in callbacks[-1] and len(callbacks) == 2
    finally:
        context.close()
