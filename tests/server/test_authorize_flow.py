"""The authorization code flow with PKCE on real servers (SQLite development, PostgreSQL +
Redis production; ``conftest.deployment``): Authlib's OAuth2 client from discovery to
revocation, the hosted sign-in submitted as a browser submits it, sign-in sessions, prompt and
max_age, and one winner among concurrent exchanges of a code."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from jwtwarden.keys.keyset import KeySet
from jwtwarden.policy import VerificationPolicy
from jwtwarden.verify import Verifier

from .authorize_support import (
    Browser,
    authorize_url,
    clients_cli,
    code_exchange_form,
    code_for,
    create_user,
    pkce,
    query_of,
)
from .conftest import Deployment

REDIRECT = "https://app.example.test/callback"
PASSWORD = "a long and honest password"


@pytest.fixture(scope="module")
def clients(deployment: Deployment) -> dict[str, dict[str, Any]]:
    return {
        "public": clients_cli(
            deployment.env,
            "create",
            "--name",
            "Web app",
            "--type",
            "public",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "read",
        ),
        "confidential": clients_cli(
            deployment.env,
            "create",
            "--name",
            "Server app",
            "--redirect-uri",
            REDIRECT,
            "--grant",
            "authorization_code",
            "--grant",
            "refresh_token",
            "--scope",
            "read",
            "--scope",
            "write",
        ),
    }


@pytest.fixture
def user(deployment: Deployment) -> str:
    email = f"user-{secrets.token_hex(4)}@example.test"
    create_user(deployment.url, deployment.admin_token, email, PASSWORD)
    return email


@pytest.fixture
def browser(deployment: Deployment) -> Iterator[Browser]:
    b = Browser(deployment.url)
    yield b
    b.close()


def _verify(d: Deployment, token: str) -> dict[str, Any]:
    jwks = httpx.get(d.url + "/.well-known/jwks.json").json()
    policy = VerificationPolicy.access_token(
        algorithms=["ES256"], issuer=d.url, audience=d.url, keys=KeySet.from_jwks(jwks)
    )
    return dict(Verifier(policy).verify(token).claims)


def _exchange(d: Deployment, client_id: str, code: str, verifier: str) -> httpx.Response:
    return httpx.post(
        d.url + "/oauth/token", data=code_exchange_form(client_id, code, REDIRECT, verifier)
    )


def test_should_run_the_whole_flow_with_authlib_from_discovery_to_revocation(
    deployment: Deployment,
    clients: dict[str, dict[str, Any]],
    user: str,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test issuer is http://127.0.0.1
    d, client = deployment, clients["confidential"]
    metadata = httpx.get(d.url + "/.well-known/oauth-authorization-server").json()
    AuthorizationServerMetadata(metadata).validate()  # Authlib's RFC 8414 validator
    assert metadata["authorization_endpoint"] == d.url + "/oauth/authorize"
    assert metadata["response_types_supported"] == ["code"]
    assert "authorization_code" in metadata["grant_types_supported"]
    verifier = secrets.token_urlsafe(48)
    with OAuth2Client(
        client["client_id"],
        client["client_secret"],
        scope="read",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    ) as oauth:
        url, state = oauth.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier
        )
        page = browser.get(url)
        assert page.status_code == 200 and 'name="email"' in page.text
        done = browser.sign_in(page, user, PASSWORD)
        assert done.status_code == 303
        callback = done.headers["location"]
        answer = query_of(callback)
        assert callback.startswith(REDIRECT + "?")
        assert answer["state"] == state and answer["iss"] == d.url  # RFC 9207
        token = oauth.fetch_token(
            metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )
        claims = _verify(d, token["access_token"])
        assert claims["client_id"] == client["client_id"] and claims["scope"] == "read"
        assert claims["aud"] in (d.url, [d.url]) and "sid" in claims
        refreshed = oauth.refresh_token(metadata["token_endpoint"])
        assert refreshed["refresh_token"] != token["refresh_token"]
        active = oauth.introspect_token(
            metadata["introspection_endpoint"], token=refreshed["access_token"]
        ).json()
        assert active["active"] is True and active["client_id"] == client["client_id"]
        revoked = oauth.revoke_token(
            metadata["revocation_endpoint"], token=refreshed["refresh_token"]
        )
        assert revoked.status_code == 200
        again = httpx.post(
            metadata["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": refreshed["refresh_token"]},
            auth=(client["client_id"], client["client_secret"]),
        )
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_should_give_a_public_client_tokens_for_its_client_id_and_verifier_only(
    deployment: Deployment, clients: dict[str, dict[str, Any]], user: str, browser: Browser
) -> None:
    client_id = clients["public"]["client_id"]
    code, verifier = code_for(browser, client_id, REDIRECT, user, PASSWORD, scope="read")
    answer = _exchange(deployment, client_id, code, verifier)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"].startswith("jwtw_rt_")
    assert _verify(deployment, body["access_token"])["client_id"] == client_id
    refreshed = httpx.post(
        deployment.url + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": client_id,
            "refresh_token": body["refresh_token"],
        },
    )
    assert refreshed.status_code == 200, refreshed.text


def test_should_not_ask_a_signed_in_browser_again_unless_prompt_login_or_max_age_says_so(
    deployment: Deployment, clients: dict[str, dict[str, Any]], user: str, browser: Browser
) -> None:
    client_id = clients["public"]["client_id"]
    code_for(browser, client_id, REDIRECT, user, PASSWORD)
    _, challenge = pkce()
    quiet = browser.get(authorize_url(deployment.url, client_id, REDIRECT, challenge))
    assert quiet.status_code == 302 and "code" in query_of(quiet.headers["location"])
    silent = browser.get(
        authorize_url(deployment.url, client_id, REDIRECT, challenge, prompt="none")
    )
    assert silent.status_code == 302 and "code" in query_of(silent.headers["location"])
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        forced = browser.get(authorize_url(deployment.url, client_id, REDIRECT, challenge, **extra))
        assert forced.status_code == 200 and 'name="password"' in forced.text, extra


def test_should_answer_prompt_none_without_a_session_with_login_required_and_no_page(
    deployment: Deployment, clients: dict[str, dict[str, Any]], browser: Browser
) -> None:
    _, challenge = pkce()
    url = authorize_url(
        deployment.url,
        clients["public"]["client_id"],
        REDIRECT,
        challenge,
        prompt="none",
        state="s-1",
    )
    answer = browser.get(url)
    assert answer.status_code == 302
    assert query_of(answer.headers["location"]) == {
        "error": "login_required",
        "error_description": "the user must sign in",
        "state": "s-1",
        "iss": deployment.url,
    }


def test_should_leave_no_live_tokens_after_concurrent_exchanges_of_one_code(
    deployment: Deployment, clients: dict[str, dict[str, Any]], user: str, browser: Browser
) -> None:
    # Exactly one exchange spends the code (the store's contract test races redeem_code on
    # PostgreSQL and SQLite); the others are replays and revoke what it issued, whether they
    # arrive before its session exists (it then refuses itself) or after (they revoke it).
    client_id = clients["public"]["client_id"]
    code, verifier = code_for(browser, client_id, REDIRECT, user, PASSWORD)
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: _exchange(deployment, client_id, code, verifier), range(8))
        )
    winners = [a for a in answers if a.status_code == 200]
    assert len(winners) <= 1, [a.text for a in answers]
    assert all(a.json()["error"] == "invalid_grant" for a in answers if a not in winners)
    for winner in winners:
        refresh = httpx.post(
            deployment.url + "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": client_id,
                "refresh_token": winner.json()["refresh_token"],
            },
        )
        assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
