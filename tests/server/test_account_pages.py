"""The account lifecycle's hosted pages (issue 15), driven as a browser does (its own cookie
jar for the ``__Host-`` cookies, the forms' hidden fields, an ``Origin`` on every post) against
the app in process, the development file outbox as the mailbox: sign-up only when switched on,
the same page for known and unknown addresses, the links' landings (token read from the
fragment by the nonce'd script, a link dead once used), CSRF and Origin refusals, and the
signed-in pages (change of address, deletion) behind the password."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jwtwarden.accounts.mail import read_outbox
from jwtwarden.server.app import create_app
from jwtwarden.server.pages.lifecycle import FRAGMENT_SCRIPT
from jwtwarden.server.settings import Settings

from .authorize_support import hidden_fields
from .support import App

PASSWORD = "a perfectly long password"
NEW_PASSWORD = "another perfectly long password"
ORIGIN = "http://127.0.0.1:8000"  # the App's default issuer


class Server(App):
    async def last_link(self, to: str) -> tuple[str, str]:
        """The path and the fragment token of the last link mailed to ``to``."""
        await self.runtime.lifecycle.drain()
        mine = [m for m in read_outbox(Path(self.runtime.settings.data_dir) / "outbox")]
        mine = [m for m in mine if m["To"] == to]
        assert mine, f"no mail to {to}"
        found = re.search(r"https?://[^/\s]+(/\S+)#token=(\S+)", mine[-1].get_content())
        assert found is not None, "the last mail holds no link"
        return found.group(1), found.group(2)

    async def mail_count(self, to: str) -> int:
        await self.runtime.lifecycle.drain()
        outbox = read_outbox(Path(self.runtime.settings.data_dir) / "outbox")
        return sum(1 for m in outbox if m["To"] == to)


class Browser:
    """One browser over the ASGI transport: cookies by name, ``Origin`` on form posts."""

    def __init__(self, server: Server) -> None:
        self.http = server.client()
        self.cookies: dict[str, str] = {}

    def _remember(self, response: httpx.Response) -> httpx.Response:
        for header in response.headers.get_list("set-cookie"):
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0].strip('"')
            if "max-age=0" in rest.lower() or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def _headers(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    async def get(self, path: str) -> httpx.Response:
        return self._remember(await self.http.get(path, headers=self._headers()))

    async def post(
        self, path: str, data: dict[str, str], *, origin: str | None = ORIGIN
    ) -> httpx.Response:
        headers = self._headers()
        if origin is not None:
            headers["origin"] = origin
        return self._remember(await self.http.post(path, data=data, headers=headers))

    async def submit(self, page: str, **fields: str) -> httpx.Response:
        """GET the form ``page``, then post its hidden fields with ``fields``."""
        form = await self.get(page)
        assert form.status_code == 200, form.text
        action = re.search(r'<form method="post" action="([^"]+)"', form.text)
        assert action is not None, form.text
        return await self.post(action.group(1), {**hidden_fields(form.text), **fields})

    async def sign_in(self, email: str, password: str = PASSWORD) -> None:
        r = await self.submit("/signin", email=email, password=password)
        assert r.status_code == 303 and r.headers["location"] == "/account", r.text


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async for s in _server(tmp_path, signup=True):
        yield s


async def _server(tmp_path: Path, **settings: Any) -> AsyncIterator[Server]:
    app = create_app(Settings(data_dir=tmp_path / "data", **settings))
    async with app.router.lifespan_context(app):
        server = Server(app)
        await server.runtime.service.create_user("ada@example.test", PASSWORD)
        await server.runtime.service.create_user("bob@example.test", PASSWORD)
        yield server


@pytest.fixture
async def browser(server: Server) -> AsyncIterator[Browser]:
    b = Browser(server)
    yield b
    await b.http.aclose()


def _without_nonce(page: httpx.Response) -> str:
    return re.sub(r"nonce=\"[^\"]+\"", "nonce", page.text)


async def _can_log_in(server: Server, email: str, password: str) -> bool:
    async with server.client() as c:
        r = await c.post("/auth/login", json={"email": email, "password": password})
    return r.status_code == 200


# --- sign-up ----------------------------------------------------------------------------------


async def test_should_close_the_sign_up_page_and_hide_its_link_by_default(tmp_path: Path) -> None:
    async for off in _server(tmp_path):
        async with off.client() as c:
            page = await c.get("/signup")
            signin = await c.get("/signin")
        assert page.status_code == 403
        assert 'href="/signup"' not in signin.text
        assert 'href="/forgot-password"' in signin.text


async def test_should_sign_up_and_verify_through_the_pages_once(
    server: Server, browser: Browser
) -> None:
    signin = await browser.get("/signin")
    assert 'href="/signup"' in signin.text
    done = await browser.submit("/signup", email="eve@example.test", password=PASSWORD)
    assert done.status_code == 200 and "Check your e-mail" in done.text
    path, token = await server.last_link("eve@example.test")
    assert path == "/account/verify"
    landing = await browser.get(path)
    assert landing.status_code == 200
    # The token is read from the fragment by the one script, allowed by the nonce alone.
    nonce = re.search(r'<script nonce="([^"]+)">', landing.text)
    assert nonce is not None and FRAGMENT_SCRIPT in landing.text
    policy = landing.headers["content-security-policy"]
    assert f"script-src 'nonce-{nonce.group(1)}'" in policy and "default-src 'none'" in policy
    form = {**hidden_fields(landing.text), "token": token}
    first = await browser.post("/account/verify-email", form)
    assert first.status_code == 200 and "Your e-mail address is confirmed." in first.text
    user = await server.runtime.users.user_by_email("eve@example.test")
    assert user is not None and user.email_verified
    again = await browser.post("/account/verify-email", form)
    assert again.status_code == 400 and "not valid any more" in again.text


async def test_should_answer_sign_up_with_the_same_page_for_a_taken_address(
    server: Server, browser: Browser
) -> None:
    new = await browser.submit("/signup", email="eve@example.test", password=PASSWORD)
    taken = await browser.submit("/signup", email="ada@example.test", password=PASSWORD)
    assert (new.status_code, _without_nonce(new)) == (taken.status_code, _without_nonce(taken))
    assert await server.mail_count("ada@example.test") == 1  # a notice to the owner


async def test_should_link_a_refused_password_to_its_input(browser: Browser) -> None:
    r = await browser.submit("/signup", email="eve@example.test", password="short")
    assert r.status_code == 400
    assert 'aria-describedby="form-error"' in r.text and 'id="form-error"' in r.text
    assert 'value="eve@example.test"' in r.text


# --- forgot password and reset ----------------------------------------------------------------


async def test_should_answer_forgot_password_with_the_same_page_for_an_unknown_address(
    server: Server, browser: Browser
) -> None:
    known = await browser.submit("/forgot-password", email="ada@example.test")
    unknown = await browser.submit("/forgot-password", email="nobody@example.test")
    assert known.status_code == unknown.status_code == 200
    assert _without_nonce(known) == _without_nonce(unknown)
    assert await server.mail_count("ada@example.test") == 1
    assert await server.mail_count("nobody@example.test") == 0


async def test_should_reset_a_password_through_the_landing_once(
    server: Server, browser: Browser
) -> None:
    await browser.submit("/forgot-password", email="ada@example.test")
    path, token = await server.last_link("ada@example.test")
    assert path == "/account/reset"
    landing = await browser.get(path)
    assert (
        'autocomplete="new-password"' in landing.text and '<label for="password">' in landing.text
    )
    form = {**hidden_fields(landing.text), "token": token, "password": NEW_PASSWORD}
    first = await browser.post("/account/reset-password", form)
    assert first.status_code == 200 and "Password changed" in first.text
    assert await _can_log_in(server, "ada@example.test", NEW_PASSWORD)
    form["password"] = PASSWORD
    again = await browser.post("/account/reset-password", form)
    assert again.status_code == 400 and "not valid any more" in again.text
    assert await _can_log_in(server, "ada@example.test", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("landing", "fields"),
    [("/account/verify", {}), ("/account/reset", {"password": NEW_PASSWORD})],
)
async def test_should_say_the_code_is_missing_when_a_landing_posts_no_token(
    server: Server, browser: Browser, landing: str, fields: dict[str, str]
) -> None:
    # The landing's script did not run (JavaScript off): the link was never tried, so the
    # answer must not call it dead and send the person for a new one.
    await browser.submit("/forgot-password", email="ada@example.test")
    _, token = await server.last_link("ada@example.test")
    r = await browser.submit(landing, token="", **fields)
    assert r.status_code == 400 and "This page did not get the link" in r.text
    assert "not valid any more" not in r.text
    assert await _can_log_in(server, "ada@example.test", PASSWORD)
    # The link still works.
    landed = await browser.submit("/account/reset", token=token, password=NEW_PASSWORD)
    assert landed.status_code == 200 and "Password changed" in landed.text


# --- CSRF and Origin --------------------------------------------------------------------------

SIGNED_OUT_FORMS = {
    "/signup": {"email": "eve@example.test", "password": PASSWORD},
    "/forgot-password": {"email": "ada@example.test"},
    "/account/verify": {"token": "x"},
    "/account/reset": {"token": "x", "password": NEW_PASSWORD},
}
REFUSALS = {
    "a post without the CSRF token": ({"csrf_token": None}, ORIGIN),
    "a post with another CSRF token": ({"csrf_token": "forged"}, ORIGIN),
    "a post from another site": ({}, "https://evil.example.test"),
    "a post with no Origin": ({}, None),
}


@pytest.mark.parametrize("page", sorted(SIGNED_OUT_FORMS))
@pytest.mark.parametrize("refusal", sorted(REFUSALS))
async def test_should_refuse_a_signed_out_form_post_that_fails_the_csrf_checks(
    server: Server, browser: Browser, page: str, refusal: str
) -> None:
    form_page = await browser.get(page)
    action = re.search(r'<form method="post" action="([^"]+)"', form_page.text)
    assert action is not None
    changes, origin = REFUSALS[refusal]
    data = {**hidden_fields(form_page.text), **SIGNED_OUT_FORMS[page], **changes}
    r = await browser.post(
        action.group(1), {k: v for k, v in data.items() if v is not None}, origin=origin
    )
    assert r.status_code == 403 and "Request refused" in r.text
    assert await server.mail_count("eve@example.test") == 0
    assert await server.mail_count("ada@example.test") == 0


# --- signed in: change of address, deletion ---------------------------------------------------


async def test_should_link_the_lifecycle_pages_from_the_account_page(browser: Browser) -> None:
    await browser.sign_in("ada@example.test")
    page = await browser.get("/account")
    assert 'href="/account/change-email"' in page.text
    assert 'href="/account/delete-account"' in page.text


async def test_should_end_the_hosted_sign_in_when_an_admin_ends_the_sessions(
    server: Server, browser: Browser
) -> None:
    # An admin ending an account's sessions ends its sign-in at jwtwarden too: a browser still
    # signed in would otherwise get new codes from /oauth/authorize without a password.
    await server.runtime.service.create_user("root@example.test", PASSWORD, is_admin=True)
    async with server.client() as c:
        login = await c.post(
            "/auth/login", json={"email": "root@example.test", "password": PASSWORD}
        )
        admin = {"authorization": "Bearer " + login.json()["access_token"]}
        await browser.sign_in("ada@example.test")
        assert (await browser.get("/account")).status_code == 200
        ada = await server.runtime.users.user_by_email("ada@example.test")
        ended = await c.post(f"/admin/users/{ada.id}/sessions/revoke", headers=admin)
    assert ended.status_code == 200
    assert ended.json() == {"id": ada.id, "sessions_ended": 0, "signins_ended": 1}
    after = await browser.get("/account")
    assert (after.status_code, after.headers["location"]) == (303, "/signin")


async def test_should_send_the_signed_out_browser_to_the_sign_in(browser: Browser) -> None:
    for path in ("/account/change-email", "/account/delete-account"):
        r = await browser.get(path)
        assert (r.status_code, r.headers["location"]) == (303, "/signin")


async def test_should_change_an_address_only_with_the_password(
    server: Server, browser: Browser
) -> None:
    await browser.sign_in("ada@example.test")
    wrong = await browser.submit(
        "/account/change-email", email="ada.new@example.test", password="wrong password!"
    )
    assert wrong.status_code == 400 and "The password is wrong." in wrong.text
    assert 'aria-describedby="form-error"' in wrong.text
    assert await server.mail_count("ada.new@example.test") == 0
    asked = await browser.submit(
        "/account/change-email", email="ada.new@example.test", password=PASSWORD
    )
    taken = await browser.submit(
        "/account/change-email", email="bob@example.test", password=PASSWORD
    )
    assert asked.status_code == taken.status_code == 200
    assert _without_nonce(asked) == _without_nonce(taken)
    path, token = await server.last_link("ada.new@example.test")
    assert path == "/account/email"
    landing = await browser.get(path)
    done = await browser.post(
        "/account/verify-email", {**hidden_fields(landing.text), "token": token}
    )
    assert done.status_code == 200 and "new e-mail address is confirmed" in done.text
    assert await _can_log_in(server, "ada.new@example.test", PASSWORD)


async def test_should_delete_an_account_only_with_its_password(
    server: Server, browser: Browser
) -> None:
    await browser.sign_in("ada@example.test")
    wrong = await browser.submit("/account/delete-account", password="wrong password!")
    assert wrong.status_code == 400 and 'aria-describedby="form-error"' in wrong.text
    assert await _can_log_in(server, "ada@example.test", PASSWORD)
    done = await browser.submit("/account/delete-account", password=PASSWORD)
    assert done.status_code == 200 and "Your account is deleted." in done.text
    assert "__Host-jwtwarden-signin" not in browser.cookies
    assert await server.runtime.users.user_by_email("ada@example.test") is None


@pytest.mark.parametrize("path", ["/account/change-email", "/account/delete-account"])
@pytest.mark.parametrize("refusal", sorted(REFUSALS))
async def test_should_refuse_a_signed_in_form_post_that_fails_the_csrf_checks(
    server: Server, browser: Browser, path: str, refusal: str
) -> None:
    await browser.sign_in("ada@example.test")
    page = await browser.get(path)
    changes, origin = REFUSALS[refusal]
    data = {**hidden_fields(page.text), "email": "x@example.test", "password": PASSWORD, **changes}
    r = await browser.post(path, {k: v for k, v in data.items() if v is not None}, origin=origin)
    assert r.status_code == 403
    assert await server.runtime.users.user_by_email("ada@example.test") is not None
    assert await server.mail_count("x@example.test") == 0
