"""OpenID Connect on real servers (SQLite development, PostgreSQL + Redis production;
``conftest.deployment``): Authlib as the relying party from Discovery 1.0 to RP-Initiated
Logout, its ID token validation (``CodeIDToken``: iss, aud, exp, nonce, at_hash), userinfo, and
the attacks of issue 15, each a named test."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata

from jwtwarden.errors import InvalidTokenError
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

REDIRECT = "https://rp.example.test/callback"
LOGOUT = "https://rp.example.test/signed-out"
PASSWORD = "a long and honest password"


@pytest.fixture(scope="module")
def clients(deployment: Deployment) -> dict[str, dict[str, Any]]:
    common = ("--redirect-uri", REDIRECT, "--post-logout-redirect-uri", LOGOUT)
    return {
        "confidential": clients_cli(deployment.env, "create", "--name", "OIDC RP", *common),
        "public": clients_cli(
            deployment.env, "create", "--name", "SPA", "--type", "public", *common
        ),
        "other": clients_cli(deployment.env, "create", "--name", "Other RP", *common),
    }


@pytest.fixture
def user(deployment: Deployment) -> str:
    email = f"oidc-{secrets.token_hex(4)}@example.test"
    create_user(deployment.url, deployment.admin_token, email, PASSWORD)
    return email


@pytest.fixture
def browser(deployment: Deployment) -> Iterator[Browser]:
    b = Browser(deployment.url)
    yield b
    b.close()


def _metadata(d: Deployment) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(d.url + "/.well-known/openid-configuration").json()
    return body


def _tokens(
    d: Deployment, browser: Browser, client: dict[str, Any], user: str, **extra: str
) -> dict[str, Any]:
    """The code flow as a browser and a back-end run it; the token response."""
    code, verifier = code_for(browser, client["client_id"], REDIRECT, user, PASSWORD, **extra)
    form = code_exchange_form(client["client_id"], code, REDIRECT, verifier)
    secret = client.get("client_secret")
    auth = (client["client_id"], secret) if secret else None
    answer = httpx.post(d.url + "/oauth/token", data=form, auth=auth)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _access_verifier(d: Deployment) -> Verifier:
    """A resource server's verifier (the access-token profile) over the server's JWKS."""
    jwks = httpx.get(d.url + "/.well-known/jwks.json").json()
    keys = KeySet.from_jwks(jwks)
    return Verifier(
        VerificationPolicy.access_token(
            algorithms=sorted(keys.algorithms), issuer=d.url, audience=d.url, keys=keys
        )
    )


def _id_verifier(d: Deployment, client_id: str) -> Verifier:
    jwks = httpx.get(d.url + "/.well-known/jwks.json").json()
    keys = KeySet.from_jwks(jwks)
    return Verifier(
        VerificationPolicy.id_token(
            algorithms=sorted(keys.algorithms), issuer=d.url, audience=client_id, keys=keys
        )
    )


# --- Authlib, end to end -----------------------------------------------------------------------


def test_should_run_discovery_id_token_userinfo_and_logout_with_authlib(
    deployment: Deployment,
    clients: dict[str, dict[str, Any]],
    user: str,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test issuer is http://127.0.0.1
    d, client = deployment, clients["confidential"]
    metadata = _metadata(d)
    OpenIDProviderMetadata(metadata).validate()
    nonce = secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48)
    with OAuth2Client(
        client["client_id"],
        client["client_secret"],
        scope="openid email",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    ) as rp:
        url, state = rp.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        done = browser.sign_in(browser.get(url), user, PASSWORD)
        assert done.status_code == 303
        assert query_of(done.headers["location"])["state"] == state
        token = rp.fetch_token(
            metadata["token_endpoint"],
            authorization_response=done.headers["location"],
            code_verifier=verifier,
        )
        jwks = JsonWebKey.import_key_set(httpx.get(metadata["jwks_uri"]).json())
        claims = jwt.decode(
            token["id_token"],
            jwks,
            claims_cls=CodeIDToken,
            claims_options={"iss": {"value": d.url}},
            claims_params={
                "nonce": nonce,
                "client_id": client["client_id"],
                "access_token": token["access_token"],  # at_hash checked (Core 3.1.3.6)
            },
        )
        claims.validate()
        assert claims["aud"] == client["client_id"] and "at_hash" in claims
        assert isinstance(claims["auth_time"], int) and isinstance(claims["sid"], str)
        info = rp.get(metadata["userinfo_endpoint"])
        assert info.status_code == 200
        assert info.json() == {"sub": claims["sub"], "email": user, "email_verified": False}
        logout_state = "ls-" + secrets.token_hex(4)
        logout = httpx.URL(
            metadata["end_session_endpoint"],
            params={
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": LOGOUT,
                "state": logout_state,
            },
        )
        ended = browser.get(str(logout))
        assert ended.status_code == 303
        assert ended.headers["location"] == f"{LOGOUT}?state={logout_state}"
        assert not any(name.endswith("jwtwarden-signin") for name in browser.cookies)
        assert rp.get(metadata["userinfo_endpoint"]).status_code == 401
        again = httpx.post(
            metadata["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=(client["client_id"], client["client_secret"]),
        )
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # The browser is signed out of the server too: the next authorization asks again.
    _, challenge = pkce()
    page = browser.get(authorize_url(d.url, client["client_id"], REDIRECT, challenge))
    assert page.status_code == 200 and 'name="password"' in page.text


# --- attacks ----------------------------------------------------------------------------------


def test_should_refuse_a_public_client_s_openid_request_without_nonce(
    deployment: Deployment, clients: dict[str, dict[str, Any]], browser: Browser
) -> None:
    _, challenge = pkce()
    url = authorize_url(
        deployment.url,
        clients["public"]["client_id"],
        REDIRECT,
        challenge,
        scope="openid",
        state="s-1",
    )
    answer = browser.get(url)
    assert answer.status_code == 302
    reply = query_of(answer.headers["location"])
    assert reply["error"] == "invalid_request" and "nonce" in reply["error_description"]
    assert reply["state"] == "s-1" and reply["iss"] == deployment.url


def test_should_give_a_public_client_its_id_token_with_the_nonce_echoed_exactly(
    deployment: Deployment, clients: dict[str, dict[str, Any]], user: str, browser: Browser
) -> None:
    # Replaying a nonce is the relying party's check (Core 15.5.2): the server only echoes it,
    # byte for byte, in each ID token issued for a request that carried it.
    client = clients["public"]
    nonce = "n ü/+=?&%20 " + secrets.token_hex(4)
    for _ in range(2):
        body = _tokens(deployment, browser, client, user, scope="openid", nonce=nonce)
        claims = _id_verifier(deployment, client["client_id"]).verify(body["id_token"]).claims
        assert claims["nonce"] == nonce


def test_should_issue_no_id_token_without_the_openid_scope(
    deployment: Deployment, clients: dict[str, dict[str, Any]], user: str, browser: Browser
) -> None:
    body = _tokens(deployment, browser, clients["confidential"], user, scope="email")
    assert "id_token" not in body


def test_should_leave_out_nonce_for_a_confidential_client_that_sent_none(
    deployment: Deployment, clients: dict[str, dict[str, Any]], user: str, browser: Browser
) -> None:
    body = _tokens(deployment, browser, clients["confidential"], user, scope="openid")
    jwks = httpx.get(deployment.url + "/.well-known/jwks.json").json()
    keys = KeySet.from_jwks(jwks)
    relaxed = Verifier(
        VerificationPolicy.id_token(
            algorithms=["RS256"],
            issuer=deployment.url,
            audience=clients["confidential"]["client_id"],
            keys=keys,
            expect_nonce=False,
        )
    )
    assert "nonce" not in relaxed.verify(body["id_token"]).claims


def test_should_refuse_an_id_token_presented_as_an_access_token(
    deployment: Deployment, clients: dict[str, dict[str, Any]], user: str, browser: Browser
) -> None:
    client = clients["confidential"]
    body = _tokens(deployment, browser, client, user, scope="openid", nonce="n-1")
    id_token = body["id_token"]
    bearer = {"Authorization": f"Bearer {id_token}"}
    assert httpx.get(deployment.url + "/oauth/userinfo", headers=bearer).status_code == 401
    introspected = httpx.post(
        deployment.url + "/oauth/introspect",
        data={"token": id_token},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert introspected.json() == {"active": False}
    # A resource server using the library's access-token profile (the integrations' default).
    with pytest.raises(InvalidTokenError):
        _access_verifier(deployment).verify(id_token)


def test_should_refuse_an_access_token_presented_as_an_id_token(
    deployment: Deployment, clients: dict[str, dict[str, Any]], user: str, browser: Browser
) -> None:
    client = clients["confidential"]
    body = _tokens(deployment, browser, client, user, scope="openid", nonce="n-1")
    with pytest.raises(InvalidTokenError):
        _id_verifier(deployment, client["client_id"]).verify(body["access_token"])
    ended = httpx.get(
        deployment.url + "/oauth/logout", params={"id_token_hint": body["access_token"]}
    )
    assert ended.status_code == 400 and "location" not in ended.headers


def test_should_refuse_the_id_token_hint_of_another_client(
    deployment: Deployment, clients: dict[str, dict[str, Any]], user: str, browser: Browser
) -> None:
    body = _tokens(deployment, browser, clients["other"], user, scope="openid", nonce="n-1")
    params = {
        "id_token_hint": body["id_token"],
        "client_id": clients["confidential"]["client_id"],
        "post_logout_redirect_uri": LOGOUT,
    }
    ended = httpx.get(deployment.url + "/oauth/logout", params=params)
    assert ended.status_code == 400 and "location" not in ended.headers
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert httpx.get(deployment.url + "/oauth/userinfo", headers=bearer).status_code == 200
