"""The web-app SDK in a real browser: examples/webapp.py signing in with oidc-provider.

Each test names what it proves (issue 16, "Browser tests"). Tokens are read out of the sealed
cookie with the session secret the test configured, so the assertions can look for the very
strings in what a page's script can reach.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from jwtwarden.webapp import SESSION_COOKIE

from ..jwks._servers import Route, counting_server
from ._pages import script_visible, session_cookie, site_cookies, tokens
from .conftest import ACCESS_TOKEN_TTL, REFRESH_MARGIN, Site, screenshot


def sign_in(page: Any, site: Site, *, login: str = "alice", shot: bool = False) -> None:
    """From the app's protected page through the provider's sign-in form back to /me."""
    page.goto(f"{site.base}/me")
    page.wait_for_selector('input[name="login"]')
    assert page.url.startswith(site.provider.issuer)  # at the provider, not the app
    if shot:
        screenshot(page, "sign-in-page")
    page.fill('input[name="login"]', login)
    page.fill('input[name="password"]', "any password")
    page.click('button[type="submit"]')
    page.wait_for_url(f"{site.base}/me")


def wait_for_access_token_to_be_due() -> None:
    # The SDK refreshes REFRESH_MARGIN seconds before exp; sleeping past the lifetime makes
    # the next request's token due whatever the rounding of iat.
    time.sleep(ACCESS_TOKEN_TTL - REFRESH_MARGIN + 1.5)


def test_should_sign_in_through_the_provider_and_land_on_me_with_the_users_email(
    context: Any, site: Site
):
    page = context.new_page()
    sign_in(page, site, shot=True)
    assert page.text_content("#user") == "alice@example.test"
    screenshot(page, "me")


def test_should_never_let_a_page_script_read_a_token(context: Any, site: Site):
    page = context.new_page()
    sign_in(page, site)
    sealed = tokens(context, site)
    visible = script_visible(page)
    assert json.loads(visible) == {"cookie": "", "local": {}, "session": {}}
    page.goto(f"{site.base}/spa")
    page.locator("#spa", has_text="in memory").wait_for()
    visible = script_visible(page)
    for name, token in sealed.items():
        assert token not in visible, name
        # Not even a part: the JWT's signature segment or the opaque refresh token's middle.
        assert token[-20:] not in visible, name


def test_should_mark_every_session_cookie_httponly_secure_and_samesite(context: Any, site: Site):
    page = context.new_page()
    sign_in(page, site)
    ours = [c for c in site_cookies(context, site) if c["name"].startswith("__Host-")]
    assert [c["name"] for c in ours] == [SESSION_COOKIE]  # the sign-in cookie was cleared
    for cookie in ours:
        assert cookie["httpOnly"] is True
        # Secure from http://127.0.0.1: Chromium treats loopback as a secure context.
        assert cookie["secure"] is True
        assert cookie["sameSite"] == "Lax"
        assert cookie["path"] == "/"
        assert cookie["domain"] == "127.0.0.1"  # host-only, no Domain attribute
        assert len(cookie["name"]) + len(cookie["value"]) < 4000


def test_should_keep_the_session_across_a_reload(context: Any, site: Site):
    page = context.new_page()
    sign_in(page, site)
    page.reload()
    assert page.url == f"{site.base}/me"
    assert page.text_content("#user") == "alice@example.test"


def test_should_keep_pages_working_across_expiry_with_one_refresh_at_the_provider(
    context: Any, site: Site
):
    page = context.new_page()
    sign_in(page, site)
    before = tokens(context, site)
    assert site.provider.refreshes() == 0
    wait_for_access_token_to_be_due()
    page.reload()
    assert page.text_content("#user") == "alice@example.test"
    page.reload()
    assert page.text_content("#user") == "alice@example.test"
    assert site.provider.refreshes() == 1
    after = tokens(context, site)
    assert after["access"] != before["access"]
    assert after["refresh"] != before["refresh"]  # rotated, and the new one kept


def test_should_keep_the_session_when_two_tabs_refresh_at_once(context: Any, site: Site):
    first = context.new_page()
    sign_in(first, site)
    second = context.new_page()
    second.goto(f"{site.base}/me")
    wait_for_access_token_to_be_due()
    # Both tabs ask with the same (due) session cookie before either answer came back.
    second.evaluate("() => { window.location.href = '/me?tab=2'; }")
    first.goto(f"{site.base}/me?tab=1")
    second.wait_for_url(f"{site.base}/me?tab=2")
    second.wait_for_selector("#user")
    assert first.text_content("#user") == "alice@example.test"
    assert second.text_content("#user") == "alice@example.test"
    assert site.provider.refreshes() == 1
    assert site.provider.stats()["errors"] == {}  # no reuse detected
    for page in (first, second):
        page.reload()
        assert page.text_content("#user") == "alice@example.test"


def test_should_clear_the_session_on_sign_out_and_show_no_user_data_on_back(
    context: Any, site: Site
):
    page = context.new_page()
    sign_in(page, site)
    page.click("#sign-out")
    page.wait_for_selector('button[value="yes"]')  # the provider's RP-initiated logout
    page.click('button[value="yes"]')
    page.wait_for_url(f"{site.base}/")
    assert session_cookie(context, site) is None
    assert site.provider.stats()["end_session"] == 1
    page.go_back()
    page.wait_for_load_state()
    assert "alice@example.test" not in page.content()
    page.goto(f"{site.base}/me")
    assert page.url.startswith(site.provider.issuer)  # sign-in again, at the provider


def test_should_refuse_a_cross_site_form_post_to_a_state_changing_route(context: Any, site: Site):
    page = context.new_page()
    sign_in(page, site)
    with counting_server() as attacker:
        attacker.routes["/attack"] = Route(
            200,
            (
                f'<form id="f" method="post" action="{site.base}/logout">'
                '<input name="csrf_token" value="guessed"></form>'
                '<button id="go" form="f" type="submit">win a prize</button>'
            ).encode(),
            {"Content-Type": "text/html"},
        )
        # localhost and 127.0.0.1 are different sites: the POST is cross-site.
        page.goto(attacker.url("/attack", host="localhost"))
        with page.expect_response(f"{site.base}/logout") as answer:
            page.click("#go")
        assert answer.value.status == 403
    page.goto(f"{site.base}/me")
    assert page.text_content("#user") == "alice@example.test"  # still signed in


def test_should_end_the_session_when_its_refresh_token_was_copied_and_used_elsewhere(
    context: Any, site: Site
):
    page = context.new_page()
    sign_in(page, site)
    stolen = tokens(context, site)["refresh"]
    # The thief redeems the refresh token from another machine (a direct token request).
    used = httpx.post(
        f"{site.provider.issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": stolen},
        auth=(site.client_id, site.client_secret),
        trust_env=False,
    )
    assert used.status_code == 200
    wait_for_access_token_to_be_due()
    response = page.reload()
    assert response is not None and response.status == 401
    assert page.text_content("h1") == "Your session has ended"
    assert session_cookie(context, site) is None
    assert site.provider.stats()["errors"] == {"refresh_token:invalid_grant": 1}
    # The provider revoked the whole grant: the thief's rotated token is dead too.
    again = httpx.post(
        f"{site.provider.issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": used.json()["refresh_token"]},
        auth=(site.client_id, site.client_secret),
        trust_env=False,
    )
    assert again.json()["error"] == "invalid_grant"


def test_should_run_the_flask_example_through_sign_in_refresh_and_sign_out(
    context: Any, flask_site: Site
):
    site = flask_site
    page = context.new_page()
    sign_in(page, site)
    assert page.text_content("#user") == "alice@example.test"
    cookie = session_cookie(context, site)
    assert cookie is not None
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")
    wait_for_access_token_to_be_due()
    page.reload()
    page.reload()
    assert page.text_content("#user") == "alice@example.test"
    assert site.provider.refreshes() == 1
    page.click("#sign-out")
    page.click('button[value="yes"]')
    page.wait_for_url(f"{site.base}/")
    assert session_cookie(context, site) is None
