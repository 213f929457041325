"""Roles, account deletion and the claims hook through the HTTP API (the app in process on
SQLite): the issue 15 hole closed at /auth/login, the admin API's role and account routes,
and a failing claims hook answered as server_error without a token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from jwtwarden.server.app import create_app
from jwtwarden.server.settings import Settings

from .support import App

PASSWORD = "a perfectly long password"
ADMIN = ("root@example.test", "the administrator's long password")
SETTINGS: dict[str, Any] = {
    "scopes": "items:read,items:write,admin,openid",
    "roles": {"editor": ["items:read", "items:write"], "administrator": ["admin"]},
}


async def _app(tmp_path: Path, **settings: Any) -> AsyncIterator[App]:
    app = create_app(Settings(data_dir=tmp_path / "data", **{**SETTINGS, **settings}))
    async with app.router.lifespan_context(app):
        wrapped = App(app)
        await wrapped.runtime.service.create_user("ada@example.test", PASSWORD)
        await wrapped.runtime.service.create_user(*ADMIN, is_admin=True)
        yield wrapped


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[App]:
    async for app in _app(tmp_path):
        yield app


async def _login(app: App, email: str, password: str, scope: str | None = None) -> Any:
    body = {"email": email, "password": password, **({"scope": scope} if scope else {})}
    async with app.client() as c:
        return await c.post("/auth/login", json=body)


async def _admin_headers(app: App) -> dict[str, str]:
    token = (await _login(app, *ADMIN)).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def _ada(app: App) -> str:
    user = await app.runtime.users.user_by_email("ada@example.test")
    assert user is not None
    return str(user.id)


async def test_should_answer_invalid_scope_to_a_user_asking_for_items_write_and_admin(
    server: App,
) -> None:
    refused = await _login(server, "ada@example.test", PASSWORD, "items:write admin")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    # An administrator account is not a role: is_admin opens the admin API, not the scope.
    also = await _login(server, *ADMIN, "admin")
    assert also.status_code == 400 and also.json()["error"] == "invalid_scope"
    identity = await _login(server, "ada@example.test", PASSWORD, "openid")
    assert identity.status_code == 200 and identity.json()["scope"] == "openid"


async def test_should_assign_and_remove_roles_through_the_admin_api(server: App) -> None:
    headers = await _admin_headers(server)
    uid = await _ada(server)
    async with server.client() as c:
        added = await c.post(
            f"/admin/users/{uid}/roles", json={"add": ["editor", "administrator"]}, headers=headers
        )
        assert added.status_code == 200, added.text
        assert added.json() == {
            "id": uid,
            "roles": [
                {"role": "administrator", "client_id": None},
                {"role": "editor", "client_id": None},
            ],
        }
        login = await _login(server, "ada@example.test", PASSWORD, "items:write admin")
        assert login.status_code == 200 and login.json()["scope"] == "admin items:write"
        removed = await c.post(
            f"/admin/users/{uid}/roles", json={"remove": ["administrator"]}, headers=headers
        )
        assert [r["role"] for r in removed.json()["roles"]] == ["editor"]
        form = {"grant_type": "refresh_token", "refresh_token": login.json()["refresh_token"]}
        refreshed = await c.post("/oauth/token", data=form)
        assert refreshed.status_code == 200 and refreshed.json()["scope"] == "items:write"
        listed = await c.get(f"/admin/users/{uid}/roles", headers=headers)
        assert listed.json()["roles"] == [{"role": "editor", "client_id": None}]


@pytest.mark.parametrize(
    ("body", "status", "error", "says"),
    [
        ({"add": ["superuser"]}, 400, "invalid_request", "configured roles"),
        ({"add": "editor"}, 400, "invalid_request", "must be a list"),
        ({"add": [7]}, 400, "invalid_request", "role names"),
    ],
    ids=[
        "should refuse a role that is not configured, naming the configured ones",
        "should refuse a role list that is a string",
        "should refuse a role name that is not a string",
    ],
)
async def test_role_changes_that_are_refused(
    server: App, body: dict[str, Any], status: int, error: str, says: str
) -> None:
    headers = await _admin_headers(server)
    uid = await _ada(server)
    async with server.client() as c:
        refused = await c.post(f"/admin/users/{uid}/roles", json=body, headers=headers)
    assert refused.status_code == status and refused.json()["error"] == error
    assert says in refused.json()["error_description"]


async def test_should_keep_the_role_routes_for_admins_and_known_accounts(server: App) -> None:
    user_token = (await _login(server, "ada@example.test", PASSWORD)).json()["access_token"]
    uid = await _ada(server)
    async with server.client() as c:
        denied = await c.post(
            f"/admin/users/{uid}/roles",
            json={"add": ["administrator"]},
            headers={"Authorization": f"Bearer {user_token}"},
        )
        assert denied.status_code == 403
        missing = await c.get("/admin/users/nobody/roles", headers=await _admin_headers(server))
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def test_should_delete_an_account_and_stop_its_tokens(server: App) -> None:
    headers = await _admin_headers(server)
    uid = await _ada(server)
    pair = (await _login(server, "ada@example.test", PASSWORD)).json()
    async with server.client() as c:
        gone = await c.delete(f"/admin/users/{uid}", headers=headers)
        assert gone.status_code == 200
        assert gone.json() == {"id": uid, "deleted": True, "sessions_ended": 1}
        bearer = {"Authorization": f"Bearer {pair['access_token']}"}
        # /auth/logout answers 200 whatever it is sent (RFC 7009 2.2): userinfo verifies.
        stopped = await c.get("/oauth/userinfo", headers=bearer)
        assert stopped.status_code == 401
        assert 'error="invalid_token"' in stopped.headers["www-authenticate"]
        form = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
        refused = await c.post("/oauth/token", data=form)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
        assert (await c.get(f"/admin/users/{uid}", headers=headers)).status_code == 404
        assert (await c.delete(f"/admin/users/{uid}", headers=headers)).status_code == 404


async def test_should_set_a_password_through_the_admin_api(server: App) -> None:
    headers = await _admin_headers(server)
    uid = await _ada(server)
    pair = (await _login(server, "ada@example.test", PASSWORD)).json()
    async with server.client() as c:
        done = await c.post(
            f"/admin/users/{uid}/password",
            json={"password": "another long password"},
            headers=headers,
        )
        assert done.status_code == 200 and done.json()["auth_version"] == 2
        weak = await c.post(f"/admin/users/{uid}/password", json={"password": "x"}, headers=headers)
        assert weak.status_code == 400
        form = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
        assert (await c.post("/oauth/token", data=form)).status_code == 400
    assert (await _login(server, "ada@example.test", "another long password")).status_code == 200


async def test_should_answer_server_error_and_issue_nothing_when_the_claims_hook_fails(
    tmp_path: Path,
) -> None:
    async for app in _app(tmp_path, claims_hook="tests.sessions.hooks:broken"):
        refused = await _login(app, "ada@example.test", PASSWORD)
        assert refused.status_code == 500
        assert refused.json() == {
            "error": "server_error",
            "error_description": "the token could not be issued",
        }
        assert "access_token" not in refused.text


async def test_should_add_the_claims_hooks_claims_to_issued_tokens(tmp_path: Path) -> None:
    async for app in _app(tmp_path, claims_hook="tests.sessions.hooks:organisation"):
        pair = (await _login(app, "ada@example.test", PASSWORD)).json()
        verified = await app.runtime.verify_access_token(pair["access_token"])
        assert verified.claims["org"] == "acme" and verified.claims["hooked_for"] == "access"


async def test_should_refuse_to_start_with_a_claims_hook_that_cannot_be_loaded(
    tmp_path: Path,
) -> None:
    app = create_app(Settings(data_dir=tmp_path / "data", claims_hook="tests.no_such:hook"))
    with pytest.raises(ValueError, match="JWTWARDEN_CLAIMS_HOOK: cannot import module"):
        async with app.router.lifespan_context(app):
            pass


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"scopes": "read", "roles": {"r": ["write"]}}, "JWTWARDEN_ROLES: role 'r' grants 'write'"),
        ({"roles": {"r": ["openid"]}, "default_roles": "x"}, "JWTWARDEN_DEFAULT_ROLES"),
        ({"roles": {"a b": ["openid"]}}, "JWTWARDEN_ROLES: role 'a b'"),
        ({"smtp_username": "u"}, "JWTWARDEN_SMTP_USERNAME"),
        (
            {"smtp_username": "u", "smtp_password": "p", "smtp_security": "none"},
            "JWTWARDEN_SMTP_SECURITY",
        ),
        (
            {"signup": True, "environment": "staging", "issuer": "https://a.test", "kek": "A" * 43},
            "JWTWARDEN_SIGNUP",
        ),
    ],
    ids=[
        "should refuse a role granting a scope the server does not offer",
        "should refuse a default role that is not defined",
        "should refuse a role name with a space",
        "should refuse an SMTP user without a password",
        "should refuse SMTP credentials over cleartext",
        "should refuse sign-up without mail outside development",
    ],
)
def test_account_settings_that_are_refused(settings: dict[str, Any], problem: str) -> None:
    from jwtwarden.server.settings import format_settings_errors

    with pytest.raises(ValueError) as refused:
        Settings(**settings)
    assert problem in format_settings_errors(refused.value)
