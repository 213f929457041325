"""The account lifecycle's JSON endpoints (the app in process on SQLite, the development file
outbox as the mailbox): sign-up off by default, uniform answers for known and unknown
addresses, verification, reset and e-mail change links that die once used or superseded,
links of one account or purpose refused for another, and deletion by the owner."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jwtwarden.accounts.mail import read_outbox
from jwtwarden.server.app import create_app
from jwtwarden.server.settings import Settings

from .support import App

PASSWORD = "a perfectly long password"
NEW_PASSWORD = "another perfectly long password"


class Server(App):
    @property
    def outbox(self) -> Path:
        return Path(self.runtime.settings.data_dir) / "outbox"

    async def mail(self) -> list[Any]:
        await self.runtime.lifecycle.drain()
        return read_outbox(self.outbox)

    async def last_link(self, to: str) -> str:
        mine = [m for m in await self.mail() if m["To"] == to]
        assert mine, f"no mail to {to}"
        found = re.search(r"#token=(\S+)", mine[-1].get_content())
        assert found is not None, "the last mail holds no link"
        return found.group(1)


async def _server(tmp_path: Path, **settings: Any) -> AsyncIterator[Server]:
    app = create_app(Settings(data_dir=tmp_path / "data", **settings))
    async with app.router.lifespan_context(app):
        server = Server(app)
        await server.runtime.service.create_user("ada@example.test", PASSWORD)
        await server.runtime.service.create_user("bob@example.test", PASSWORD)
        yield server


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    async for s in _server(tmp_path, signup=True):
        yield s


async def _post(server: Server, path: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
    async with server.client() as c:
        return await c.post(path, json=body, **kw)


async def _login(server: Server, email: str, password: str) -> httpx.Response:
    return await _post(server, "/auth/login", {"email": email, "password": password})


def _same_answer(one: httpx.Response, other: httpx.Response) -> None:
    assert (one.status_code, one.content) == (other.status_code, other.content)
    drop = {"date", "content-length"}
    assert {k: v for k, v in one.headers.items() if k not in drop} == {
        k: v for k, v in other.headers.items() if k not in drop
    }


async def test_should_refuse_sign_up_unless_it_is_switched_on(tmp_path: Path) -> None:
    async for off in _server(tmp_path):
        refused = await _post(
            off, "/account/signup", {"email": "eve@example.test", "password": PASSWORD}
        )
        assert refused.status_code == 403 and refused.json()["error"] == "access_denied"
        assert await off.mail() == []


async def test_should_answer_sign_up_alike_for_new_and_taken_addresses(server: Server) -> None:
    new = await _post(
        server, "/account/signup", {"email": "eve@example.test", "password": PASSWORD}
    )
    taken = await _post(
        server, "/account/signup", {"email": "ada@example.test", "password": PASSWORD}
    )
    _same_answer(new, taken)
    assert new.status_code == 202 and new.json() == {"status": "check_your_email"}
    mails = {m["To"]: m for m in await server.mail()}
    assert "#token=" in mails["eve@example.test"].get_content()
    assert "#token=" not in mails["ada@example.test"].get_content()  # a notice, no link
    # The existing account is untouched.
    assert (await _login(server, "ada@example.test", PASSWORD)).status_code == 200


async def test_should_verify_an_address_once(server: Server) -> None:
    await _post(server, "/account/signup", {"email": "eve@example.test", "password": PASSWORD})
    token = await server.last_link("eve@example.test")
    first = await _post(server, "/account/verify", {"token": token})
    assert first.status_code == 200 and first.json() == {"status": "email_verified"}
    user = await server.runtime.users.user_by_email("eve@example.test")
    assert user is not None and user.email_verified
    again = await _post(server, "/account/verify", {"token": token})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_should_answer_forgot_password_alike_for_known_and_unknown_addresses(
    server: Server,
) -> None:
    known = await _post(server, "/account/password/forgot", {"email": "ada@example.test"})
    unknown = await _post(server, "/account/password/forgot", {"email": "nobody@example.test"})
    _same_answer(known, unknown)
    assert [m["To"] for m in await server.mail()] == ["ada@example.test"]


async def test_should_reset_a_password_once_and_end_the_sessions(server: Server) -> None:
    session = (await _login(server, "ada@example.test", PASSWORD)).json()
    await _post(server, "/account/password/forgot", {"email": "ada@example.test"})
    token = await server.last_link("ada@example.test")
    done = await _post(
        server, "/account/password/reset", {"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 200 and done.json() == {"status": "password_changed"}
    assert (await _login(server, "ada@example.test", NEW_PASSWORD)).status_code == 200
    twice = await _post(server, "/account/password/reset", {"token": token, "password": PASSWORD})
    assert twice.status_code == 400 and twice.json()["error"] == "invalid_grant"
    form = {"grant_type": "refresh_token", "refresh_token": session["refresh_token"]}
    async with server.client() as c:
        assert (await c.post("/oauth/token", data=form)).status_code == 400


async def test_should_refuse_a_reset_link_after_a_password_change(server: Server) -> None:
    await _post(server, "/account/password/forgot", {"email": "ada@example.test"})
    token = await server.last_link("ada@example.test")
    access = (await _login(server, "ada@example.test", PASSWORD)).json()["access_token"]
    changed = await _post(
        server,
        "/auth/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"Authorization": f"Bearer {access}"},
    )
    assert changed.status_code == 200
    late = await _post(server, "/account/password/reset", {"token": token, "password": PASSWORD})
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant"
    assert (await _login(server, "ada@example.test", NEW_PASSWORD)).status_code == 200


async def test_should_change_only_the_account_a_reset_link_was_sent_for(server: Server) -> None:
    await _post(server, "/account/password/forgot", {"email": "bob@example.test"})
    token = await server.last_link("bob@example.test")
    done = await _post(
        server, "/account/password/reset", {"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 200
    assert (await _login(server, "ada@example.test", PASSWORD)).status_code == 200
    assert (await _login(server, "bob@example.test", NEW_PASSWORD)).status_code == 200


async def test_should_refuse_a_link_of_another_purpose_or_an_access_token(server: Server) -> None:
    await _post(server, "/account/signup", {"email": "eve@example.test", "password": PASSWORD})
    verify_token = await server.last_link("eve@example.test")
    access = (await _login(server, "ada@example.test", PASSWORD)).json()["access_token"]
    for token in (verify_token, access, "not-a-token"):
        refused = await _post(
            server, "/account/password/reset", {"token": token, "password": NEW_PASSWORD}
        )
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    await _post(server, "/account/password/forgot", {"email": "ada@example.test"})
    reset_token = await server.last_link("ada@example.test")
    as_verify = await _post(server, "/account/verify", {"token": reset_token})
    assert as_verify.status_code == 400 and as_verify.json()["error"] == "invalid_grant"


async def test_should_change_an_address_through_a_link_to_the_new_one(server: Server) -> None:
    access = (await _login(server, "ada@example.test", PASSWORD)).json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    wrong = await _post(
        server,
        "/account/email",
        {"password": "wrong password!", "email": "a2@example.test"},
        headers=bearer,
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    asked = await _post(
        server, "/account/email", {"password": PASSWORD, "email": "a2@example.test"}, headers=bearer
    )
    taken = await _post(
        server,
        "/account/email",
        {"password": PASSWORD, "email": "bob@example.test"},
        headers=bearer,
    )
    assert asked.status_code == 202 and (asked.status_code, asked.content) == (
        taken.status_code,
        taken.content,
    )
    first = await server.last_link("a2@example.test")
    await _post(
        server, "/account/email", {"password": PASSWORD, "email": "a3@example.test"}, headers=bearer
    )
    superseded = await _post(server, "/account/verify", {"token": first})
    assert superseded.status_code == 400
    confirmed = await _post(
        server, "/account/verify", {"token": await server.last_link("a3@example.test")}
    )
    assert confirmed.status_code == 200 and confirmed.json() == {"status": "email_changed"}
    assert (await _login(server, "a3@example.test", PASSWORD)).status_code == 200
    assert (await _login(server, "ada@example.test", PASSWORD)).status_code == 400
    user = await server.runtime.users.user_by_email("a3@example.test")
    assert user is not None and user.email_verified and user.pending_email is None


async def test_should_delete_an_account_only_with_its_password(server: Server) -> None:
    access = (await _login(server, "ada@example.test", PASSWORD)).json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    wrong = await _post(server, "/account/delete", {"password": "wrong password!"}, headers=bearer)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    done = await _post(server, "/account/delete", {"password": PASSWORD}, headers=bearer)
    assert done.status_code == 200 and done.json() == {"status": "account_deleted"}
    assert await server.runtime.users.user_by_email("ada@example.test") is None
    assert (
        await _post(server, "/account/delete", {"password": PASSWORD}, headers=bearer)
    ).status_code == 401


async def test_should_never_log_a_link_token(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await _post(server, "/account/password/forgot", {"email": "ada@example.test"})
        token = await server.last_link("ada@example.test")
        await _post(server, "/account/password/reset", {"token": token, "password": NEW_PASSWORD})
        await _post(server, "/account/password/reset", {"token": token, "password": NEW_PASSWORD})
    assert token not in caplog.text and token.split(".")[2] not in caplog.text


async def test_should_rate_limit_forgot_password_per_address_asked_for(tmp_path: Path) -> None:
    async for limited in _server(tmp_path, rate_limit_login_account=2):
        answers = [
            (
                await _post(limited, "/account/password/forgot", {"email": "ada@example.test"})
            ).status_code
            for _ in range(3)
        ]
        assert answers == [202, 202, 429]
        # Its own buckets: the account can still log in.
        assert (await _login(limited, "ada@example.test", PASSWORD)).status_code == 200
        assert len(await limited.mail()) == 2


async def test_should_resend_a_verification_link_until_the_address_is_verified(
    server: Server,
) -> None:
    access = (await _login(server, "ada@example.test", PASSWORD)).json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    resent = await _post(server, "/account/verify/resend", {}, headers=bearer)
    assert resent.status_code == 202
    token = await server.last_link("ada@example.test")
    assert (await _post(server, "/account/verify", {"token": token})).status_code == 200
    await _post(server, "/account/verify/resend", {}, headers=bearer)
    assert len(await server.mail()) == 1  # verified: nothing more to send
