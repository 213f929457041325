"""Hostile HTTP requests against the auth server: each either gets the documented 4xx or is
refused by the rule named in the test; none gets a 500."""

from __future__ import annotations

import base64
import time

import pytest

from jwtwarden import generate_key
from jwtwarden._jose.sign import sign_compact

from .conftest import ADMIN, INTROSPECTION, ORIGIN, PASSWORD, USER, App, AppFactory

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "\\ud800@example.test", "password": "a perfectly long password"}',
        b'{"email": "ada@example.test", "password": "\\udc00 a perfectly long password"}',
        b'{"email": "ada@example.test", "password": "x", "\\ud83d": 1}',
    ],
)
async def test_should_answer_400_not_500_to_lone_surrogates_in_a_json_body(
    server: App, body: bytes
) -> None:
    # "\ud800" parses as JSON but no database driver, hasher or log line can encode it.
    async with server.client() as c:
        r = await c.post("/auth/login", content=body, headers=JSON)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_should_answer_400_to_a_lone_surrogate_in_a_new_password(server: App) -> None:
    token = (await server.login())["access_token"]
    body = b'{"current_password": "a perfectly long password", "new_password": "\\ud800xxxxxxxxxx"}'
    async with server.client() as c:
        r = await c.post(
            "/auth/password", content=body, headers={**JSON, "authorization": f"Bearer {token}"}
        )
    assert r.status_code == 400


@pytest.mark.parametrize("value", ["%C2%B2", "%D9%A3", "1%C2%B2", "99999999999999999999999"])
async def test_should_refuse_non_ascii_digits_in_admin_paging_parameters(
    server: App, value: str
) -> None:
    # str.isdigit() says yes to "²" (int() then raises) and to "٣" (int() accepts it).
    token = (await server.login(ADMIN))["access_token"]
    async with server.client() as c:
        r = await c.get(f"/admin/users?limit={value}", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 400


async def _cookie_login(app: App) -> tuple[str, str, str]:
    async with app.client() as c:
        r = await c.post(
            "/auth/login?mode=cookie",
            json={"email": USER, "password": PASSWORD},
            headers={"origin": ORIGIN},
        )
    assert r.status_code == 200, r.text
    prefix = app.runtime.cookies.prefix
    values = dict(h.split(";", 1)[0].split("=", 1) for h in r.headers.get_list("set-cookie"))
    return prefix, values[prefix + "jwtwarden_refresh"], values[prefix + "jwtwarden_csrf"]


async def test_should_answer_403_not_500_to_a_non_ascii_csrf_header(server: App) -> None:
    # hmac.compare_digest refuses non-ASCII str with a TypeError: a 500 for one header byte.
    prefix, refresh, csrf = await _cookie_login(server)
    cookie = f"{prefix}jwtwarden_refresh={refresh}; {prefix}jwtwarden_csrf={csrf}"
    async with server.client() as c:
        r = await c.post(
            "/oauth/token",
            data={"grant_type": "refresh_token"},
            headers={
                "cookie": cookie,
                "origin": ORIGIN,
                "x-csrf-token": "\xe9".encode("latin-1") * 43,
            },
        )
    assert r.status_code == 403 and r.json()["error"] == "access_denied"


@pytest.mark.parametrize("host_prefix", [False, True])
@pytest.mark.parametrize("tossed", ["csrf", "refresh"])
async def test_should_refuse_a_request_carrying_a_session_cookie_twice(
    make_app: AppFactory, host_prefix: bool, tossed: str
) -> None:
    # Cookie tossing: a sibling subdomain plants a second cookie of the same name (possible for
    # __Secure- names); the server must not pick one of the two.
    async with make_app(cookie_host_prefix=host_prefix) as app:
        prefix, refresh, csrf = await _cookie_login(app)
        planted = "evil" + "A" * 39
        cookie = f"{prefix}jwtwarden_refresh={refresh}; {prefix}jwtwarden_csrf={csrf}"
        cookie += f"; {prefix}jwtwarden_{tossed}={planted}"
        header = planted if tossed == "csrf" else csrf
        async with app.client() as c:
            r = await c.post(
                "/oauth/token",
                data={"grant_type": "refresh_token"},
                headers={"cookie": cookie, "origin": ORIGIN, "x-csrf-token": header},
            )
        assert r.status_code == 403, r.text
        # The real pair still works: nothing was spent by the refused request.
        clean = f"{prefix}jwtwarden_refresh={refresh}; {prefix}jwtwarden_csrf={csrf}"
        async with app.client() as c:
            ok = await c.post(
                "/oauth/token",
                data={"grant_type": "refresh_token"},
                headers={"cookie": clean, "origin": ORIGIN, "x-csrf-token": csrf},
            )
        assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("planted", ["evil", "a" * 42 + ";", "x" * 200])
async def test_should_refuse_a_csrf_cookie_the_server_did_not_mint(
    server: App, planted: str
) -> None:
    # A planted cookie echoed in the header passes a naive double submit, and would then be
    # reflected into the Set-Cookie of the refresh response.
    prefix, refresh, _ = await _cookie_login(server)
    cookie = f'{prefix}jwtwarden_refresh={refresh}; {prefix}jwtwarden_csrf="{planted}"'
    async with server.client() as c:
        r = await c.post(
            "/oauth/token",
            data={"grant_type": "refresh_token"},
            headers={"cookie": cookie, "origin": ORIGIN, "x-csrf-token": planted},
        )
    assert r.status_code == 403


@pytest.mark.parametrize(
    "origin",
    ["null", ORIGIN + ".evil.test", ORIGIN + "/", ORIGIN + ":443", "http://app.example.test"],
)
async def test_should_refuse_cookie_logins_from_origins_that_only_look_allowed(
    server: App, origin: str
) -> None:
    async with server.client() as c:
        r = await c.post(
            "/auth/login?mode=cookie",
            json={"email": USER, "password": PASSWORD},
            headers={"origin": origin},
        )
    assert r.status_code == 403 and "set-cookie" not in r.headers


async def test_should_serve_metrics_only_to_loopback_peers_by_default(server: App) -> None:
    # Login, reuse and rate-limit counters tell an attacker whether the attack is noticed.
    async with server.client("203.0.113.9") as c:
        remote = await c.get("/metrics")
    async with server.client("127.0.0.1") as c:
        local = await c.get("/metrics")
    assert remote.status_code == 403 and "jwtwarden_logins" not in remote.text
    assert local.status_code == 200 and "jwtwarden_logins" in local.text


async def test_should_serve_metrics_with_the_metrics_token_only(make_app: AppFactory) -> None:
    secret = "m" * 40
    async with make_app(metrics_token=secret) as app:
        async with app.client("203.0.113.9") as c:
            good = await c.get("/metrics", headers={"authorization": f"Bearer {secret}"})
            wrong = await c.get("/metrics", headers={"authorization": "Bearer " + "n" * 40})
        async with app.client("127.0.0.1") as c:
            none = await c.get("/metrics")
    assert good.status_code == 200 and "jwtwarden_logins" in good.text
    assert wrong.status_code == 403 and none.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "evil.example"},
        {"x-forwarded-host": "evil.example", "x-forwarded-proto": "https"},
        {"forwarded": "host=evil.example;proto=https"},
    ],
)
async def test_should_not_let_the_host_header_change_the_issuer(
    server: App, headers: dict[str, str]
) -> None:
    async with server.client() as c:
        meta = (await c.get("/.well-known/oauth-authorization-server", headers=headers)).json()
        login = await c.post(
            "/auth/login", json={"email": USER, "password": PASSWORD}, headers=headers
        )
    issuer = server.runtime.settings.issuer_url
    assert meta["issuer"] == issuer and "evil" not in str(meta)
    verified = await server.runtime.verify_access_token(login.json()["access_token"])
    assert verified.claims["iss"] == issuer


async def test_should_refuse_an_account_whose_email_only_looks_like_another(server: App) -> None:
    service = server.runtime.service
    from jwtwarden.errors import UserExistsError

    with pytest.raises(UserExistsError):  # fullwidth a is a, after NFKC
        await service.create_user("\uff41da@example.test", PASSWORD)
    with pytest.raises(UserExistsError):
        await service.create_user("ADA@EXAMPLE.TEST", PASSWORD)
    for invisible in ("a\u200bda@example.test", "ada\u202e@example.test", "ada\x7f@example.test"):
        with pytest.raises(ValueError):
            await service.create_user(invisible, PASSWORD)


async def test_should_log_in_with_a_fullwidth_spelling_of_the_same_address(server: App) -> None:
    body = await server.login("\uff41da@EXAMPLE.test")
    assert body["token_type"] == "Bearer"


async def _answer(app: App, email: str) -> tuple[int, str, list[tuple[str, str]]]:
    async with app.client() as c:
        r = await c.post("/auth/login", json={"email": email, "password": "wrong password!!"})
    headers = sorted((k, v) for k, v in r.headers.items() if k not in ("date", "content-length"))
    return r.status_code, r.text, headers


async def test_should_answer_byte_for_byte_the_same_for_known_unknown_and_disabled_accounts(
    server: App,
) -> None:
    disabled = await server.runtime.service.create_user("off@example.test", PASSWORD)
    await server.runtime.service.set_disabled(disabled.id, True)
    answers = {
        email: await _answer(server, email)
        for email in (USER, "nobody@example.test", "off@example.test", "not-an-email")
    }
    assert len(set(map(repr, answers.values()))) == 1, answers


async def test_should_rate_limit_known_and_unknown_accounts_identically(
    make_app: AppFactory,
) -> None:
    # Windows are fixed and aligned to the clock: a boundary inside these six requests would
    # reset a count (the flake seen once). A one-day window makes that about 3 in a million.
    async with make_app(rate_limit_login_account=2, rate_limit_window=86400) as app:
        known = [await _answer(app, USER) for _ in range(3)]
        unknown = [await _answer(app, "nobody@example.test") for _ in range(3)]
    assert [a[0] for a in known] == [400, 400, 429] == [a[0] for a in unknown]

    def shape(answer: tuple[int, str, list[tuple[str, str]]]) -> tuple[str, list[str]]:
        # Retry-After counts down with the wall clock: compare that it is there, not its value.
        return answer[1], [
            name if name == "retry-after" else f"{name}: {v}" for name, v in answer[2]
        ]

    assert [shape(a) for a in known] == [shape(a) for a in unknown]
    assert "retry-after" in dict(known[2][2]) and "retry-after" in dict(unknown[2][2])


async def test_should_keep_the_admin_api_from_every_token_that_is_not_a_live_admin_access_token(
    server: App,
) -> None:
    runtime = server.runtime
    user = (await server.login())["access_token"]
    admin = (await server.login(ADMIN))["access_token"]
    signing = runtime.ring.signing_key("access")
    claims = (await runtime.verify_access_token(admin)).claims
    id_token = sign_compact({"typ": "JWT"}, {**claims, "nonce": "n"}, signing)
    foreign = sign_compact(
        {"typ": "at+jwt"}, {**claims, "iss": "https://evil.example"}, generate_key("ES256")
    )
    other_key = sign_compact({"typ": "at+jwt"}, claims, generate_key("ES256", kid=signing.kid))
    expired = sign_compact(
        {"typ": "at+jwt"}, {**claims, "iat": time.time() - 7200, "exp": time.time() - 3600}, signing
    )
    revoked = (await server.login(ADMIN))["access_token"]
    async with server.client() as c:
        assert (await c.post("/oauth/revoke", data={"token": revoked})).status_code == 200
        statuses = {}
        for name, token in {
            "user": user,
            "id_token": id_token,
            "foreign_issuer": foreign,
            "same_kid_other_key": other_key,
            "expired": expired,
            "revoked": revoked,
            "admin": admin,
        }.items():
            r = await c.get("/admin/users", headers={"authorization": f"Bearer {token}"})
            statuses[name] = r.status_code
    assert statuses == {
        "user": 403,
        "id_token": 401,
        "foreign_issuer": 401,
        "same_kid_other_key": 401,
        "expired": 401,
        "revoked": 401,
        "admin": 200,
    }


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"rs:" + b"s" * 39).decode(),
        "Basic " + base64.b64encode("rs:\xe9".encode()).decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),
        "Basic %%%",
        "Bearer " + "s" * 40,
    ],
)
async def test_should_refuse_introspection_without_the_right_client_credentials(
    server: App, authorization: str | None
) -> None:
    token = (await server.login())["access_token"]
    headers = {} if authorization is None else {"authorization": authorization}
    async with server.client() as c:
        r = await c.post("/oauth/introspect", data={"token": token}, headers=headers)
        ok = await c.post("/oauth/introspect", data={"token": token}, auth=INTROSPECTION)
    assert r.status_code == 401 and "active" not in r.text
    assert ok.json()["active"] is True


async def test_should_count_every_address_of_one_ipv6_64_in_one_login_bucket(
    make_app: AppFactory,
) -> None:
    # Credential stuffing from one IPv6 subscriber: a /64 holds 2**64 addresses (RFC 6177).
    async with make_app(rate_limit_login_address=2) as app:
        statuses = []
        for address in ("2001:db8::1", "2001:db8::2", "2001:db8::ffff:3"):
            async with app.client(address) as c:
                r = await c.post(
                    "/auth/login", json={"email": "x@example.test", "password": "wrong password"}
                )
            statuses.append(r.status_code)
        async with app.client("2001:db8:0:1::1") as c:  # another /64
            other = await c.post("/auth/login", json={"email": USER, "password": PASSWORD})
    assert statuses == [400, 400, 429]
    assert other.status_code == 200


async def _change_password(app: App, token: str, current: str) -> int:
    async with app.client() as c:
        r = await c.post(
            "/auth/password",
            json={"current_password": current, "new_password": "another long password!"},
            headers={"authorization": f"Bearer {token}"},
        )
    return r.status_code


async def test_should_count_password_change_guesses_against_the_accounts_login_budget(
    make_app: AppFactory,
) -> None:
    # A stolen access token must not add its own budget of current-password guesses to the
    # attacker's login guesses: both spend the account's one budget.
    async with make_app(rate_limit_login_account=3) as app:
        token = (await app.login())["access_token"]  # attempt 1
        guesses = [await _change_password(app, token, "wrong password!!") for _ in range(2)]
        async with app.client() as c:
            login = await c.post("/auth/login", json={"email": USER, "password": PASSWORD})
    assert guesses == [400, 400]
    assert login.status_code == 429


async def test_should_refuse_a_password_change_once_failed_logins_used_the_budget(
    make_app: AppFactory,
) -> None:
    async with make_app(rate_limit_login_account=3) as app:
        token = (await app.login())["access_token"]
        failed = [(await _answer(app, USER.upper()))[0] for _ in range(2)]
        status = await _change_password(app, token, PASSWORD)
    assert failed == [400, 400]
    assert status == 429


# The other routes that take the account's password (issue 15): each guess there spends the
# login's budget too, or a stolen token would add its own guesses to the attacker's logins.
_PASSWORD_ROUTES = {
    "/account/email": {"email": "moved@example.test"},
    "/account/delete": {},
}


async def _password_route(app: App, path: str, token: str, password: str) -> int:
    async with app.client() as c:
        r = await c.post(
            path,
            json={**_PASSWORD_ROUTES[path], "password": password},
            headers={"authorization": f"Bearer {token}"},
        )
    return r.status_code


@pytest.mark.parametrize("path", sorted(_PASSWORD_ROUTES))
async def test_should_count_the_password_guesses_of_an_account_route_against_the_login_budget(
    make_app: AppFactory, path: str
) -> None:
    async with make_app(rate_limit_login_account=3) as app:
        token = (await app.login())["access_token"]  # attempt 1
        guesses = [await _password_route(app, path, token, "wrong password!!") for _ in range(2)]
        async with app.client() as c:
            login = await c.post("/auth/login", json={"email": USER, "password": PASSWORD})
    assert guesses == [400, 400]
    assert login.status_code == 429


@pytest.mark.parametrize("path", sorted(_PASSWORD_ROUTES))
async def test_should_refuse_an_account_route_once_failed_logins_used_the_budget(
    make_app: AppFactory, path: str
) -> None:
    async with make_app(rate_limit_login_account=3) as app:
        token = (await app.login())["access_token"]
        failed = [(await _answer(app, USER.upper()))[0] for _ in range(2)]
        status = await _password_route(app, path, token, PASSWORD)
    assert failed == [400, 400]
    assert status == 429
