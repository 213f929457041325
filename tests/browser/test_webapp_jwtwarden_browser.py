"""The web-app SDK in Chromium against ``jwtwarden serve`` itself: examples/webapp.py signs in
through jwtwarden's hosted sign-in page (the authorization code flow with PKCE, OpenID
Connect ID tokens), keeps the session in its sealed cookie, refreshes it, and signs out at the
provider (RP-Initiated Logout). The account and client are registered with the CLI
(``tests/browser/jwtwarden_provider.py``).

The provider's access tokens live 300 s at least, so the app's ``refresh_margin`` is set close
to that: an access token is due for refresh a few seconds after it was issued.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from jwtwarden.webapp import SESSION_COOKIE

from ..jwks._servers import free_port
from ._pages import script_visible, session_cookie, tokens
from .conftest import API, configure_webapp, load_example, screenshot, serve
from .jwtwarden_provider import PASSWORD, HostedProvider, jwtwarden_provider

ACCESS_TOKEN_TTL = 300
REFRESH_MARGIN = 296  # due 4 s after it was issued


@dataclass
class HostedSite:
    """examples/webapp.py and the ``jwtwarden serve`` it signs in with."""

    base: str
    hosted: HostedProvider
    session_secret: str

    @property
    def client_id(self) -> str:
        return self.hosted.client_id

    @property
    def client_secret(self) -> str | None:
        return self.hosted.client_secret


@pytest.fixture
def hosted(monkeypatch: pytest.MonkeyPatch) -> Iterator[HostedSite]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with jwtwarden_provider(base, access_token_ttl=ACCESS_TOKEN_TTL, audience=API) as provider:
        assert provider.client_secret is not None
        session_secret = secrets.token_urlsafe(32)
        configure_webapp(
            monkeypatch,
            issuer=provider.issuer,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            base=base,
            session_secret=session_secret,
            refresh_margin=REFRESH_MARGIN,
        )
        with serve(load_example("webapp").app, port):
            yield HostedSite(base, provider, session_secret)


def sign_in(page: Any, site: HostedSite, *, shot: bool = False) -> None:
    """From the app's protected page through jwtwarden's hosted sign-in page back to /me."""
    page.goto(f"{site.base}/me")
    page.wait_for_selector('input[name="email"]')
    assert page.url.startswith(site.hosted.issuer + "/")  # the form is at the provider
    if shot:
        screenshot(page, "jwtwarden-sign-in-page")
    page.fill('input[name="email"]', site.hosted.email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{site.base}/me")


def refreshes(site: HostedSite) -> int:
    """Successful refresh grants the provider counted (its Prometheus metrics)."""
    text = httpx.get(site.hosted.issuer + "/metrics", trust_env=False).text
    found = re.search(r'^jwtwarden_refreshes_total\{result="success"\} (\S+)$', text, re.M)
    return int(float(found.group(1))) if found else 0


def wait_until_due() -> None:
    time.sleep(ACCESS_TOKEN_TTL - REFRESH_MARGIN + 1.5)


def test_should_sign_in_through_the_hosted_jwtwarden_page_and_land_on_me(
    context: Any, hosted: HostedSite
):
    page = context.new_page()
    sign_in(page, hosted, shot=True)
    assert page.text_content("#user") == hosted.hosted.email
    screenshot(page, "jwtwarden-me")
    page.goto(hosted.hosted.issuer + "/account")  # the provider's own account page
    assert hosted.hosted.email in page.content()
    screenshot(page, "jwtwarden-account-page")


def test_should_mark_every_cookie_of_both_sites_httponly_secure_and_samesite(
    context: Any, hosted: HostedSite
):
    page = context.new_page()
    sign_in(page, hosted)
    # Cookies are per host, not per port: the app's and jwtwarden's share 127.0.0.1.
    cookies = context.cookies(hosted.base)
    names = {c["name"] for c in cookies}
    assert SESSION_COOKIE in names
    assert not any(n.startswith("__Host-jwtwarden-signin-") for n in names)  # cleared
    for cookie in cookies:
        assert cookie["httpOnly"] is True, cookie["name"]
        assert cookie["secure"] is True, cookie["name"]
        assert cookie["sameSite"] in ("Lax", "Strict"), cookie["name"]


def test_should_never_let_a_page_script_read_a_token(context: Any, hosted: HostedSite):
    page = context.new_page()
    sign_in(page, hosted)
    sealed = tokens(context, hosted)
    pages = [f"{hosted.base}/me", f"{hosted.base}/spa", hosted.hosted.issuer + "/account"]
    for url in pages:
        page.goto(url)
        if url.endswith("/spa"):
            page.locator("#spa", has_text="in memory").wait_for()
        visible = script_visible(page)
        assert json.loads(visible)["local"] == {} and json.loads(visible)["session"] == {}
        for name, token in sealed.items():
            assert token not in visible, (url, name)
            assert token[-20:] not in visible, (url, name)


def test_should_keep_pages_working_across_a_refresh_with_one_refresh_at_jwtwarden(
    context: Any, hosted: HostedSite
):
    page = context.new_page()
    sign_in(page, hosted)
    before = tokens(context, hosted)
    counted = refreshes(hosted)
    wait_until_due()
    page.reload()
    assert page.text_content("#user") == hosted.hosted.email
    page.reload()  # within the new token's first seconds: no second refresh
    assert page.text_content("#user") == hosted.hosted.email
    assert refreshes(hosted) == counted + 1
    after = tokens(context, hosted)
    assert after["access"] != before["access"]
    assert after["refresh"] != before["refresh"]  # rotated, and the new one kept


def test_should_sign_out_at_jwtwarden_and_show_no_user_data_on_back(
    context: Any, hosted: HostedSite
):
    page = context.new_page()
    sign_in(page, hosted)
    stolen = tokens(context, hosted)["refresh"]
    page.click("#sign-out")
    page.wait_for_url(f"{hosted.base}/")  # RP-initiated logout with the ID token as hint
    assert session_cookie(context, hosted) is None
    page.go_back()
    page.wait_for_load_state()
    assert hosted.hosted.email not in page.content()
    # The refresh token was revoked (RFC 7009) and the provider's sign-in ended too.
    used = httpx.post(
        hosted.hosted.issuer + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": stolen},
        auth=(hosted.client_id, hosted.client_secret),
        trust_env=False,
    )
    assert used.json()["error"] == "invalid_grant"
    page.goto(f"{hosted.base}/me")
    page.wait_for_selector('input[name="email"]')  # asked to sign in again
