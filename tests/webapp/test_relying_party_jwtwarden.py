"""The relying party against ``jwtwarden serve`` itself, without a browser: the hosted sign-in
form is posted with httpx as a browser would (its pre-session cookie, CSRF token and
``Origin``), the SDK's engine does the rest. With the server-side session store on real Redis
(database 11, a prefix of the test's own): sign-in, userinfo, refresh, revocation."""

from __future__ import annotations

import dataclasses
import html
import re
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import redis

from jwtwarden.errors import SessionEndedError
from jwtwarden.stores.redis_websessions import SyncRedisWebSessionStore
from jwtwarden.webapp import RelyingParty, WebAppSettings, WebSession

from ..browser.jwtwarden_provider import PASSWORD, HostedProvider, jwtwarden_provider

BASE = "http://127.0.0.1:5998"
API = "https://api.example"


@pytest.fixture(scope="module")
def provider() -> Iterator[HostedProvider]:
    with jwtwarden_provider(BASE, audience=API) as running:
        yield running


def _rp(provider: HostedProvider, **changes: object) -> RelyingParty:
    settings = WebAppSettings(
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        base_url=BASE,
        session_secrets=[secrets.token_urlsafe(32)],
        audience=API,
        allow_loopback_http=True,
    )
    return RelyingParty(settings, **changes)  # type: ignore[arg-type]


def authorize(provider: HostedProvider, url: str) -> dict[str, str]:
    """The hosted sign-in, as a browser submits it; the callback's query parameters."""
    with httpx.Client(trust_env=False, follow_redirects=False) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text[:300]
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        form = {k: html.unescape(v) for k, v in fields.items()}
        form.update(email=provider.email, password=PASSWORD)
        # Its cookies are Secure: http.cookiejar keeps none from http://127.0.0.1 (a browser
        # does), so they are sent back by hand.
        cookies = "; ".join(c.split(";", 1)[0] for c in page.headers.get_list("set-cookie"))
        answer = browser.post(
            urljoin(url, html.unescape(action.group(1))),
            data=form,
            headers={"Origin": provider.issuer, "Cookie": cookies},
        )
        assert answer.is_redirect, (answer.status_code, answer.text[:300])
        location = answer.headers["location"]
        assert location.startswith(BASE + "/callback")
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def signed_in(provider: HostedProvider, rp: RelyingParty) -> WebSession:
    start = rp.begin_sign_in("/me")
    params = authorize(provider, start.url)
    cookie = lambda name: start.cookie_value if name == start.cookie_name else None  # noqa: E731
    return rp.finish_sign_in(params, cookie).session


def test_should_sign_in_with_jwtwarden_and_get_the_email_from_userinfo(provider):
    session = signed_in(provider, _rp(provider))
    assert session.claims["email"] == provider.email
    assert session.refresh_token is not None
    assert session.id_token is not None


def test_should_refresh_a_due_session_and_keep_the_rotated_refresh_token(provider):
    rp = _rp(provider)
    session = signed_in(provider, rp)
    due = dataclasses.replace(session, access_expires_at=0.0)
    refreshed = rp.authenticate(due)
    assert refreshed.refresh_token != session.refresh_token
    assert refreshed.access_token != session.access_token
    assert rp.refresh_count == 1
    # Another process spending the same token at once: jwtwarden's rotation is idempotent
    # within its grace window (docs/reliability.md), so both get the same successor.
    other_process = _rp(provider)
    assert other_process.authenticate(due).refresh_token == refreshed.refresh_token


def test_should_end_the_session_when_jwtwarden_revoked_its_refresh_token(provider):
    rp = _rp(provider)
    session = signed_in(provider, rp)
    rp.revoke(session)  # RFC 7009, as sign-out does
    with pytest.raises(SessionEndedError):
        rp.authenticate(dataclasses.replace(session, access_expires_at=0.0))


def test_should_keep_a_jwtwarden_session_in_redis_and_revoke_it(provider, redis_url):
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    prefix = f"jwtwarden-test-{secrets.token_hex(4)}:"
    try:
        rp = _rp(provider, store=SyncRedisWebSessionStore(client, prefix=prefix))
        session = signed_in(provider, rp)
        cookie, _ = rp.seal_session(session)
        opened = rp.open_session(cookie)
        assert opened is not None and opened.claims["email"] == provider.email
        refreshed = rp.authenticate(dataclasses.replace(opened, access_expires_at=0.0))
        rp.seal_session(refreshed)  # saved under the same id: the old cookie sees it
        again = rp.open_session(cookie)
        assert again is not None and again.refresh_token == refreshed.refresh_token
        rp.delete_session(session.sid)
        assert rp.open_session(cookie) is None
    finally:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()
