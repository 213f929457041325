"""``GET/POST /oauth/userinfo`` (OpenID Connect Core 5.3) and the OpenID Provider metadata
(Discovery 1.0 3, 4), in process over the ASGI transport with SQLite."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from jwtwarden import FixedClock
from jwtwarden.oauth.id_tokens import IDTokenRequest
from jwtwarden.server.app import create_app
from jwtwarden.server.runtime import Runtime
from jwtwarden.server.settings import Settings
from tests.peers.discovery_validators import verdicts

from .support import App

PASSWORD = "a perfectly long password"
EMAIL = "ada@example.test"
BASE = "http://127.0.0.1:8000"


async def _app(tmp_path: Path, clock: FixedClock | None = None, **settings: Any) -> App:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "scopes": "openid,profile,email,read",
        "issuer": BASE,
        **settings,
    }
    built = Settings(**values)
    runtime = Runtime(built, clock=clock) if clock is not None else None
    return App(create_app(built, runtime=runtime))


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[App, FixedClock]]:
    clock = FixedClock(time.time())
    app = await _app(tmp_path, clock)
    async with app.app.router.lifespan_context(app.app):
        await app.runtime.service.create_user(EMAIL, PASSWORD)
        yield app, clock


async def _login(app: App, scope: str) -> dict[str, Any]:
    pair = await app.runtime.service.login(EMAIL, PASSWORD, scope=scope)
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token, "pair": pair}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the claims by scope -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("openid", {"sub"}),
        ("openid email", {"sub", "email", "email_verified"}),
        # The account has no profile data yet: the profile scope adds nothing (Core 5.1: a
        # claim with no value is omitted, never sent empty).
        ("openid profile", {"sub"}),
    ],
)
async def test_should_answer_the_claims_of_the_token_s_scope(
    server: tuple[App, FixedClock], scope: str, expected: set[str]
) -> None:
    app, _ = server
    tokens = await _login(app, scope)
    async with app.client() as c:
        r = await c.get("/oauth/userinfo", headers=_bearer(tokens["access_token"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == expected
    assert body["sub"] == tokens["pair"].user_id
    assert r.headers["cache-control"] == "no-store"
    if "email" in expected:
        assert body["email"] == EMAIL and body["email_verified"] is False


async def test_should_take_the_token_from_a_post_form_body(
    server: tuple[App, FixedClock],
) -> None:
    app, _ = server
    tokens = await _login(app, "openid")
    async with app.client() as c:
        r = await c.post("/oauth/userinfo", data={"access_token": tokens["access_token"]})
        by_header = await c.post("/oauth/userinfo", headers=_bearer(tokens["access_token"]))
    assert r.status_code == 200 and r.json()["sub"] == tokens["pair"].user_id
    assert by_header.status_code == 200


# --- refusals (RFC 6750 3) -------------------------------------------------------------------


async def test_should_challenge_a_request_without_credentials_with_no_error_code(
    server: tuple[App, FixedClock],
) -> None:
    app, _ = server
    async with app.client() as c:
        r = await c.get("/oauth/userinfo")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="jwtwarden"'


async def test_should_refuse_a_token_sent_in_the_header_and_the_body_at_once(
    server: tuple[App, FixedClock],
) -> None:
    app, _ = server
    token = (await _login(app, "openid"))["access_token"]
    async with app.client() as c:
        r = await c.post("/oauth/userinfo", headers=_bearer(token), data={"access_token": token})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_should_refuse_a_token_without_the_openid_scope_as_insufficient_scope(
    server: tuple[App, FixedClock],
) -> None:
    app, _ = server
    token = (await _login(app, "email"))["access_token"]  # an identity scope, not openid
    async with app.client() as c:
        r = await c.get("/oauth/userinfo", headers=_bearer(token))
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    assert 'scope="openid"' in r.headers["www-authenticate"]


async def test_should_refuse_an_id_token_presented_as_the_access_token(
    server: tuple[App, FixedClock],
) -> None:
    app, _ = server
    pair = (await _login(app, "openid"))["pair"]
    id_token = app.runtime.id_tokens.mint(
        IDTokenRequest(sub=pair.user_id, client_id="jwtwarden", auth_time=0, nonce="n-1")
    )
    async with app.client() as c:
        r = await c.get("/oauth/userinfo", headers=_bearer(id_token))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


async def test_should_refuse_the_access_token_of_an_ended_session(
    server: tuple[App, FixedClock],
) -> None:
    app, _ = server
    tokens = await _login(app, "openid")
    await app.runtime.service.logout(refresh_token=tokens["refresh_token"])
    async with app.client() as c:
        r = await c.get("/oauth/userinfo", headers=_bearer(tokens["access_token"]))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


async def test_should_refuse_an_expired_access_token(server: tuple[App, FixedClock]) -> None:
    app, clock = server
    token = (await _login(app, "openid"))["access_token"]
    clock.advance(app.runtime.settings.access_token_ttl + 31)
    async with app.client() as c:
        r = await c.get("/oauth/userinfo", headers=_bearer(token))
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"


async def test_should_refuse_the_token_of_a_disabled_account(
    server: tuple[App, FixedClock],
) -> None:
    app, _ = server
    tokens = await _login(app, "openid")
    await app.runtime.service.set_disabled(tokens["pair"].user_id, True)
    async with app.client() as c:
        r = await c.get("/oauth/userinfo", headers=_bearer(tokens["access_token"]))
    assert r.status_code == 401


# --- the OpenID Provider metadata ------------------------------------------------------------


async def test_should_not_serve_openid_configuration_without_an_authorization_endpoint(
    server: tuple[App, FixedClock],
) -> None:
    app, _ = server
    app.runtime.authorization_endpoint = None
    async with app.client() as c:
        r = await c.get("/.well-known/openid-configuration")
    assert r.status_code == 404


async def _document(app: App, path: str) -> dict[str, Any]:
    app.runtime.authorization_endpoint = app.runtime.settings.issuer_url + "/oauth/authorize"
    async with app.client() as c:
        r = await c.get(path)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_should_serve_a_discovery_document_authlib_validates(
    server: tuple[App, FixedClock],
) -> None:
    app, _ = server
    body = await _document(app, "/.well-known/openid-configuration")
    OpenIDProviderMetadata(body).validate()
    AuthorizationServerMetadata(body).validate()  # RFC 8414 2 as well
    assert body["issuer"] == BASE
    assert body["userinfo_endpoint"] == BASE + "/oauth/userinfo"
    assert body["end_session_endpoint"] == BASE + "/oauth/logout"
    assert body["response_types_supported"] == ["code"]
    assert body["subject_types_supported"] == ["public"]
    assert "RS256" in body["id_token_signing_alg_values_supported"]
    assert {"openid", "profile", "email"} <= set(body["scopes_supported"])
    assert {"sub", "email", "email_verified", "auth_time", "nonce"} <= set(body["claims_supported"])
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["response_modes_supported"] == ["query"]
    assert body["claims_parameter_supported"] is False
    assert body["request_parameter_supported"] is False
    assert body["request_uri_parameter_supported"] is False


async def test_should_serve_a_discovery_document_oic_idpyoidc_and_the_mcp_sdk_accept(
    tmp_path: Path,
) -> None:
    # Discovery 1.0 3: the issuer is an https URL (oic and idpyoidc refuse http), so this
    # deployment names one; the document is served the same way whatever the scheme.
    issuer = "https://op.example.test"
    app = await _app(tmp_path, issuer=issuer)
    async with app.app.router.lifespan_context(app.app):
        openid = await _document(app, "/.well-known/openid-configuration")
        oauth = await _document(app, "/.well-known/oauth-authorization-server")
    assert openid["issuer"] == oauth["issuer"] == issuer
    on_openid, on_oauth = verdicts(openid, oauth)
    assert on_openid == {n: {"accepted": True} for n in ("oic", "idpyoidc", "mcp")}
    # The RFC 8414 document (what an MCP client reads first) is OAuth metadata, not an OpenID
    # configuration: it carries no subject_types_supported, so only the MCP SDK judges it.
    assert on_oauth["mcp"] == {"accepted": True}


async def test_should_see_each_validator_refuse_a_document_that_breaks_its_rules(
    server: tuple[App, FixedClock],
) -> None:
    """The validators are live: each refuses what its specification requires, so their
    acceptance of the served document above is a verdict, not a formality."""
    app, _ = server
    served = await _document(app, "/.well-known/openid-configuration")
    served["issuer"] = "https://op.example.test"
    no_jwks = {k: v for k, v in served.items() if k != "jwks_uri"}  # Discovery 3: REQUIRED
    http_issuer = {**served, "issuer": "http://op.example.test"}  # Discovery 3: https
    bad_token_endpoint = {**served, "token_endpoint": "not a URL"}  # RFC 8414 2: a URL
    got = verdicts(no_jwks, http_issuer, bad_token_endpoint)
    for openid_rule in got[:2]:
        assert not openid_rule["oic"]["accepted"] and not openid_rule["idpyoidc"]["accepted"]
        assert openid_rule["mcp"] == {"accepted": True}  # RFC 8414 asks neither
    assert "jwks_uri" in got[0]["oic"]["error"] and "jwks_uri" in got[0]["idpyoidc"]["error"]
    assert "HTTPS" in got[1]["oic"]["error"] and "HTTPS" in got[1]["idpyoidc"]["error"]
    assert not got[2]["mcp"]["accepted"] and "token_endpoint" in got[2]["mcp"]["error"]


async def test_should_let_caches_keep_the_discovery_document_for_an_hour(
    server: tuple[App, FixedClock],
) -> None:
    app, _ = server
    app.runtime.authorization_endpoint = BASE + "/oauth/authorize"
    async with app.client() as c:
        r = await c.get("/.well-known/openid-configuration")
    assert r.headers["cache-control"] == "public, max-age=3600" and "pragma" not in r.headers


async def test_should_publish_an_rs256_id_token_key_that_verifies_the_id_tokens(
    server: tuple[App, FixedClock],
) -> None:
    from joserfc import jwt
    from joserfc.jwk import KeySet

    app, _ = server
    async with app.client() as c:
        jwks = (await c.get("/.well-known/jwks.json")).json()
    rs256 = [k for k in jwks["keys"] if k.get("alg") == "RS256"]
    assert len(rs256) == 1
    token = app.runtime.id_tokens.mint(IDTokenRequest(sub="u", client_id="c", auth_time=0))
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    assert decoded.header["kid"] == rs256[0]["kid"]


async def test_should_serve_the_document_at_both_path_issuer_forms(tmp_path: Path) -> None:
    issuer = BASE + "/tenant"
    app = await _app(tmp_path, issuer=issuer)
    async with app.app.router.lifespan_context(app.app):
        for path in (
            "/tenant/.well-known/openid-configuration",  # Discovery 1.0 4
            "/.well-known/openid-configuration/tenant",  # RFC 8414 5 / 3.1
        ):
            body = await _document(app, path)
            assert body["issuer"] == issuer
            OpenIDProviderMetadata(body).validate()
