"""Full flows over real HTTP against ``jwtwarden serve`` processes started by the tests on
127.0.0.1: once on SQLite (development defaults) and once on PostgreSQL + Redis (a
production-like configuration with keys in the database)."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from jwtwarden.keys.keyset import KeySet
from jwtwarden.policy import VerificationPolicy
from jwtwarden.unsafe import decode_unverified
from jwtwarden.verify import Verifier

from .conftest import INTROSPECTION, ORIGIN, Deployment
from .support import run_cli

pytestmark = pytest.mark.slow
PASSWORD = "a perfectly long password"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def _new_user(d: Deployment, password: str = PASSWORD) -> str:
    email = f"user-{secrets.token_hex(6)}@example.test"
    made = httpx.post(
        d.url + "/admin/users",
        json={"email": email, "password": password},
        headers={"Authorization": f"Bearer {d.admin_token}"},
    )
    assert made.status_code == 201, made.text
    return email


def _login(d: Deployment, email: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    r = httpx.post(d.url + "/auth/login", json={"email": email, "password": password, **extra})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _refresh(url: str, token: str) -> httpx.Response:
    return httpx.post(
        url + "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token}
    )


def _introspect(d: Deployment, token: str) -> dict[str, Any]:
    r = httpx.post(d.url + "/oauth/introspect", data={"token": token}, auth=INTROSPECTION)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _verifier(d: Deployment) -> Verifier:
    jwks = httpx.get(d.url + "/.well-known/jwks.json").json()
    return Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"], issuer=d.url, audience=d.url, keys=KeySet.from_jwks(jwks)
        )
    )


def test_should_log_in_and_issue_rfc9068_tokens_that_verify_with_the_published_jwks(
    deployment: Deployment,
) -> None:
    email = _new_user(deployment)
    body = _login(deployment, email, scope="read")
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert body["refresh_token"].startswith("jwtw_rt_") and body["scope"] == "read"
    claims = _verifier(deployment).verify(body["access_token"]).claims
    assert {"sid", "auth_version", "client_id", "jti"} <= set(claims) and claims["scope"] == "read"
    assert email not in json.dumps(claims)
    pair = _refresh(deployment.url, body["refresh_token"])
    assert pair.status_code == 200 and pair.headers["cache-control"] == "no-store"
    fresh = pair.json()
    assert fresh["refresh_token"] != body["refresh_token"]
    assert _verifier(deployment).verify(fresh["access_token"]).claims["sid"] == claims["sid"]


def test_should_serve_discovery_and_jwks_with_cache_headers(deployment: Deployment) -> None:
    # An OpenID Provider (issue 15): Discovery 1.0 beside RFC 8414, with the same issuer.
    oidc = httpx.get(deployment.url + "/.well-known/openid-configuration")
    assert oidc.status_code == 200 and oidc.json()["issuer"] == deployment.url
    meta = httpx.get(deployment.url + "/.well-known/oauth-authorization-server")
    doc = meta.json()
    assert doc["issuer"] == deployment.url
    assert doc["jwks_uri"] == deployment.url + "/.well-known/jwks.json"
    assert doc["token_endpoint"].endswith("/oauth/token")
    assert doc["revocation_endpoint"].endswith("/oauth/revoke")
    assert doc["introspection_endpoint"].endswith("/oauth/introspect")
    assert "max-age=" in meta.headers["cache-control"]
    jwks = httpx.get(doc["jwks_uri"])
    assert jwks.headers["cache-control"] == "public, max-age=3600"
    for key in jwks.json()["keys"]:
        assert key["use"] == "sig" and not {"d", "p", "q", "k"} & set(key)
    again = httpx.get(doc["jwks_uri"], headers={"If-None-Match": jwks.headers["etag"]})
    assert again.status_code == 304


def test_should_end_the_session_when_a_spent_refresh_token_is_reused(
    deployment: Deployment,
) -> None:
    first = _login(deployment, _new_user(deployment))
    second = _refresh(deployment.url, first["refresh_token"]).json()
    third = _refresh(deployment.url, second["refresh_token"]).json()  # the successor, used
    assert _introspect(deployment, third["access_token"])["active"] is True
    reused = _refresh(deployment.url, first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # The thief and the owner both lose: the newest refresh token and access token are dead.
    assert _refresh(deployment.url, third["refresh_token"]).status_code == 400
    assert _introspect(deployment, third["access_token"]) == {"active": False}
    metrics = httpx.get(deployment.url + "/metrics").text
    assert "jwtwarden_refresh_token_reuse_detected_total 1.0" in metrics or (
        "jwtwarden_refresh_token_reuse_detected_total" in metrics
    )


def test_should_answer_a_retried_refresh_with_the_same_refresh_token(
    deployment: Deployment,
) -> None:
    # A client whose response was lost (a timeout, a dropped connection) sends it again.
    first = _login(deployment, _new_user(deployment))
    lost = _refresh(deployment.url, first["refresh_token"])
    retried = _refresh(deployment.url, first["refresh_token"])
    assert lost.status_code == retried.status_code == 200, retried.text
    assert retried.json()["refresh_token"] == lost.json()["refresh_token"]
    assert retried.json()["access_token"] != lost.json()["access_token"]
    assert _introspect(deployment, retried.json()["access_token"])["active"] is True
    assert _refresh(deployment.url, retried.json()["refresh_token"]).status_code == 200


def test_should_refuse_a_refresh_token_presented_by_another_client_without_spending_it(
    deployment: Deployment,
) -> None:
    first = _login(deployment, _new_user(deployment))
    # A registered public client (issue 14): identified by its client_id, not the token's.
    made = run_cli(
        [
            *("clients", "create", "--name", "Another app", "--type", "public", "--json"),
            *("--redirect-uri", "https://another.example/cb"),
        ],
        deployment.env,
    )
    assert made.returncode == 0, made.stderr
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    other = httpx.post(
        deployment.url + "/oauth/token",
        data={**form, "client_id": json.loads(made.stdout)["client_id"]},
    )
    assert other.status_code == 400 and other.json()["error"] == "invalid_grant"
    # An unregistered client_id is no client at all (RFC 6749 5.2).
    unknown = httpx.post(deployment.url + "/oauth/token", data={**form, "client_id": "nobody"})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    # RFC 6749 10.4: refused, and the token is still the right client's to use.
    right = _refresh(deployment.url, first["refresh_token"])
    assert right.status_code == 200
    assert _introspect(deployment, right.json()["access_token"])["active"] is True


def test_should_log_out_by_refresh_token_and_by_bearer_access_token(
    deployment: Deployment,
) -> None:
    email = _new_user(deployment)
    one, two = _login(deployment, email), _login(deployment, email)
    r = httpx.post(deployment.url + "/auth/logout", json={"refresh_token": one["refresh_token"]})
    assert r.status_code == 200
    r = httpx.post(
        deployment.url + "/auth/logout",
        headers={"Authorization": f"Bearer {two['access_token']}"},
    )
    assert r.status_code == 200
    for pair in (one, two):
        assert _refresh(deployment.url, pair["refresh_token"]).status_code == 400
        assert _introspect(deployment, pair["access_token"]) == {"active": False}
    assert httpx.post(deployment.url + "/auth/logout").status_code == 400


def test_should_revoke_refresh_and_access_tokens_per_rfc7009(deployment: Deployment) -> None:
    email = _new_user(deployment)
    a, b = _login(deployment, email), _login(deployment, email)
    for token in ("jwtw_rt_" + "x" * 43, "not-a-token", a["access_token"], b["refresh_token"]):
        r = httpx.post(deployment.url + "/oauth/revoke", data={"token": token})
        assert r.status_code == 200
    assert _introspect(deployment, a["access_token"]) == {"active": False}
    # Revoking one access token leaves its session able to refresh.
    assert _refresh(deployment.url, a["refresh_token"]).status_code == 200
    assert _refresh(deployment.url, b["refresh_token"]).status_code == 400
    assert _introspect(deployment, b["access_token"]) == {"active": False}
    missing = httpx.post(deployment.url + "/oauth/revoke", data={})
    assert missing.status_code in (400, 415)


def test_should_introspect_only_for_an_authenticated_client(deployment: Deployment) -> None:
    pair = _login(deployment, _new_user(deployment), scope="read write")
    url = deployment.url + "/oauth/introspect"
    anonymous = httpx.post(url, data={"token": pair["access_token"]})
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    wrong = httpx.post(url, data={"token": pair["access_token"]}, auth=(INTROSPECTION[0], "nope"))
    assert wrong.status_code == 401
    active = _introspect(deployment, pair["access_token"])
    assert active["active"] is True and active["scope"] == "read write"
    assert active["iss"] == deployment.url and active["token_type"] == "Bearer"
    assert _introspect(deployment, "garbage") == {"active": False}


def test_should_refuse_a_password_change_with_a_wrong_current_or_a_weak_new_password(
    deployment: Deployment,
) -> None:
    email = _new_user(deployment)
    auth = {"Authorization": f"Bearer {_login(deployment, email)['access_token']}"}
    url = deployment.url + "/auth/password"
    wrong = httpx.post(
        url, json={"current_password": "not it at all", "new_password": "x" * 12}, headers=auth
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    weak = httpx.post(url, json={"current_password": PASSWORD, "new_password": "x"}, headers=auth)
    assert weak.status_code == 400 and weak.json()["error"] == "invalid_request"


def test_should_end_every_session_on_password_change(deployment: Deployment) -> None:
    # Five attempts in all: each login and each password change spends the account's one
    # login budget (JWTWARDEN_RATE_LIMIT_LOGIN_ACCOUNT=5 in this deployment).
    email = _new_user(deployment)
    laptop, phone = _login(deployment, email), _login(deployment, email)
    auth = {"Authorization": f"Bearer {laptop['access_token']}"}
    url = deployment.url + "/auth/password"
    done = httpx.post(
        url, json={"current_password": PASSWORD, "new_password": "the new passphrase"}, headers=auth
    )
    assert done.status_code == 200, done.text
    for pair in (laptop, phone):
        assert _introspect(deployment, pair["access_token"]) == {"active": False}
        assert _refresh(deployment.url, pair["refresh_token"]).status_code == 400
    old = httpx.post(deployment.url + "/auth/login", json={"email": email, "password": PASSWORD})
    assert old.status_code == 400
    assert _login(deployment, email, "the new passphrase")["access_token"]


def test_should_rate_limit_logins_per_account_with_retry_after(deployment: Deployment) -> None:
    email, other = _new_user(deployment), _new_user(deployment)
    url = deployment.url + "/auth/login"
    answers = [
        httpx.post(url, json={"email": email, "password": "wrong password!"}).status_code
        for _ in range(5)
    ]
    assert answers == [400] * 5
    limited = httpx.post(url, json={"email": email, "password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"] == "too_many_requests"
    # An unknown email is limited the same way, and other accounts are not affected.
    ghost = f"ghost-{secrets.token_hex(4)}@example.test"
    ghost_answers = [
        httpx.post(url, json={"email": ghost, "password": "wrong password!"}).status_code
        for _ in range(6)
    ]
    assert ghost_answers == [400] * 5 + [429]
    assert _login(deployment, other)["access_token"]


def _cookies(response: httpx.Response) -> dict[str, str]:
    jar: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        jar[name] = rest.split(";", 1)[0]
    return jar


def test_should_keep_refresh_tokens_in_cookies_and_refuse_cross_site_requests(
    deployment: Deployment,
) -> None:
    email = _new_user(deployment)
    url = deployment.url
    creds = {"email": email, "password": PASSWORD}
    no_origin = httpx.post(url + "/auth/login?mode=cookie", json=creds)
    assert no_origin.status_code == 403 and no_origin.json()["error"] == "access_denied"
    login = httpx.post(url + "/auth/login?mode=cookie", json=creds, headers={"Origin": ORIGIN})
    assert login.status_code == 200
    body = login.json()
    assert "refresh_token" not in body and body["csrf_token"]
    raw = [
        h for h in login.headers.get_list("set-cookie") if h.startswith("__Host-jwtwarden_refresh=")
    ]
    assert raw, login.headers
    attributes = raw[0].lower()
    for part in ("httponly", "secure", "samesite=strict", "path=/"):
        assert part in attributes
    assert "domain=" not in attributes
    jar = _cookies(login)
    cookie_header = "; ".join(f"{k}={v}" for k, v in jar.items())
    grant = {"grant_type": "refresh_token"}
    good = {"Origin": ORIGIN, "X-CSRF-Token": body["csrf_token"], "Cookie": cookie_header}
    # Another session's CSRF token (the attacker's own login), planted as the CSRF cookie too.
    other = httpx.post(url + "/auth/login?mode=cookie", json=creds, headers={"Origin": ORIGIN})
    theirs = other.json()["csrf_token"]
    assert other.status_code == 200 and theirs != body["csrf_token"]
    planted = {**jar, "__Host-jwtwarden_csrf": theirs}
    swapped = "; ".join(f"{k}={v}" for k, v in planted.items())
    refusals = [
        {**good, "X-CSRF-Token": theirs, "Cookie": swapped},  # another session's token
        {"Cookie": cookie_header, "X-CSRF-Token": body["csrf_token"]},  # no Origin
        {**good, "Origin": "https://evil.example"},  # foreign Origin
        {"Origin": ORIGIN, "Cookie": cookie_header},  # no CSRF header
        {**good, "X-CSRF-Token": "forged"},  # wrong CSRF token
    ]
    for headers in refusals:
        r = httpx.post(url + "/oauth/token", data=grant, headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "access_denied", headers
    refreshed = httpx.post(url + "/oauth/token", data=grant, headers=good)
    assert refreshed.status_code == 200, refreshed.text
    assert "refresh_token" not in refreshed.json()
    new_jar = {**jar, **_cookies(refreshed)}
    assert new_jar["__Host-jwtwarden_refresh"] != jar["__Host-jwtwarden_refresh"]
    new_cookie = "; ".join(f"{k}={v}" for k, v in new_jar.items())
    out = httpx.post(url + "/auth/logout", headers={**good, "Cookie": new_cookie})
    assert out.status_code == 200
    assert (
        _cookies(out)["__Host-jwtwarden_refresh"] == '""'
        or _cookies(out)["__Host-jwtwarden_refresh"] == ""
    )
    again = httpx.post(url + "/oauth/token", data=grant, headers={**good, "Cookie": new_cookie})
    assert again.status_code == 400


def test_should_give_fifty_concurrent_refreshes_of_one_token_one_answer(
    deployment: Deployment,
) -> None:
    # Browser tabs, or clients without a single flight (issue 13): every one of them gets the
    # same successor, and the session lives on.
    pair = _login(deployment, _new_user(deployment))

    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=deployment.url, limits=limits, timeout=60) as c:
            form = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
            return list(
                await asyncio.gather(*(c.post("/oauth/token", data=form) for _ in range(50)))
            )

    responses = asyncio.run(burst())
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 50, statuses
    successors = {r.json()["refresh_token"] for r in responses}
    assert len(successors) == 1
    assert len({r.json()["access_token"] for r in responses}) == 50
    assert _refresh(deployment.url, successors.pop()).status_code == 200


@pytest.mark.parametrize(
    ("path", "content", "content_type"),
    [
        ("/auth/login", b"{not json", "application/json"),
        ("/auth/login", b"[1, 2]", "application/json"),
        ("/auth/login", b'{"email": 5, "password": []}', "application/json"),
        (
            "/auth/login",
            b'{"email": "a@b.c", "email": "d@e.f", "password": "x"}',
            "application/json",
        ),
        ("/auth/login", b'{"email": "a@b.c", "password": NaN}', "application/json"),
        ("/auth/login", b"\xff\xfe\x00", "application/json"),
        ("/auth/login", b"email=a&password=b", "text/plain"),
        ("/auth/login", b"x" * 20000, "application/json"),
        ("/oauth/token", b"grant_type=client_credentials", "application/x-www-form-urlencoded"),
        (
            "/oauth/token",
            b"grant_type=refresh_token&grant_type=password",
            "application/x-www-form-urlencoded",
        ),
        ("/oauth/token", b"refresh_token=abc", "application/x-www-form-urlencoded"),
        (
            "/oauth/token",
            b"grant_type=refresh_token&refresh_token=%ff",
            "application/x-www-form-urlencoded",
        ),
        ("/oauth/token", b'{"grant_type": "refresh_token"}', "application/json"),
        ("/oauth/introspect", b"token=x", "application/x-www-form-urlencoded"),
        ("/auth/password", b"{}", "application/json"),
        ("/admin/users", b"{}", "application/json"),
        ("/nowhere", b"", "text/plain"),
    ],
)
def test_should_answer_garbage_with_an_oauth_4xx_and_never_a_5xx(
    deployment: Deployment, path: str, content: bytes, content_type: str
) -> None:
    r = httpx.post(deployment.url + path, content=content, headers={"content-type": content_type})
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    body = r.json()
    assert set(body) == {"error", "error_description"}
    assert "Traceback" not in r.text and "sqlalchemy" not in r.text.lower()


def test_should_share_spent_tokens_and_key_rotation_between_two_processes(
    deployment: Deployment,
) -> None:
    other = deployment.start_another()
    first = _login(deployment, _new_user(deployment))
    # Rotated on the second process: spent for the first one too, whose answer to a retry is
    # the same successor (both derive it with the deployment's one successor key).
    second = _refresh(other.base_url, first["refresh_token"])
    assert second.status_code == 200
    retried = _refresh(deployment.url, first["refresh_token"])
    assert retried.status_code == 200
    assert retried.json()["refresh_token"] == second.json()["refresh_token"]
    third = _refresh(deployment.url, second.json()["refresh_token"])
    assert third.status_code == 200
    # The successor is used: the first token is reuse on either process, and ends the family.
    assert _refresh(other.base_url, first["refresh_token"]).status_code == 400
    assert _refresh(deployment.url, third.json()["refresh_token"]).status_code == 400
    # A key rotated on the first process is published and used by the second.
    rotated = httpx.post(
        deployment.url + "/admin/keys/rotate",
        json={"immediate": True},
        headers={"Authorization": f"Bearer {deployment.admin_token}"},
    )
    assert rotated.status_code == 200, rotated.text
    kid = rotated.json()["kid"]
    deadline = time.monotonic() + 20
    seen = False
    while time.monotonic() < deadline and not seen:
        kids = {
            k["kid"] for k in httpx.get(other.base_url + "/.well-known/jwks.json").json()["keys"]
        }
        seen = kid in kids
        if not seen:
            time.sleep(0.2)
    assert seen, "the second process never published the rotated key"
    email = _new_user(deployment)
    token = httpx.post(other.base_url + "/auth/login", json={"email": email, "password": PASSWORD})
    assert decode_unverified(token.json()["access_token"]).header["kid"] == kid


NODE_VERIFY = """
import { createRemoteJWKSet, jwtVerify } from 'jose';
const [token, jwksUrl, issuer, audience] = process.argv.slice(1);
try {
  const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(jwksUrl)),
    { issuer, audience, typ: 'at+jwt', algorithms: ['ES256'], requiredClaims: ['sid', 'jti'] });
  process.stdout.write(JSON.stringify({ ok: true, payload, protectedHeader }));
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, code: err.code }));
  process.exit(1);
}
"""


def test_should_verify_an_access_token_with_node_jose_through_the_jwks_url(
    deployment: Deployment,
) -> None:
    interop = Path(__file__).resolve().parents[1] / "interop"
    node = shutil.which("node")
    if node is None or not (interop / "node_modules" / "jose").is_dir():
        import os

        message = "node or tests/interop/node_modules/jose missing (scripts/test installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    token = _login(deployment, _new_user(deployment))["access_token"]
    jwks_url = deployment.url + "/.well-known/jwks.json"
    args = [
        node,
        "--input-type=module",
        "-e",
        NODE_VERIFY,
        token,
        jwks_url,
        deployment.url,
        deployment.url,
    ]
    done = subprocess.run(
        args, cwd=interop, capture_output=True, text=True, timeout=60, check=False
    )
    result = json.loads(done.stdout)
    assert done.returncode == 0 and result["ok"], (done.stdout, done.stderr)
    assert result["protectedHeader"]["typ"] == "at+jwt"
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    args[4] = tampered
    refused = subprocess.run(
        args, cwd=interop, capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 1 and not json.loads(refused.stdout)["ok"]


def test_should_never_write_tokens_or_passwords_to_the_log(deployment: Deployment) -> None:
    email = _new_user(deployment)
    before = len(deployment.server.log().split("\n")) - 1  # complete lines only
    pair = _login(deployment, email)
    refreshed = _refresh(deployment.url, pair["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    wrong = httpx.post(
        deployment.url + "/auth/login", json={"email": email, "password": "wrong pass!!"}
    )
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    # The log is this server's and it recorded the refused login, so what is missing from it
    # was not written, rather than written somewhere else.
    deadline = time.monotonic() + 10
    while True:
        log = deployment.server.log()
        lines = log.split("\n")[before:-1]
        records = [json.loads(line) for line in lines if line.startswith("{")]
        refusals = [
            r for r in records if r.get("event") == "refused" and r.get("path") == "/auth/login"
        ]
        if refusals or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert refusals and refusals[-1]["error"] == "invalid_grant", log[-2000:]
    secrets_seen = (
        pair["refresh_token"],
        pair["access_token"],
        refreshed.json()["refresh_token"],
        PASSWORD,
        "wrong pass!!",
    )
    for secret in secrets_seen:
        assert secret not in log
    assert "Traceback" not in log
    for line in log.splitlines():
        if line.startswith("{"):
            json.loads(line)  # structured: every record is one JSON object
