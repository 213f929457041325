"""What the web-app browser tests read out of a page and its context, for either provider
(``test_webapp_browser.py`` with oidc-provider, ``test_webapp_jwtwarden_browser.py`` with
``jwtwarden serve``): the site's cookies, the session cookie, the tokens sealed in it (the
test holds the session secret), and everything a page's script can reach. The assertions stay
in the tests."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import urlsplit

from jwtwarden.webapp import SESSION_COOKIE, CookieSealer

__all__ = ["script_visible", "session_cookie", "site_cookies", "tokens"]


class _Site(Protocol):
    """The example app as these helpers see it: its base URL and its session secret."""

    @property
    def base(self) -> str: ...

    @property
    def session_secret(self) -> str: ...


def site_cookies(context: Any, site: _Site) -> list[dict[str, Any]]:
    """The browser's cookies for the site's host (cookies ignore the port: RFC 6265 8.5).

    Not ``context.cookies(site.base)``: Playwright 1.50 (the lowest declared) leaves every Secure
    cookie out for an http:// URL, loopback included, although Chromium stores and sends them
    there (a loopback origin is a secure context): the lowest-versions leg saw no session cookie
    (1.65 lists them).
    """
    host = urlsplit(site.base).hostname
    return [dict(c) for c in context.cookies() if c["domain"].lstrip(".") == host]


def session_cookie(context: Any, site: _Site) -> dict[str, Any] | None:
    for cookie in site_cookies(context, site):
        if cookie["name"] == SESSION_COOKIE:
            return dict(cookie)
    return None


def tokens(context: Any, site: _Site) -> dict[str, str]:
    """The tokens sealed in the session cookie (the test holds the secret)."""
    cookie = session_cookie(context, site)
    assert cookie is not None
    payload = CookieSealer(site.session_secret).open(SESSION_COOKIE, cookie["value"])
    assert payload is not None
    return {"access": payload["a"], "refresh": payload["r"], "id": payload["t"]}


def script_visible(page: Any) -> str:
    """Everything a script of the page can read: document.cookie and both Web Storages."""
    return str(
        page.evaluate(
            """() => JSON.stringify({
                cookie: document.cookie,
                local: Object.fromEntries(Object.entries(localStorage)),
                session: Object.fromEntries(Object.entries(sessionStorage)),
            })"""
        )
    )
