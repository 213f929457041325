"""OAuth clients against real ``jwtwarden serve`` processes on 127.0.0.1 (SQLite in development,
PostgreSQL + Redis in production mode): clients registered with the CLI, Authlib's OAuth 2
client doing client_credentials with each authentication method, refresh with client
authentication, revocation and introspection; and the named attacks of issue 14."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey

from jwtwarden import KeySet, VerificationPolicy, Verifier
from jwtwarden.keys import generate_key
from jwtwarden.sessions.ports import NewRefreshToken, SessionRecord
from jwtwarden.sessions.tokens import new_refresh_token
from jwtwarden.stores.sql import SQLSessionStore, create_engine
from tests.jwks._servers import counting_server

from .conftest import Deployment
from .support import run_cli

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _cli(d: Deployment, *args: str) -> dict[str, Any]:
    done = run_cli(["clients", *args, "--json"], d.env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def _confidential(d: Deployment, *extra: str) -> dict[str, Any]:
    return _cli(d, "create", "--name", "Service", "--grant", "client_credentials", *extra)


def _token_url(d: Deployment) -> str:
    return d.url + "/oauth/token"


def _verify(d: Deployment, token: str, audience: str | None = None) -> dict[str, Any]:
    jwks = httpx.get(d.url + "/.well-known/jwks.json").json()
    policy = VerificationPolicy.access_token(
        algorithms=["ES256"],
        issuer=d.url,
        audience=audience or d.url,
        keys=KeySet.from_jwks(jwks),
    )
    return dict(Verifier(policy).verify(token).claims)


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": "Basic " + raw}


def _post(d: Deployment, path: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
    return httpx.post(d.url + path, data=data, **kwargs)


def _assert_invalid_client(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.headers["cache-control"] == "no-store"


# --- registration ------------------------------------------------------------------------------


def test_should_print_a_confidential_clients_secret_once_and_never_again(
    deployment: Deployment,
) -> None:
    created = _confidential(deployment)
    assert len(created["client_secret"]) >= 43  # 32 random bytes, base64url
    shown = _cli(deployment, "show", created["client_id"])
    listed = run_cli(["clients", "list", "--json"], deployment.env).stdout
    assert "client_secret" not in shown and created["client_secret"] not in listed
    assert created["client_secret"] not in deployment.server.log()
    public = _cli(
        deployment, "create", "--name", "SPA", "--type", "public", "--redirect-uri", "https://a/cb"
    )
    assert "client_secret" not in public and public["token_endpoint_auth_method"] == "none"


def test_should_refuse_to_register_a_wildcard_or_localhost_redirect_uri(
    deployment: Deployment,
) -> None:
    for uri in ("https://*.example.com/cb", "http://localhost/cb", "https://a/cb#f"):
        done = run_cli(["clients", "create", "--name", "X", "--redirect-uri", uri], deployment.env)
        assert done.returncode == 2 and "redirect URI" in done.stderr, done.stderr


def test_should_manage_clients_through_the_admin_api(deployment: Deployment) -> None:
    admin = {"Authorization": f"Bearer {deployment.admin_token}"}
    body = {"client_name": "Admin-made", "grant_types": ["client_credentials"]}
    created = httpx.post(deployment.url + "/admin/clients", json=body, headers=admin)
    assert created.status_code == 201, created.text
    client = created.json()
    client_id = client["client_id"]
    rotated = httpx.post(f"{deployment.url}/admin/clients/{client_id}/rotate-secret", headers=admin)
    assert rotated.status_code == 200 and rotated.json()["client_secret"] != client["client_secret"]
    shown = httpx.get(f"{deployment.url}/admin/clients/{client_id}", headers=admin).json()
    assert "client_secret" not in shown and shown["previous_secret_expires_at"] is not None
    user = {"Authorization": "Bearer not-an-admin-token"}
    assert httpx.get(deployment.url + "/admin/clients", headers=user).status_code == 401
    gone = httpx.delete(f"{deployment.url}/admin/clients/{client_id}", headers=admin)
    assert gone.status_code == 200
    assert (
        httpx.get(f"{deployment.url}/admin/clients/{client_id}", headers=admin).status_code == 404
    )


# --- client_credentials with Authlib -----------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_should_issue_a_client_credentials_token_to_authlib(
    deployment: Deployment, method: str
) -> None:
    created = _confidential(deployment, "--auth-method", method, "--scope", "read")
    with OAuth2Client(
        created["client_id"], created["client_secret"], token_endpoint_auth_method=method
    ) as client:
        token = client.fetch_token(_token_url(deployment), grant_type="client_credentials")
    assert "refresh_token" not in token  # RFC 6749 4.4.3
    assert token["token_type"] == "Bearer" and token["scope"] == "read"
    claims = _verify(deployment, token["access_token"])
    assert claims["sub"] == claims["client_id"] == created["client_id"]  # RFC 9068 2.2
    assert "sid" not in claims and "auth_version" not in claims


def test_should_issue_a_client_credentials_token_for_a_private_key_jwt_from_authlib(
    deployment: Deployment, tmp_path: Any
) -> None:
    key = generate_key("ES256")
    jwks_file = tmp_path / "client-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.public_jwk()]}))
    created = _confidential(deployment, "--jwks-file", str(jwks_file))
    assert created["token_endpoint_auth_method"] == "private_key_jwt"
    assert "client_secret" not in created
    token = _authlib_private_key_jwt(deployment, created["client_id"], key)
    assert _verify(deployment, token["access_token"])["sub"] == created["client_id"]


class _ShortLivedPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
    """Authlib's assertions live an hour by default; this server takes at most 300 s (RFC 7523
    3 leaves the bound to the server). A fresh claims dict per request: Authlib writes its
    generated jti into the dict it is given, which would make every later assertion a replay."""

    def sign(self, auth: Any, token_endpoint: str) -> Any:
        self.claims = {"exp": int(time.time()) + 60}
        return super().sign(auth, token_endpoint)


def _authlib_private_key_jwt(d: Deployment, client_id: str, key: Any) -> dict[str, Any]:
    private = ECKey.import_key(key.export_private_jwk())
    with OAuth2Client(client_id, private, token_endpoint_auth_method="private_key_jwt") as client:
        client.register_client_auth_method(_ShortLivedPrivateKeyJWT(_token_url(d), alg="ES256"))
        token: dict[str, Any] = client.fetch_token(_token_url(d), grant_type="client_credentials")
        # A second request: a new assertion (new jti) is accepted as well.
        client.fetch_token(_token_url(d), grant_type="client_credentials")
    return token


def test_should_fetch_a_private_key_jwt_clients_keys_from_its_jwks_uri_through_the_guard(
    deployment: Deployment,
) -> None:
    key = generate_key("ES256")
    with counting_server() as keys_server:
        keys_server.serve_keys("/client-jwks", [key])
        created = _confidential(deployment, "--jwks-uri", keys_server.url("/client-jwks"))
        if deployment.kind == "sqlite":  # development: loopback jwks_uri allowed
            token = _authlib_private_key_jwt(deployment, created["client_id"], key)
            claims = _verify(deployment, token["access_token"])
            assert claims["client_id"] == created["client_id"]
            assert keys_server.counts["/client-jwks"] >= 1
        else:  # production: the SSRF guard refuses a loopback address, nothing is fetched
            assertion = _assertion(key, created["client_id"], _token_url(deployment))
            _assert_invalid_client(_with_assertion(deployment, assertion))
            assert keys_server.connections == 0


def test_should_limit_scope_and_audience_to_the_clients_registration(
    deployment: Deployment,
) -> None:
    narrow = _confidential(deployment)  # no --scope: none of the server's scopes
    auth = (narrow["client_id"], narrow["client_secret"])
    asked = _post(
        deployment, "/oauth/token", {"grant_type": "client_credentials", "scope": "read"}, auth=auth
    )
    assert asked.status_code == 400 and asked.json()["error"] == "invalid_scope"
    plain = _post(deployment, "/oauth/token", {"grant_type": "client_credentials"}, auth=auth)
    assert plain.status_code == 200 and "scope" not in plain.json()
    wide = _confidential(deployment, "--scope", "read")
    auth = (wide["client_id"], wide["client_secret"])
    beyond = _post(
        deployment,
        "/oauth/token",
        {"grant_type": "client_credentials", "scope": "read write"},
        auth=auth,
    )
    assert beyond.status_code == 400 and beyond.json()["error"] == "invalid_scope"
    other = _post(
        deployment,
        "/oauth/token",
        {"grant_type": "client_credentials", "resource": "https://elsewhere.example"},
        auth=auth,
    )
    assert other.status_code == 400 and other.json()["error"] == "invalid_target"


# --- refresh, revoke and introspect with client authentication ---------------------------------


def _seed_session(d: Deployment, client_id: str) -> str:
    """A refresh token of ``client_id`` for the admin user, written to the deployment's own
    database (the authorization_code grant that issues these lands in part 2 of issue 14)."""
    import asyncio

    async def seed() -> str:
        url = d.env.get("JWTWARDEN_DATABASE_URL") or f"sqlite:///{d.tmp / 'data' / 'jwtwarden.db'}"
        engine = create_engine(url, schema=d.env.get("JWTWARDEN_DATABASE_SCHEMA") or None)
        try:
            sub = _verify(d, d.admin_token)["sub"]
            now = time.time()
            session = SessionRecord(
                id=secrets.token_urlsafe(16),
                user_id=sub,
                client_id=client_id,
                scope="read",
                auth_version=1,
                created_at=now,
                expires_at=now + 3600,
            )
            token, digest = new_refresh_token()
            first = NewRefreshToken(token_hash=digest, issued_at=now, expires_at=now + 3600)
            await SQLSessionStore(engine).create_session(session, first)
            return token
        finally:
            await engine.dispose()

    return asyncio.run(seed())


@pytest.fixture
def two_clients(deployment: Deployment) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    grants = ("--grant", "refresh_token", "--grant", "client_credentials", "--scope", "read")
    yield _confidential(deployment, *grants), _confidential(deployment, *grants)


def test_should_refresh_revoke_and_introspect_with_authlib_and_client_authentication(
    deployment: Deployment, two_clients: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    a, _ = two_clients
    refresh = _seed_session(deployment, a["client_id"])
    with OAuth2Client(a["client_id"], a["client_secret"]) as client:
        token = client.refresh_token(_token_url(deployment), refresh_token=refresh)
        assert token["refresh_token"] != refresh
        assert _verify(deployment, token["access_token"])["client_id"] == a["client_id"]
        seen = client.introspect_token(
            deployment.url + "/oauth/introspect", token=token["access_token"]
        )
        assert seen.status_code == 200 and seen.json()["active"] is True
        assert seen.json()["client_id"] == a["client_id"]
        revoked = client.revoke_token(
            deployment.url + "/oauth/revoke", token=token["refresh_token"]
        )
        assert revoked.status_code == 200
        with pytest.raises(OAuthError, match="invalid_grant"):
            client.refresh_token(_token_url(deployment), refresh_token=token["refresh_token"])


def test_should_refuse_a_refresh_token_of_client_a_used_by_client_b_without_spending_it(
    deployment: Deployment, two_clients: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    a, b = two_clients
    refresh = _seed_session(deployment, a["client_id"])
    form = {"grant_type": "refresh_token", "refresh_token": refresh}
    stolen = _post(deployment, "/oauth/token", form, auth=(b["client_id"], b["client_secret"]))
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    anonymous = _post(deployment, "/oauth/token", form)  # the first-party client: not A either
    assert anonymous.status_code == 400 and anonymous.json()["error"] == "invalid_grant"
    own = _post(deployment, "/oauth/token", form, auth=(a["client_id"], a["client_secret"]))
    assert own.status_code == 200, own.text  # still live: the refusals spent nothing
    revoke = _post(
        deployment,
        "/oauth/revoke",
        {"token": own.json()["refresh_token"]},
        auth=(b["client_id"], b["client_secret"]),
    )
    assert revoke.status_code == 400 and revoke.json()["error"] == "invalid_grant"  # RFC 7009 2.1


def test_should_end_a_disabled_clients_tokens_at_introspection(
    deployment: Deployment, two_clients: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    a, b = two_clients
    issued = _post(
        deployment,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        auth=(a["client_id"], a["client_secret"]),
    ).json()["access_token"]
    introspector = (b["client_id"], b["client_secret"])
    before = _post(deployment, "/oauth/introspect", {"token": issued}, auth=introspector).json()
    assert before["active"] is True and before["sub"] == a["client_id"]
    _cli(deployment, "disable", a["client_id"])
    after = _post(deployment, "/oauth/introspect", {"token": issued}, auth=introspector).json()
    assert after == {"active": False}
    again = _post(
        deployment,
        "/oauth/token",
        {"grant_type": "client_credentials"},
        auth=(a["client_id"], a["client_secret"]),
    )
    _assert_invalid_client(again)


# --- the named attacks ---------------------------------------------------------------------------


def test_should_refuse_client_credentials_to_a_public_client(deployment: Deployment) -> None:
    public = _cli(
        deployment, "create", "--name", "App", "--type", "public", "--redirect-uri", "https://a/cb"
    )
    form = {"grant_type": "client_credentials", "client_id": public["client_id"]}
    answer = _post(deployment, "/oauth/token", form)
    assert answer.status_code == 400 and answer.json()["error"] == "unauthorized_client"
    done = run_cli(
        ["clients", "create", "--name", "X", "--type", "public", "--grant", "client_credentials"],
        deployment.env,
    )
    assert done.returncode == 2 and "confidential" in done.stderr


def test_should_refuse_credentials_sent_for_a_public_client(deployment: Deployment) -> None:
    public = _cli(
        deployment, "create", "--name", "App", "--type", "public", "--redirect-uri", "https://a/cb"
    )
    form = {"grant_type": "refresh_token", "refresh_token": "jwr_x"}
    answer = _post(deployment, "/oauth/token", form, headers=_basic(public["client_id"], "guess"))
    _assert_invalid_client(answer)


def test_should_read_a_basic_secret_in_both_encodings_and_never_a_plus_as_anything_else(
    deployment: Deployment,
) -> None:
    created = _confidential(deployment)
    client_id, secret = created["client_id"], created["client_secret"]
    form = {"grant_type": "client_credentials"}
    # RFC 6749 2.3.1: form-urlencoded before the Basic encoding ("-" as %2D is the same secret).
    encoded = secret.replace("-", "%2D").replace("_", "%5F")
    assert (
        _post(deployment, "/oauth/token", form, headers=_basic(client_id, encoded)).status_code
        == 200
    )
    # A "+" is a space once form-decoded: neither form of "secret+" is the secret.
    _assert_invalid_client(
        _post(deployment, "/oauth/token", form, headers=_basic(client_id, secret + "+"))
    )
    _assert_invalid_client(
        _post(deployment, "/oauth/token", form, headers=_basic(client_id, secret[:-1] + "+"))
    )


def test_should_answer_invalid_client_for_an_unknown_client_and_a_wrong_secret(
    deployment: Deployment,
) -> None:
    created = _confidential(deployment)
    form = {"grant_type": "client_credentials"}
    _assert_invalid_client(
        _post(deployment, "/oauth/token", form, auth=("no-such-client", "x" * 43))
    )
    unknown_post = {**form, "client_id": "no-such-client", "client_secret": "x" * 43}
    _assert_invalid_client(_post(deployment, "/oauth/token", unknown_post))
    last = created["client_secret"][-1]
    wrong = (created["client_id"], created["client_secret"][:-1] + ("A" if last != "A" else "B"))
    _assert_invalid_client(_post(deployment, "/oauth/token", form, auth=wrong))
    both = {**form, "client_id": created["client_id"], "client_secret": created["client_secret"]}
    _assert_invalid_client(  # two methods in one request (RFC 6749 2.3)
        _post(
            deployment, "/oauth/token", both, auth=(created["client_id"], created["client_secret"])
        )
    )


def test_should_accept_a_rotated_secret_during_its_overlap_and_refuse_it_after(
    deployment: Deployment,
) -> None:
    created = _confidential(deployment)
    client_id, old = created["client_id"], created["client_secret"]
    form = {"grant_type": "client_credentials"}
    first = _cli(deployment, "rotate-secret", client_id)  # default overlap: a day
    assert _post(deployment, "/oauth/token", form, auth=(client_id, old)).status_code == 200
    assert (
        _post(
            deployment, "/oauth/token", form, auth=(client_id, first["client_secret"])
        ).status_code
        == 200
    )
    second = _cli(deployment, "rotate-secret", client_id, "--overlap", "0")
    _assert_invalid_client(_post(deployment, "/oauth/token", form, auth=(client_id, old)))
    _assert_invalid_client(
        _post(deployment, "/oauth/token", form, auth=(client_id, first["client_secret"]))
    )
    assert (
        _post(
            deployment, "/oauth/token", form, auth=(client_id, second["client_secret"])
        ).status_code
        == 200
    )


@pytest.fixture
def jwt_client(deployment: Deployment, tmp_path: Any) -> tuple[str, Any]:
    key = generate_key("ES256")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [key.public_jwk()]}))
    return _confidential(deployment, "--jwks-file", str(path))["client_id"], key


def _assertion(key: Any, client_id: str, aud: str, **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60}
    claims["jti"] = str(uuid.uuid4())
    claims.update(overrides)
    header = {"alg": "ES256", "kid": key.kid}
    return str(jose_jwt.encode(header, claims, ECKey.import_key(key.export_private_jwk())))


def _with_assertion(d: Deployment, assertion: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    return _post(d, "/oauth/token", form)


def test_should_refuse_a_replayed_private_key_jwt_assertion(
    deployment: Deployment, jwt_client: tuple[str, Any]
) -> None:
    client_id, key = jwt_client
    assertion = _assertion(key, client_id, _token_url(deployment))
    assert _with_assertion(deployment, assertion).status_code == 200
    _assert_invalid_client(_with_assertion(deployment, assertion))  # jti already used


@pytest.mark.parametrize(
    "case",
    ["wrong_aud", "expired", "too_long", "other_key", "iss_not_client", "no_jti", "hmac"],
)
def test_should_refuse_a_bad_private_key_jwt_assertion(
    deployment: Deployment, jwt_client: tuple[str, Any], case: str
) -> None:
    client_id, key = jwt_client
    aud = _token_url(deployment)
    now = int(time.time())
    if case == "wrong_aud":
        assertion = _assertion(key, client_id, "https://another.example/token")
    elif case == "expired":
        assertion = _assertion(key, client_id, aud, iat=now - 600, exp=now - 300)
    elif case == "too_long":
        assertion = _assertion(key, client_id, aud, exp=now + 3600)
    elif case == "other_key":
        assertion = _assertion(generate_key("ES256"), client_id, aud)  # not in its JWKS
    elif case == "iss_not_client":
        assertion = _assertion(key, client_id, aud, iss="someone-else")
    elif case == "no_jti":
        assertion = _assertion(key, client_id, aud, jti=None)
    else:
        from joserfc.jwk import OctKey

        secret = OctKey.import_key(secrets.token_bytes(32))
        claims = {"iss": client_id, "sub": client_id, "aud": aud, "exp": now + 60, "jti": "j"}
        assertion = str(jose_jwt.encode({"alg": "HS256"}, claims, secret))
    _assert_invalid_client(_with_assertion(deployment, assertion))


# --- metadata -----------------------------------------------------------------------------


def test_should_serve_rfc8414_metadata_of_what_is_enabled(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test issuer is http://127.0.0.1
    document = httpx.get(deployment.url + "/.well-known/oauth-authorization-server").json()
    assert document["issuer"] == deployment.url
    assert document["grant_types_supported"] == [
        "authorization_code",
        "client_credentials",
        "refresh_token",
    ]
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
        "private_key_jwt",
    ]
    assert "ES256" in document["token_endpoint_auth_signing_alg_values_supported"]
    assert "HS256" not in document["token_endpoint_auth_signing_alg_values_supported"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["authorization_response_iss_parameter_supported"] is True
    # Issue 14 part 2: the authorization endpoint exists, so the code flow is listed.
    assert document["authorization_endpoint"] == deployment.url + "/oauth/authorize"
    assert document["response_types_supported"] == ["code"]
    AuthorizationServerMetadata(document).validate()  # every rule Authlib checks


def _doc_block(name: str) -> str:
    text = (Path(__file__).resolve().parents[2] / "docs" / name).read_text()
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def test_should_run_the_oauth_doc_example(deployment: Deployment) -> None:
    created = _confidential(deployment, "--scope", "read")
    namespace = {
        "CLIENT_ID": created["client_id"],
        "CLIENT_SECRET": created["client_secret"],
        "TOKEN_URL": _token_url(deployment),
        "INTROSPECTION_URL": deployment.url + "/oauth/introspect",
    }
    exec(compile(_doc_block("oauth.md"), "docs/oauth.md", "exec"), namespace)
    assert namespace["active"]["scope"] == "read"
