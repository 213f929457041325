"""The browser side of the code flow, done once before a run so the run itself measures only
the request under test: PKCE pairs, the hosted sign-in (one sign-in session cookie), sign-in
forms each bound to a browser's pre-session cookie, single-use codes minted by wrk through
``GET /oauth/authorize`` with that cookie, and the peer's refresh tokens through its
devInteractions form."""

from __future__ import annotations

import html
import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urljoin, urlsplit

import httpx
from _wrk import LUA, need_wrk

from jwtwarden.oauth.codes import pkce_challenge

__all__ = [
    "authorize_path",
    "mint_codes",
    "peer_refresh_tokens",
    "pkce",
    "sign_in",
    "signin_forms",
]

SIGNIN_COOKIE = "__Host-jwtwarden-signin"
PRESIGNIN_COOKIE = "__Host-jwtwarden-presignin"
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"/?>')


def pkce() -> tuple[str, str]:
    """A verifier and its S256 challenge (RFC 7636 4.1-4.2)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, pkce_challenge(verifier)


def authorize_path(
    client_id: str, redirect_uri: str, challenge: str, state: str, scope: str
) -> str:
    """``/oauth/authorize?...`` for the code flow with PKCE (no ``openid``: no ID token)."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return "/oauth/authorize?" + urlencode(query)


def _cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key == name:
            return rest.split(";", 1)[0].strip('"')
    raise RuntimeError(f"no {name} cookie in the answer ({response.status_code})")


def _form(client: httpx.Client, path: str) -> tuple[str, dict[str, str]]:
    """The sign-in page of an authorization request: the pre-session cookie, hidden fields."""
    page = client.get(path)
    if page.status_code != 200:
        raise RuntimeError(f"the sign-in page answered {page.status_code}: {page.text[:300]}")
    fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(page.text)}
    return _cookie(page, PRESIGNIN_COOKIE), fields


def signin_forms(
    base: str,
    client_id: str,
    redirect_uri: str,
    scope: str,
    emails: list[str],
    password: str,
    count: int,
) -> list[str]:
    """``count`` sign-in form posts, each from a browser of its own (its pre-session cookie, the
    form's CSRF token and sealed request), as ``lines.lua`` ``kind=form`` lines."""
    lines = []
    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as client:
        for i in range(count):
            _, challenge = pkce()
            path = authorize_path(client_id, redirect_uri, challenge, f"s{i}", scope)
            presignin, fields = _form(client, path)
            body = urlencode({**fields, "email": emails[i % len(emails)], "password": password})
            lines.append(f"{PRESIGNIN_COOKIE}={presignin}\t{body}")
    return lines


def sign_in(
    base: str, client_id: str, redirect_uri: str, scope: str, email: str, password: str
) -> str:
    """One hosted sign-in; the ``Cookie`` header of its sign-in session."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as client:
        _, challenge = pkce()
        presignin, fields = _form(
            client, authorize_path(client_id, redirect_uri, challenge, "s", scope)
        )
        done = client.post(
            "/signin",
            data={**fields, "email": email, "password": password},
            headers={"Origin": base, "Cookie": f"{PRESIGNIN_COOKIE}={presignin}"},
        )
        if done.status_code != 303 or "code=" not in done.headers.get("location", ""):
            raise RuntimeError(f"the sign-in answered {done.status_code}: {done.text[:300]}")
        return f"{SIGNIN_COOKIE}={_cookie(done, SIGNIN_COOKIE)}"


def mint_codes(
    base: str,
    cookie: str,
    client_id: str,
    redirect_uri: str,
    scope: str,
    count: int,
    files: Path,
) -> list[tuple[str, str]]:
    """``count`` fresh authorization codes with their verifiers: wrk (16 connections) sends
    ``GET /oauth/authorize`` with the sign-in session cookie, each request with its own
    challenge and ``state``, and saves each redirect's code by state (``lines.lua`` save=).
    Codes live 60 s: the mint stops after 45 s with the codes it has."""
    verifiers, paths = [], []
    for i in range(count + 1):  # wrk takes the first line for its up-front check
        verifier, challenge = pkce()
        verifiers.append(verifier)
        paths.append(authorize_path(client_id, redirect_uri, challenge, f"c{i}", scope))
    lines = files / f"mint-{secrets.token_hex(4)}.txt"
    lines.write_text("\n".join(paths) + "\n")
    saved = files / f"codes-{secrets.token_hex(4)}.txt"
    args = [f"lines={lines}", f"cookie={cookie}", "expect=302", f"save={saved}"]
    argv = [need_wrk(), "-t1", "-c16", "-d40s", "-s", str(LUA / "lines.lua"), base, "--", *args]
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA)}
    # wrk sleeps out its whole duration even once its thread has stopped: interrupt it (its
    # SIGINT ends the run) as soon as every code is saved.
    with subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL) as proc:
        deadline = time.monotonic() + 45
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
            if saved.exists() and _count_lines(saved) >= count:
                break
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    codes = {}
    for line in saved.read_text().splitlines():
        state, code = line.split(" ", 1)
        codes[int(unquote(state)[1:])] = unquote(code)
    # Short of count only past the deadline (a slow machine): the run then goes past the pool,
    # and every reused code is an error in its figures.
    out = [(codes[i], verifiers[i]) for i in sorted(codes)]
    if not out:
        raise RuntimeError("no code minted")
    return out


_PEER_HIDDEN = re.compile(r'type="hidden" name="([^"]+)" value="([^"]*)"')


def _peer_code(client: httpx.Client, base: str, query: dict[str, str], login: str) -> str:
    """The peer's front channel: its authorization endpoint, then its devInteractions login
    form (any login and password), until the redirect to the client carries the code."""
    answer = client.get("/auth?" + urlencode(query))
    for _ in range(8):
        if answer.status_code in (302, 303):
            location = answer.headers["location"]
            if location.startswith(query["redirect_uri"]):
                return parse_qs(urlsplit(location).query)["code"][0]
            answer = client.get(urljoin(base, location))
            continue
        action = re.search(r'action="([^"]+)"', answer.text)
        if answer.status_code != 200 or action is None:
            raise RuntimeError(f"the peer answered {answer.status_code}: {answer.text[:300]}")
        form = {**dict(_PEER_HIDDEN.findall(answer.text)), "login": login, "password": "any"}
        answer = client.post(urljoin(base, action.group(1)), data=form)
    raise RuntimeError("the peer's code flow did not end in a redirect to the client")


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 16), b""))


def peer_refresh_tokens(
    base: str, client_id: str, secret: str, redirect_uri: str, scope: str, count: int
) -> list[str]:
    """``count`` refresh tokens of the peer, each from its own code flow (a browser of its
    own, a login of its own) and code exchange."""
    tokens = []
    for i in range(count):
        verifier, challenge = pkce()
        query = {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": scope,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": f"p{i}",
        }
        with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as client:
            code = _peer_code(client, base, query, f"user{i}")
            token = client.post(
                "/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": verifier,
                },
                auth=(client_id, secret),
            )
            token.raise_for_status()
            tokens.append(token.json()["refresh_token"])
    return tokens
