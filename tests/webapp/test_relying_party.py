"""The relying party against the reference provider (oidc-provider), without a browser: the
provider's sign-in form is submitted with httpx, the SDK's engine does the rest. Attacks on
the callback and the refresh, each a named test."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
import secrets
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from jwtwarden.errors import ProviderUnavailableError, SessionEndedError, SignInError
from jwtwarden.webapp import RelyingParty, WebAppSettings, WebSession
from jwtwarden.webapp._flows import SignInStart

from ..peers.oidc_provider import PeerProvider, oidc_provider, web_client

BASE = "http://127.0.0.1:5999"
API = "https://api.example"
SECRET = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def provider() -> Iterator[PeerProvider]:
    with oidc_provider(
        {"clients": [web_client(BASE, SECRET)], "resource": API, "accessTokenTTL": 300}
    ) as running:
        yield running


def _rp(provider: PeerProvider, **changes) -> RelyingParty:
    values = {
        "issuer": provider.issuer,
        "client_id": "webapp",
        "client_secret": SECRET,
        "base_url": BASE,
        "session_secrets": [secrets.token_urlsafe(32)],
        "audience": API,
        "allow_loopback_http": True,
        **changes,
    }
    return RelyingParty(WebAppSettings(**values))


def authorize(url: str, login: str = "alice") -> dict[str, str]:
    """What the provider sends the browser back to the callback with, after its form."""
    with httpx.Client(trust_env=False, follow_redirects=False) as browser:
        response = browser.get(url)
        while True:
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(BASE):
                return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
            response = browser.get(location)
            form = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            if response.status_code == 200 and 'name="login"' in response.text and form:
                response = browser.post(
                    urljoin(location, html.unescape(form.group(1))),
                    data={"prompt": "login", "login": login, "password": "x"},
                )
            assert response.is_redirect, (response.status_code, response.text[:300])


def cookie_of(start: SignInStart):
    return lambda name: start.cookie_value if name == start.cookie_name else None


def signed_in(rp: RelyingParty) -> WebSession:
    start = rp.begin_sign_in("/me")
    return rp.finish_sign_in(authorize(start.url), cookie_of(start)).session


def test_should_sign_in_with_pkce_state_and_nonce_and_keep_the_verified_claims(provider):
    rp = _rp(provider)
    start = rp.begin_sign_in("/me")
    query = parse_qs(urlsplit(start.url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert {"state", "nonce", "code_challenge"} <= set(query)
    result = rp.finish_sign_in(authorize(start.url), cookie_of(start))
    assert result.return_to == "/me"
    assert result.session.claims["email"] == "alice@example.test"
    assert result.session.refresh_token is not None
    assert result.session.access_expires_at is not None


def test_should_refuse_a_callback_whose_state_this_browser_did_not_start(provider):
    rp = _rp(provider)
    mine, theirs = rp.begin_sign_in(), rp.begin_sign_in()
    with pytest.raises(SignInError, match="unknown or has expired"):
        # Login CSRF: the attacker's authorization response, in the victim's browser.
        rp.finish_sign_in(authorize(theirs.url), cookie_of(mine))


def test_should_refuse_a_callback_from_another_issuer_mix_up(provider):
    rp = _rp(provider)
    start = rp.begin_sign_in()
    params = {**authorize(start.url), "iss": "https://evil.example"}
    with pytest.raises(SignInError, match="another issuer"):
        rp.finish_sign_in(params, cookie_of(start))


def test_should_refuse_a_callback_without_iss_when_the_provider_advertises_it(provider):
    rp = _rp(provider)
    start = rp.begin_sign_in()
    params = authorize(start.url)
    del params["iss"]
    with pytest.raises(SignInError, match="RFC 9207"):
        rp.finish_sign_in(params, cookie_of(start))


def test_should_refuse_a_replayed_code(provider):
    rp = _rp(provider)
    start = rp.begin_sign_in()
    params = authorize(start.url)
    rp.finish_sign_in(params, cookie_of(start))
    with pytest.raises(SignInError, match="invalid_grant"):
        rp.finish_sign_in(params, cookie_of(start))


def test_should_refuse_an_id_token_whose_nonce_is_not_this_sign_ins(provider):
    rp = _rp(provider)
    start = rp.begin_sign_in()
    pending = rp.sealer.open(start.cookie_name, start.cookie_value)
    forged = rp.sealer.seal(start.cookie_name, {**pending, "n": "another"}, max_age=60)
    params = authorize(start.url)
    with pytest.raises(SignInError, match="nonce"):
        rp.finish_sign_in(params, lambda name: forged)


def test_should_report_a_provider_error_response_as_a_failed_sign_in(provider):
    rp = _rp(provider)
    start = rp.begin_sign_in()
    state = parse_qs(urlsplit(start.url).query)["state"][0]
    params = {"error": "access_denied", "state": state, "iss": provider.issuer}
    with pytest.raises(SignInError, match="access_denied"):
        rp.finish_sign_in(params, cookie_of(start))


def test_should_never_redirect_after_sign_in_outside_the_application(provider):
    rp = _rp(provider)
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example", "me"):
        start = rp.begin_sign_in(target)
        assert rp.finish_sign_in(authorize(start.url), cookie_of(start)).return_to == "/"


def test_should_refresh_a_due_session_once_for_many_threads_at_once(provider):
    rp = _rp(provider)
    session = dataclasses.replace(signed_in(rp), access_expires_at=0.0)
    before = provider.refreshes()
    results: list[WebSession] = []
    barrier = threading.Barrier(8)

    def request() -> None:
        barrier.wait()
        results.append(rp.authenticate(session))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert provider.refreshes() == before + 1
    assert len({r.refresh_token for r in results}) == 1
    assert results[0].refresh_token != session.refresh_token
    # A late request with the old cookie gets the refreshed session, not a reuse.
    assert rp.authenticate(session).refresh_token == results[0].refresh_token
    assert provider.refreshes() == before + 1


def test_should_refresh_once_for_many_tasks_at_once(provider):
    rp = _rp(provider)
    session = dataclasses.replace(signed_in(rp), access_expires_at=0.0)
    before = provider.refreshes()

    async def main() -> list[WebSession]:
        return list(await asyncio.gather(*(rp.aauthenticate(session) for _ in range(8))))

    results = asyncio.run(main())
    assert provider.refreshes() == before + 1
    assert len({r.access_token for r in results}) == 1


def test_should_end_the_session_when_the_provider_refuses_the_refresh(provider):
    rp = _rp(provider)
    session = signed_in(rp)
    spent = rp.authenticate(dataclasses.replace(session, access_expires_at=0.0))
    assert spent.refresh_token != session.refresh_token
    other = _rp(provider)  # another process: no memory of the refresh above
    with pytest.raises(SessionEndedError):
        other.authenticate(dataclasses.replace(session, access_expires_at=0.0))


def test_should_answer_provider_unavailable_when_the_provider_is_down():
    from tests._services import free_port

    rp = RelyingParty(
        WebAppSettings(
            issuer=f"http://127.0.0.1:{free_port()}",
            client_id="webapp",
            base_url=BASE,
            session_secrets=[SECRET],
            allow_loopback_http=True,
            timeout=1,
        )
    )
    with pytest.raises(ProviderUnavailableError):
        rp.begin_sign_in()


def test_should_sign_in_through_the_async_driver(provider):
    rp = _rp(provider)

    async def main() -> WebSession:
        start = await rp.abegin_sign_in()
        params = await asyncio.to_thread(authorize, start.url)
        return (await rp.afinish_sign_in(params, cookie_of(start))).session

    assert asyncio.run(main()).claims["sub"] == "alice"
