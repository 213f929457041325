"""The account lifecycle's hosted pages (issue 15) in Chromium (Playwright, Debian's
/usr/bin/chromium) against a real ``jwtwarden serve`` on 127.0.0.1, the development file
outbox as the mailbox: sign-up and the verification link, forgot-password and the reset link
(once only), from the keyboard. On the links' landings the one nonce'd script runs under the
strict CSP (no violation, no console error), copies the fragment's token into the form and
takes it out of the address bar; the token is in no URL the browser requests and in no
``Referer``, only in the form's body. Without JavaScript the landing says what to do (its
``<noscript>`` paragraph), and a form sent anyway repeats it instead of calling the link dead."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from jwtwarden.accounts.mail import read_outbox
from tests.server.support import run_cli, serve_with_account

from .conftest import screenshot

PASSWORD = "a long and honest password"
NEW_PASSWORD = "another long and honest password"
NEWCOMER = "newcomer@example.test"
FORGETFUL = "forgetful@example.test"
NO_SCRIPT = "This page needs JavaScript to read the link's code."

pytestmark = pytest.mark.browser

# Every CSP violation of every document the page loads, reported to the test (an init script
# is injected by the browser, not by the page, so the page's CSP does not apply to it).
_REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', e => {
  window.reportViolation(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("account-pages-browser")
    with serve_with_account(tmp, (FORGETFUL, PASSWORD), {"JWTWARDEN_SIGNUP": "true"}) as process:
        yield {
            "url": process.base_url,
            "env": process.env,
            "outbox": tmp / "data" / "outbox",
            "p": process,
        }


def _mail_to(outbox: Path, to: str, count: int, timeout: float = 15.0) -> EmailMessage:
    """The ``count``-th message to ``to`` (mail is sent after the answer, so wait for it)."""
    deadline = time.monotonic() + timeout
    while True:
        mine = [m for m in read_outbox(outbox) if m["To"] == to]
        if len(mine) >= count:
            return mine[count - 1]
        assert time.monotonic() < deadline, f"no mail number {count} to {to}"
        time.sleep(0.1)


def _link(message: EmailMessage) -> tuple[str, str]:
    """The link of a message and its fragment's token."""
    found = re.search(r"(https?://\S+)#token=(\S+)", message.get_content())
    assert found is not None, "the message holds no link"
    return found.group(1) + "#token=" + found.group(2), found.group(2)


def _account(server: dict[str, Any], email: str) -> dict[str, Any]:
    shown = run_cli(["users", "show", email, "--json"], server["env"])
    assert shown.returncode == 0, shown.stderr
    body: dict[str, Any] = json.loads(shown.stdout)
    return body


class Watched:
    """A context on the server only, with every request, console message, page error and
    CSP violation of its pages recorded."""

    def __init__(self, browser: Any, **options: Any) -> None:
        self.context = browser.new_context(**options)
        self.requests: list[Any] = []
        self.problems: list[str] = []
        self.context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if urlsplit(route.request.url).hostname == "127.0.0.1"
                else route.abort()
            ),
        )
        self.context.on("request", lambda r: self.requests.append(r))
        if options.get("java_script_enabled", True):
            self.context.expose_function("reportViolation", lambda v: self.problems.append(v))
            self.context.add_init_script(_REPORT_VIOLATIONS)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))

    def _console(self, message: Any) -> None:
        # A 4xx answer (a wrong password, a dead link) is logged as a failed load: expected.
        if message.type in ("error", "warning") and not message.text.startswith(
            "Failed to load resource: the server responded with a status of 4"
        ):
            self.problems.append(message.text)

    def leaks(self, token: str) -> list[str]:
        """Where the token was sent other than in a form's body: URLs and headers."""
        found = []
        for request in self.requests:
            if token in request.url:
                found.append(request.url)
            for name, value in request.all_headers().items():
                if token in value:
                    found.append(f"{name}: {value}")
        return found

    def bodies(self, path: str) -> list[str]:
        return [
            r.post_data or ""
            for r in self.requests
            if r.method == "POST" and urlsplit(r.url).path == path
        ]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = Watched(browser)
    try:
        yield context
    finally:
        context.close()


def _sign_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(base + "/signin")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_should_sign_up_and_verify_the_address_with_the_link_in_chromium(
    watched: Watched, server: dict[str, Any]
) -> None:
    page, base = watched.page, server["url"]
    page.goto(base + "/signup")
    assert page.locator("h1").inner_text() == "Create an account"
    screenshot(page, "account-signup")
    page.keyboard.type(NEWCOMER)  # the email field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Check your e-mail"
    assert not _account(server, NEWCOMER)["email_verified"]

    link, token = _link(_mail_to(server["outbox"], NEWCOMER, 1))
    assert urlsplit(link).path == "/account/verify"
    page.goto(link)
    assert page.locator("h1").inner_text() == "Confirm your e-mail address"
    # The script ran: the token is in the form, the fragment out of the address bar.
    assert page.locator("#token").input_value() == token
    assert page.url == base + "/account/verify"
    assert not page.locator("noscript > p.error").is_visible()
    screenshot(page, "account-verify")
    page.keyboard.press("Tab")  # the one focusable element: the button
    assert page.evaluate("document.activeElement.textContent") == "Confirm"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Address confirmed"
    assert page.get_by_role("status").inner_text() == "Your e-mail address is confirmed."
    assert _account(server, NEWCOMER)["email_verified"]

    assert watched.problems == []  # no CSP violation, no console error
    assert watched.leaks(token) == []  # in no request URL, no Referer, no other header
    assert any(token in body for body in watched.bodies("/account/verify-email"))
    assert token not in server["p"].log()


def test_should_reset_a_password_with_the_link_once_in_chromium(
    watched: Watched, server: dict[str, Any]
) -> None:
    page, base = watched.page, server["url"]
    page.goto(base + "/signin")
    page.get_by_role("link", name="Forgot your password?").click()
    assert page.locator("h1").inner_text() == "Forgot your password?"
    page.keyboard.type(FORGETFUL)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Check your e-mail"

    link, token = _link(_mail_to(server["outbox"], FORGETFUL, 1))
    assert urlsplit(link).path == "/account/reset"
    page.goto(link)
    assert page.locator("h1").inner_text() == "Choose a new password"
    assert page.locator("#token").input_value() == token
    assert page.url == base + "/account/reset"
    screenshot(page, "account-reset")
    page.keyboard.type(NEW_PASSWORD)  # the new password field has the focus
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Password changed"

    _sign_in(page, base, FORGETFUL, PASSWORD)
    assert urlsplit(page.url).path == "/signin"
    assert page.get_by_role("alert").is_visible()
    _sign_in(page, base, FORGETFUL, NEW_PASSWORD)
    assert urlsplit(page.url).path == "/account"
    after_reset = _account(server, FORGETFUL)["auth_version"]

    # The same link again: the dead-link answer on the landing's form.
    page.goto(link)
    assert page.locator("#token").input_value() == token
    page.keyboard.type("a third long and honest password")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Choose a new password"
    assert page.get_by_role("alert").inner_text() == (
        "This link is not valid any more (used, expired or replaced). Ask for a new one."
    )
    screenshot(page, "account-reset-dead-link")
    # The dead link changed nothing: no new auth version, and this browser is still signed in.
    assert _account(server, FORGETFUL)["auth_version"] == after_reset
    page.goto(base + "/account")
    assert urlsplit(page.url).path == "/account"

    assert watched.problems == []
    assert watched.leaks(token) == []
    assert token not in server["p"].log()


def test_should_say_on_a_landing_without_javascript_that_it_needs_it(
    browser: Any, server: dict[str, Any]
) -> None:
    watched = Watched(browser, java_script_enabled=False)
    try:
        page = watched.page
        page.goto(server["url"] + "/account/reset#token=not.a.real-token")
        assert page.locator("h1").inner_text() == "Choose a new password"
        # The <noscript> paragraph is shown (found by CSS: Playwright's text locators skip
        # <noscript>), above the form; the script did not run (nothing copied, the fragment
        # still in the address bar).
        notice = page.locator("noscript > p.error")
        assert notice.is_visible()
        assert notice.inner_text() == (
            NO_SCRIPT + " Turn it on for this site, then open the link again."
        )
        assert NO_SCRIPT in page.locator("main").inner_text()
        assert page.locator("#token").input_value() == ""
        assert page.url.endswith("#token=not.a.real-token")
        screenshot(page, "account-reset-no-javascript")
        # Sent anyway (keyboard: the password field has the focus): the answer repeats the
        # advice and does not call the link dead (the link was never tried).
        page.keyboard.type(NEW_PASSWORD)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("h1").inner_text() == "Choose a new password"
        assert page.get_by_role("alert").inner_text() == (
            "This page did not get the link's code, so nothing changed. Turn JavaScript on for "
            "this site, then open the link from your e-mail again."
        )
        page.goto(server["url"] + "/account/verify#token=not.a.real-token")
        assert page.locator("h1").inner_text() == "Confirm your e-mail address"
        assert page.locator("noscript > p.error").is_visible()
        assert watched.leaks("not.a.real-token") == []
    finally:
        watched.close()
