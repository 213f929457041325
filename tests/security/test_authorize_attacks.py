"""Attacks on the authorization endpoint, the hosted sign-in and the code grant, each a named
test, on a real server on 127.0.0.1 (SQLite development deployment) driven as a browser."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.authorize_support import (
    Browser,
    authorize_url,
    hidden_fields,
    pkce,
    query_of,
)
from tests.server.support import ServerProcess, clean_env, free_port, run_cli

REDIRECT = "https://app.example.test/cb"
PASSWORD = "a long and honest password"
USER = "victim@example.test"
ATTACKER = "attacker@example.test"
INTROSPECTION = ("rs", "r" * 40)


def _cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = run_cli(["clients", *args, "--json"], env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp: Path = tmp_path_factory.mktemp("authorize-attacks")
    port = free_port()
    env = clean_env(
        {
            "JWTWARDEN_DATA_DIR": str(tmp / "data"),
            "JWTWARDEN_ISSUER": f"http://127.0.0.1:{port}",
            "JWTWARDEN_SCOPES": "read,write",
            # Every account may have read and write (issue 15: scopes come from roles).
            "JWTWARDEN_ROLES": '{"member": ["read", "write"]}',
            "JWTWARDEN_DEFAULT_ROLES": "member",
            "JWTWARDEN_RATE_LIMIT_LOGIN_ACCOUNT": "30",
            "JWTWARDEN_RATE_LIMIT_LOGIN_ADDRESS": "100000",
            "JWTWARDEN_RATE_LIMIT_WINDOW": "600",
            "JWTWARDEN_INTROSPECTION_CLIENT_ID": INTROSPECTION[0],
            "JWTWARDEN_INTROSPECTION_CLIENT_SECRET": INTROSPECTION[1],
        }
    )
    for email in (USER, ATTACKER):
        made = run_cli(["users", "create", email, "--password-stdin"], env, stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
    clients = {
        "a": _cli(
            env,
            "create",
            "--name",
            "App A",
            "--type",
            "public",
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "read",
        ),
        "b": _cli(env, "create", "--name", "App B", "--type", "public", "--redirect-uri", REDIRECT),
        "loopback": _cli(
            env,
            "create",
            "--name",
            "CLI",
            "--type",
            "public",
            "--redirect-uri",
            "http://127.0.0.1/cb",
        ),
    }
    process = ServerProcess(env, port, tmp / "server.log")
    try:
        process.wait_ready()
        yield {"url": process.base_url, "clients": clients, "env": env}
    finally:
        process.stop()


@pytest.fixture
def browser(server: dict[str, Any]) -> Iterator[Browser]:
    b = Browser(server["url"])
    yield b
    b.close()


def _id(server: dict[str, Any], name: str = "a") -> str:
    return str(server["clients"][name]["client_id"])


def _code(server: dict[str, Any], browser: Browser, client: str = "a") -> tuple[str, str]:
    verifier, challenge = pkce()
    page = browser.get(authorize_url(server["url"], _id(server, client), REDIRECT, challenge))
    # A browser signed in already gets its code at once (302), else through the form (303).
    done = page if page.status_code == 302 else browser.sign_in(page, USER, PASSWORD)
    assert done.status_code in (302, 303), done.text
    return query_of(done.headers["location"])["code"], verifier


def _exchange(
    server: dict[str, Any],
    client_id: str,
    code: str,
    verifier: str | None,
    redirect_uri: str = REDIRECT,
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "redirect_uri": redirect_uri,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return httpx.post(server["url"] + "/oauth/token", data=data)


def _invalid_grant(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_grant"


# --- PKCE ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "extra", "description"),
    [
        (
            "a missing challenge",
            {"code_challenge": "", "code_challenge_method": ""},
            "code_challenge is required (PKCE, S256)",
        ),
        (
            "the plain method",
            {"code_challenge_method": "plain"},
            "code_challenge_method must be S256",
        ),
        (
            "a challenge without a method (plain by default)",
            {"code_challenge_method": ""},
            "code_challenge_method must be S256",
        ),
        (
            "a challenge that is no S256 output",
            {"code_challenge": "short"},
            "code_challenge is not an S256 challenge",
        ),
    ],
)
def test_should_redirect_invalid_request_with_iss_for(
    server: dict[str, Any], browser: Browser, name: str, extra: dict[str, str], description: str
) -> None:
    _, challenge = pkce()
    url = authorize_url(server["url"], _id(server), REDIRECT, challenge, state="s1", **extra)
    answer = browser.get(url)
    assert answer.status_code == 302, name
    assert answer.headers["location"].startswith(REDIRECT + "?")
    assert query_of(answer.headers["location"]) == {
        "error": "invalid_request",
        "error_description": description,
        "state": "s1",
        "iss": server["url"],
    }


def test_should_refuse_a_wrong_verifier_and_then_the_right_one_too(
    server: dict[str, Any], browser: Browser
) -> None:
    code, verifier = _code(server, browser)
    _invalid_grant(_exchange(server, _id(server), code, "W" * 43))
    _invalid_grant(_exchange(server, _id(server), code, verifier))  # the code is spent


def test_should_refuse_the_verifier_of_another_flow(
    server: dict[str, Any], browser: Browser
) -> None:
    code, _ = _code(server, browser)
    _, other_verifier = _code(server, browser)
    _invalid_grant(_exchange(server, _id(server), code, other_verifier))


def test_should_refuse_an_exchange_without_a_verifier(
    server: dict[str, Any], browser: Browser
) -> None:
    code, _ = _code(server, browser)
    _invalid_grant(_exchange(server, _id(server), code, None))


# --- the code -----------------------------------------------------------------------------------


def test_should_refuse_a_replayed_code_and_revoke_the_tokens_of_its_first_exchange(
    server: dict[str, Any], browser: Browser
) -> None:
    code, verifier = _code(server, browser)
    first = _exchange(server, _id(server), code, verifier)
    assert first.status_code == 200, first.text
    _invalid_grant(_exchange(server, _id(server), code, verifier))
    refresh = httpx.post(
        server["url"] + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": _id(server),
            "refresh_token": first.json()["refresh_token"],
        },
    )
    _invalid_grant(refresh)
    active = httpx.post(
        server["url"] + "/oauth/introspect",
        data={"token": first.json()["access_token"]},
        auth=INTROSPECTION,
    )
    assert active.json() == {"active": False}


def test_should_refuse_a_code_redeemed_by_another_client(
    server: dict[str, Any], browser: Browser
) -> None:
    code, verifier = _code(server, browser, "a")
    _invalid_grant(_exchange(server, _id(server, "b"), code, verifier))


def test_should_refuse_a_code_exchanged_with_another_redirect_uri(
    server: dict[str, Any], browser: Browser
) -> None:
    code, verifier = _code(server, browser)
    _invalid_grant(_exchange(server, _id(server), code, verifier, REDIRECT + "/other"))


def test_should_refuse_a_code_that_is_not_one_of_ours(server: dict[str, Any]) -> None:
    _invalid_grant(_exchange(server, _id(server), "jwtw_ac_" + "A" * 43, "v" * 43))
    _invalid_grant(_exchange(server, _id(server), "not-a-code", "v" * 43))


def test_should_refuse_credentials_sent_for_a_public_client_at_the_code_exchange(
    server: dict[str, Any], browser: Browser
) -> None:
    code, verifier = _code(server, browser)
    answer = httpx.post(
        server["url"] + "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": REDIRECT,
        },
        auth=(_id(server), "a guessed secret"),
    )
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_should_refuse_a_refresh_token_of_client_a_used_by_client_b(
    server: dict[str, Any], browser: Browser
) -> None:
    code, verifier = _code(server, browser, "a")
    tokens = _exchange(server, _id(server, "a"), code, verifier).json()
    stolen = httpx.post(
        server["url"] + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": _id(server, "b"),
            "refresh_token": tokens["refresh_token"],
        },
    )
    _invalid_grant(stolen)
    mine = httpx.post(
        server["url"] + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": _id(server, "a"),
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert mine.status_code == 200, mine.text  # the attempt did not spend it


# --- redirect URIs and open redirects -----------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        REDIRECT + "/",  # trailing slash
        REDIRECT.upper().replace("HTTPS://", "https://"),  # case of the path and host
        "https://APP.example.test/cb",  # case of the host
        "https://app.example.test/cb/evil",  # path
        REDIRECT + "?next=https://evil.example",  # query
        REDIRECT + "#fragment",  # fragment
        "https://evil.example@app.example.test/cb",  # userinfo
        "https://app.example.test:8443/cb",  # port
        "http://app.example.test/cb",  # scheme
        "https://evil.example/cb",  # another host
    ],
)
def test_should_show_a_page_and_never_redirect_for_the_redirect_uri_variant(
    server: dict[str, Any], browser: Browser, variant: str
) -> None:
    _, challenge = pkce()
    answer = browser.get(authorize_url(server["url"], _id(server), variant, challenge))
    assert answer.status_code == 400 and "location" not in answer.headers
    assert answer.headers["content-type"].startswith("text/html")
    assert "redirect_uri is not registered for this client" in answer.text


@pytest.mark.parametrize(
    ("name", "client_id"),
    [("an unknown client", "no-such-client"), ("no client at all", "")],
)
def test_should_show_a_page_and_never_redirect_for(
    server: dict[str, Any], browser: Browser, name: str, client_id: str
) -> None:
    _, challenge = pkce()
    answer = browser.get(
        authorize_url(server["url"], client_id, "https://evil.example/", challenge)
    )
    assert answer.status_code == 400 and "location" not in answer.headers, name


def test_should_accept_any_port_on_a_public_clients_loopback_redirect_uri(
    server: dict[str, Any], browser: Browser
) -> None:
    _, challenge = pkce()
    url = authorize_url(
        server["url"], _id(server, "loopback"), "http://127.0.0.1:53117/cb", challenge
    )
    assert browser.get(url).status_code == 200  # RFC 8252 7.3: the sign-in form


@pytest.mark.parametrize(
    ("name", "extra", "error"),
    [
        ("response_type token", {"response_type": "token"}, "unsupported_response_type"),
        ("a scope beyond the client's", {"scope": "write"}, "invalid_scope"),
        ("an unknown prompt", {"prompt": "bogus"}, "invalid_request"),
        ("a request object", {"request": "eyJ..."}, "request_not_supported"),
    ],
)
def test_should_redirect_the_error_with_iss_and_state_for(
    server: dict[str, Any], browser: Browser, name: str, extra: dict[str, str], error: str
) -> None:
    _, challenge = pkce()
    url = authorize_url(server["url"], _id(server), REDIRECT, challenge, state="s2", **extra)
    answer = query_of(browser.get(url).headers["location"])
    assert (answer["error"], answer["state"], answer["iss"]) == (error, "s2", server["url"]), name


def test_should_put_iss_on_a_successful_authorization_response(
    server: dict[str, Any], browser: Browser
) -> None:
    _, challenge = pkce()
    page = browser.get(authorize_url(server["url"], _id(server), REDIRECT, challenge, state="x"))
    answer = query_of(browser.sign_in(page, USER, PASSWORD).headers["location"])
    assert answer["iss"] == server["url"] and answer["state"] == "x" and "code" in answer


def test_should_answer_prompt_none_without_a_session_with_login_required(
    server: dict[str, Any], browser: Browser
) -> None:
    _, challenge = pkce()
    answer = browser.get(
        authorize_url(server["url"], _id(server), REDIRECT, challenge, prompt="none")
    )
    assert answer.status_code == 302
    assert query_of(answer.headers["location"])["error"] == "login_required"


# --- the sign-in form ---------------------------------------------------------------------------


def _form_page(server: dict[str, Any], browser: Browser) -> httpx.Response:
    _, challenge = pkce()
    page = browser.get(authorize_url(server["url"], _id(server), REDIRECT, challenge))
    assert page.status_code == 200
    return page


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("no CSRF token", {"csrf_token": None}),
        ("a wrong CSRF token", {"csrf_token": "A" * 43}),
        ("a foreign Origin", {"origin": "https://evil.example"}),
        ("no Origin", {"origin": None}),
    ],
)
def test_should_refuse_a_sign_in_post_with(
    server: dict[str, Any], browser: Browser, name: str, overrides: dict[str, Any]
) -> None:
    answer = browser.sign_in(_form_page(server, browser), ATTACKER, PASSWORD, **overrides)
    assert answer.status_code == 403, name
    assert "__Host-jwtwarden-signin" not in browser.cookies


def test_should_refuse_the_csrf_token_and_form_of_another_browser(
    server: dict[str, Any], browser: Browser
) -> None:
    # Login CSRF: the attacker loads the form in their own browser and makes the victim's
    # browser post it (with the attacker's credentials).
    attacker = Browser(server["url"])
    try:
        fields = hidden_fields(_form_page(server, attacker).text)
    finally:
        attacker.close()
    _form_page(server, browser)  # the victim has a pre-session cookie of its own
    answer = browser.post(
        server["url"] + "/signin", {**fields, "email": ATTACKER, "password": PASSWORD}
    )
    assert answer.status_code == 403
    assert "__Host-jwtwarden-signin" not in browser.cookies


def test_should_refuse_a_tampered_sealed_request(server: dict[str, Any], browser: Browser) -> None:
    page = _form_page(server, browser)
    sealed = hidden_fields(page.text)["request"]
    flipped = sealed[:-2] + ("AA" if not sealed.endswith("AA") else "BB")
    answer = browser.sign_in(page, USER, PASSWORD, request=flipped)
    assert answer.status_code == 400 and "location" not in answer.headers


def test_should_answer_every_credential_failure_with_the_same_page(
    server: dict[str, Any], browser: Browser
) -> None:
    wrong_password = browser.sign_in(_form_page(server, browser), USER, "not the password")
    unknown_email = browser.sign_in(_form_page(server, browser), "nobody@example.test", PASSWORD)
    for answer in (wrong_password, unknown_email):
        assert answer.status_code == 400
        assert "The email or password is wrong." in answer.text
        assert 'aria-describedby="signin-error"' in answer.text
    assert "__Host-jwtwarden-signin" not in browser.cookies


def test_should_rate_limit_the_sign_in_form_like_the_login_endpoint(
    server: dict[str, Any], browser: Browser
) -> None:
    email = f"guess-{secrets.token_hex(4)}@example.test"
    page = _form_page(server, browser)
    statuses = [browser.sign_in(page, email, "guess").status_code for _ in range(30)]
    assert set(statuses) == {400}
    limited = browser.sign_in(page, email, "guess")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    api = httpx.post(server["url"] + "/auth/login", json={"email": email, "password": "guess"})
    assert api.status_code == 429  # one budget for both


def test_should_serve_pages_that_cannot_be_framed_cached_or_leak_their_url(
    server: dict[str, Any], browser: Browser
) -> None:
    page = _form_page(server, browser)
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "base-uri 'none'" in policy and "form-action 'self' https://app.example.test" in policy
    assert "script-src" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "same-origin"  # never another site
    assert '<html lang="en">' in page.text and '<label for="email">' in page.text


def test_should_set_the_sign_in_cookie_host_only_secure_httponly_and_lax(
    server: dict[str, Any], browser: Browser
) -> None:
    browser.sign_in(_form_page(server, browser), USER, PASSWORD)
    header = next(h for h in browser.set_cookie_headers if h.startswith("__Host-jwtwarden-signin="))
    attributes = {part.strip().lower() for part in header.split(";")[1:]}
    assert {"httponly", "secure", "path=/", "samesite=lax"} <= attributes
    assert not any(a.startswith("domain") for a in attributes)
