"""The sign-out and account pages on a real server: a GET changes nothing, every form post
needs this server's Origin and the sign-in session's CSRF token, and what each form ends."""

# ruff: noqa: F811 - ``server`` is the attack tests' module fixture, imported to be shared

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.server.authorize_support import Browser, authorize_url, hidden_fields, pkce, query_of

from .test_authorize_attacks import PASSWORD, REDIRECT, server  # noqa: F401 - the fixture


@pytest.fixture
def signed_in(server: dict[str, Any]) -> Iterator[tuple[Browser, str, dict[str, Any]]]:
    """A fresh user, signed in through a code flow of client "a"; its app tokens."""
    from tests.server.support import run_cli  # the CLI makes the user (no admin needed)

    email = f"pages-{secrets.token_hex(4)}@example.test"
    env = server["env"]
    made = run_cli(["users", "create", email, "--password-stdin"], env, stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    browser = Browser(server["url"])
    verifier, challenge = pkce()
    client_id = server["clients"]["a"]["client_id"]
    page = browser.get(authorize_url(server["url"], client_id, REDIRECT, challenge))
    code = query_of(browser.sign_in(page, email, PASSWORD).headers["location"])["code"]
    tokens = httpx.post(
        server["url"] + "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    ).json()
    yield browser, email, tokens
    browser.close()


def _refresh_works(server: dict[str, Any], tokens: dict[str, Any]) -> bool:
    answer = httpx.post(
        server["url"] + "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "client_id": server["clients"]["a"]["client_id"],
            "refresh_token": tokens["refresh_token"],
        },
    )
    if answer.status_code == 200:
        tokens.update(answer.json())
    return answer.status_code == 200


def _signed_in(server: dict[str, Any], browser: Browser) -> bool:
    return browser.get(server["url"] + "/account").status_code == 200


def test_should_sign_out_only_on_a_post_with_the_sessions_csrf_token(
    server: dict[str, Any],
    signed_in: tuple[Browser, str, dict[str, Any]],
) -> None:
    browser, email, _ = signed_in
    confirm = browser.get(server["url"] + "/signout")
    assert confirm.status_code == 200 and email in confirm.text and _signed_in(server, browser)
    assert browser.post(server["url"] + "/signout", {"csrf_token": "A" * 43}).status_code == 403
    fields = hidden_fields(confirm.text)
    foreign = browser.post(server["url"] + "/signout", fields, origin="https://evil.example")
    assert foreign.status_code == 403 and _signed_in(server, browser)
    done = browser.post(server["url"] + "/signout", fields)
    assert done.status_code == 200 and "You are signed out" in done.text
    assert not _signed_in(server, browser)


def test_should_list_the_sign_ins_and_sign_out_everywhere_apps_included(
    server: dict[str, Any],
    signed_in: tuple[Browser, str, dict[str, Any]],
) -> None:
    browser, _, tokens = signed_in
    page = browser.get(server["url"] + "/account")
    assert "(this browser)" in page.text and '<label for="current_password">' in page.text
    assert _refresh_works(server, tokens)
    done = browser.post(server["url"] + "/account/sign-out-everywhere", hidden_fields(page.text))
    assert done.status_code == 200
    assert not _signed_in(server, browser) and not _refresh_works(server, tokens)


def test_should_change_the_password_only_with_the_current_one_and_end_every_session(
    server: dict[str, Any],
    signed_in: tuple[Browser, str, dict[str, Any]],
) -> None:
    browser, email, tokens = signed_in
    fields = hidden_fields(browser.get(server["url"] + "/account").text)
    new = "a brand new long password"
    wrong = browser.post(
        server["url"] + "/account/password",
        {**fields, "current_password": "not it", "new_password": new},
    )
    assert wrong.status_code == 400 and "The current password is wrong." in wrong.text
    assert _refresh_works(server, tokens)
    done = browser.post(
        server["url"] + "/account/password",
        {**fields, "current_password": PASSWORD, "new_password": new},
    )
    assert done.status_code == 200 and not _signed_in(server, browser)
    assert not _refresh_works(server, tokens)
    login = httpx.post(server["url"] + "/auth/login", json={"email": email, "password": new})
    assert login.status_code == 200
