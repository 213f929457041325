"""Cookie mode's CSRF token is the session's own (HMAC of its id under a key derived from the
KEK): another session's token, or any well-formed value an attacker managed to set as the CSRF
cookie, is refused (403) on every cookie-authenticated request, before anything is spent."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

import pytest

from jwtwarden.server.cookies import CookiePolicy, csrf_key
from jwtwarden.unsafe import decode_unverified

from ..server.support import new_kek
from .conftest import ADMIN, ORIGIN, PASSWORD, USER, App, AppFactory

GRANT = {"grant_type": "refresh_token"}


@dataclass
class CookieSession:
    prefix: str
    cookies: dict[str, str]
    csrf: str
    sid: str

    def headers(
        self, *, csrf: str | None = None, cookie_csrf: str | None = None, refresh: str = ""
    ) -> dict[str, str]:
        """This session's cookies and CSRF header; ``csrf`` replaces the header's value,
        ``cookie_csrf`` the CSRF cookie's, ``refresh`` the refresh cookie's."""
        jar = dict(self.cookies)
        if cookie_csrf is not None:
            jar[self.prefix + "jwtwarden_csrf"] = cookie_csrf
        if refresh:
            jar[self.prefix + "jwtwarden_refresh"] = refresh
        return {
            "cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
            "origin": ORIGIN,
            "x-csrf-token": self.csrf if csrf is None else csrf,
        }


async def _cookie_login(app: App, email: str = USER) -> CookieSession:
    async with app.client() as c:
        r = await c.post(
            "/auth/login?mode=cookie",
            json={"email": email, "password": PASSWORD},
            headers={"origin": ORIGIN},
        )
    assert r.status_code == 200, r.text
    jar = {}
    for raw in r.headers.get_list("set-cookie"):
        name, _, rest = raw.partition("=")
        jar[name] = rest.split(";", 1)[0]
    prefix = app.runtime.cookies.prefix
    assert jar[prefix + "jwtwarden_csrf"] == r.json()["csrf_token"]
    access = r.json().get("access_token") or jar[prefix + "jwtwarden_access"]
    claims = decode_unverified(access).claims
    assert claims is not None
    return CookieSession(prefix, jar, r.json()["csrf_token"], str(claims["sid"]))


async def _refresh_status(app: App, headers: dict[str, str]) -> int:
    async with app.client() as c:
        return (await c.post("/oauth/token", data=GRANT, headers=headers)).status_code


@pytest.mark.parametrize("host_prefix", [True, False])
async def test_should_refuse_a_refresh_with_the_csrf_token_of_another_session(
    make_app: AppFactory, host_prefix: bool
) -> None:
    async with make_app(cookie_host_prefix=host_prefix) as app:
        alice, mallory = await _cookie_login(app), await _cookie_login(app, ADMIN)
        assert alice.csrf != mallory.csrf
        # Swapped: each session's cookies with the other's CSRF token, in cookie and header
        # (a planted CSRF cookie, cookie tossing) or in the header only.
        for victim, attacker in ((alice, mallory), (mallory, alice)):
            planted = victim.headers(csrf=attacker.csrf, cookie_csrf=attacker.csrf)
            assert await _refresh_status(app, planted) == 403
            header_only = victim.headers(csrf=attacker.csrf)
            assert await _refresh_status(app, header_only) == 403
        # Nothing was spent by the refusals: each session refreshes with its own token.
        assert await _refresh_status(app, alice.headers()) == 200
        assert await _refresh_status(app, mallory.headers()) == 200


@pytest.mark.parametrize(
    "forged",
    [
        "A" * 43,
        base64.urlsafe_b64encode(b"\0" * 32).rstrip(b"=").decode(),
        # The right construction under another key (another deployment, or a guessed one).
        "other-key",
    ],
)
async def test_should_refuse_any_well_formed_csrf_value_the_server_did_not_mint_for_the_session(
    server: App, forged: str
) -> None:
    session = await _cookie_login(server)
    if forged == "other-key":
        forged = CookiePolicy(csrf_key=csrf_key(None)).csrf_token(session.sid)
    assert len(forged) == len(session.csrf) and forged != session.csrf
    # An attacker who can set cookies (a sibling subdomain, a plain-http response) sets the
    # CSRF cookie and sends the same value: a naive double submit accepts it.
    headers = session.headers(csrf=forged, cookie_csrf=forged)
    assert await _refresh_status(server, headers) == 403
    async with server.client() as c:
        out = await c.post("/auth/logout", headers=headers)
    assert out.status_code == 403 and out.json()["error"] == "access_denied"
    assert await _refresh_status(server, session.headers()) == 200


async def test_should_refuse_a_cookie_logout_with_another_sessions_csrf_token(
    server: App,
) -> None:
    alice, mallory = await _cookie_login(server), await _cookie_login(server, ADMIN)
    async with server.client() as c:
        swapped = alice.headers(csrf=mallory.csrf, cookie_csrf=mallory.csrf)
        r = await c.post("/auth/logout", headers=swapped)
        assert r.status_code == 403
        assert await _refresh_status(server, alice.headers()) == 200  # still logged in
        ok = await c.post("/auth/logout", headers=alice.headers())
    assert ok.status_code == 200
    assert await _refresh_status(server, alice.headers()) == 400  # now ended


async def test_should_refuse_access_cookie_requests_with_another_sessions_csrf_token(
    make_app: AppFactory,
) -> None:
    async with make_app(cookie_access_token=True) as app:
        admin, user = await _cookie_login(app, ADMIN), await _cookie_login(app)
        change = {"current_password": PASSWORD, "new_password": PASSWORD + " changed"}
        async with app.client() as c:
            swapped_admin = await c.get(
                "/admin/users", headers=admin.headers(csrf=user.csrf, cookie_csrf=user.csrf)
            )
            swapped_password = await c.post(
                "/auth/password",
                json=change,
                headers=user.headers(csrf=admin.csrf, cookie_csrf=admin.csrf),
            )
            own_admin = await c.get("/admin/users", headers=admin.headers())
            own_password = await c.post("/auth/password", json=change, headers=user.headers())
    assert swapped_admin.status_code == 403 and swapped_password.status_code == 403
    assert own_admin.status_code == 200, own_admin.text
    assert own_password.status_code == 200, own_password.text


async def test_should_refuse_a_refresh_cookie_of_no_session_whatever_the_csrf_token(
    server: App,
) -> None:
    session = await _cookie_login(server)
    unknown = "jwtw_rt_" + "B" * 43
    status = await _refresh_status(server, session.headers(refresh=unknown))
    assert status == 403


async def test_should_keep_the_csrf_token_of_a_session_across_refreshes(server: App) -> None:
    session = await _cookie_login(server)
    async with server.client() as c:
        r = await c.post("/oauth/token", data=GRANT, headers=session.headers())
    assert r.status_code == 200, r.text
    assert r.json()["csrf_token"] == session.csrf
    assert session.csrf == server.runtime.cookies.csrf_token(session.sid)


def test_should_derive_the_csrf_token_from_the_kek_and_the_session_id_with_hmac() -> None:
    kek = base64.urlsafe_b64decode(new_kek() + "=")
    one, two = CookiePolicy(csrf_key=csrf_key(kek)), CookiePolicy(csrf_key=csrf_key(kek))
    assert one.csrf_token("sid-1") == two.csrf_token("sid-1")  # every process of a deployment
    assert one.csrf_token("sid-1") != one.csrf_token("sid-2")
    other = CookiePolicy(csrf_key=csrf_key(base64.urlsafe_b64decode(new_kek() + "=")))
    assert other.csrf_token("sid-1") != one.csrf_token("sid-1")
    # The KEK itself is never the MAC key (HKDF with its own info).
    raw = hmac.new(kek, b"csrf\x00sid-1", hashlib.sha256).digest()
    assert one.csrf_token("sid-1") != base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert "csrf_key" not in repr(one)


def test_should_refuse_a_csrf_key_shorter_than_32_bytes() -> None:
    with pytest.raises(ValueError, match="csrf_key must be at least 32 bytes"):
        CookiePolicy(csrf_key=b"short")
