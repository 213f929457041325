"""Driving the authorization endpoint and the hosted sign-in as a browser does, against a real
server on 127.0.0.1: its own cookie jar (``__Host-`` cookies are ``Secure``; Chromium sends
them to a loopback origin over http, Python's cookie jar would not), the form's hidden fields,
an ``Origin`` header on every form post."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from .support import run_cli

__all__ = [
    "Browser",
    "authorize_url",
    "clients_cli",
    "code_exchange_form",
    "code_for",
    "create_user",
    "hidden_fields",
    "pkce",
    "query_of",
]

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def pkce() -> tuple[str, str]:
    """A verifier and its S256 challenge (RFC 7636 4.1-4.2), computed here, not by the server."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(
    base: str, client_id: str, redirect_uri: str, challenge: str, **extra: str
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "st-" + secrets.token_hex(4),
        **extra,
    }
    return base + "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v != ""})


def hidden_fields(page: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(page)}


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def create_user(base: str, admin_token: str, email: str, password: str) -> None:
    made = httpx.post(
        base + "/admin/users",
        json={"email": email, "password": password},
        headers={"Authorization": "Bearer " + admin_token},
    )
    assert made.status_code == 201, made.text


def clients_cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    """``jwtwarden clients ARGS --json`` in ``env``; its JSON answer."""
    done = run_cli(["clients", *args, "--json"], env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def code_for(
    browser: Browser, client_id: str, redirect_uri: str, email: str, password: str, **extra: str
) -> tuple[str, str]:
    """The front channel of the code flow: authorize (``extra`` added to the request), sign in
    unless the browser's session answers at once, and take the code from the redirect.
    Returns the code and its PKCE verifier."""
    verifier, challenge = pkce()
    page = browser.get(authorize_url(browser.base, client_id, redirect_uri, challenge, **extra))
    done = page if page.status_code == 302 else browser.sign_in(page, email, password)
    assert done.status_code in (302, 303), done.text
    return query_of(done.headers["location"])["code"], verifier


def code_exchange_form(
    client_id: str, code: str, redirect_uri: str, verifier: str
) -> dict[str, str]:
    """The token request's form for the authorization code grant (RFC 6749 4.1.3, RFC 7636)."""
    return {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }


class Browser:
    """One browser: cookies per name (host-only, this server's), no automatic redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}
        self.http = httpx.Client(follow_redirects=False, timeout=30)
        self.set_cookie_headers: list[str] = []

    def close(self) -> None:
        self.http.close()

    def _remember(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            self.set_cookie_headers.append(header)
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            attributes = rest.lower()
            if "max-age=0" in attributes or not value.strip('"'):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value.strip('"')

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        response = self.http.get(url, headers=self._headers(headers))
        self._remember(response)
        return response

    def post(
        self, url: str, data: dict[str, str], *, origin: str | None = "self", **kw: Any
    ) -> httpx.Response:
        headers = self._headers(kw.pop("headers", None))
        if origin is not None:
            headers["Origin"] = self.base if origin == "self" else origin
        response = self.http.post(url, data=data, headers=headers, **kw)
        self._remember(response)
        return response

    def sign_in(
        self, page: httpx.Response, email: str, password: str, **overrides: Any
    ) -> httpx.Response:
        """Submit the sign-in form of ``page`` (its hidden fields, the two inputs)."""
        assert page.status_code == 200, page.text
        form = {**hidden_fields(page.text), "email": email, "password": password}
        origin = overrides.pop("origin", "self")
        form.update(overrides)
        return self.post(
            self.base + "/signin", {k: v for k, v in form.items() if v is not None}, origin=origin
        )
