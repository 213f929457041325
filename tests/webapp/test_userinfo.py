"""The userinfo step of the callback (OpenID Connect Core 5.3, 5.4): with the code flow a
provider may keep the profile and email claims out of the ID token, so the SDK asks the
userinfo endpoint for the claims it keeps and did not get, and refuses a response about
another user (5.3.4). The sign-in flow is driven by hand: each effect is answered by the test
(the flows are pure generators; the drivers are tested against real providers elsewhere)."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest

from jwtwarden import FixedClock, VerifiedToken
from jwtwarden.errors import SignInError
from jwtwarden.webapp._flows import (
    Discover,
    Post,
    UserInfo,
    Verify,
    begin_sign_in,
    finish_sign_in,
)

from ._offline import ISS, Offline

NOW = 1_900_000_000.0


def _run(flow: Any, answer: Any) -> Any:
    """Drive ``flow``, answering each effect with ``answer(effect)``; the flow's result."""
    value = None
    while True:
        try:
            effect = flow.send(value)
        except StopIteration as stop:
            return stop.value
        value = answer(effect)


def _sign_in(userinfo: dict[str, Any] | None) -> tuple[Any, list[Any]]:
    offline = Offline(FixedClock(NOW))
    provider = offline.rp._provider
    assert provider is not None
    provider.metadata = dataclasses.replace(provider.metadata, userinfo_endpoint=f"{ISS}/me")
    asked: list[Any] = []
    start = _run(
        begin_sign_in(offline.rp.settings, offline.rp.sealer, "/me"), lambda effect: provider
    )
    state = httpx.URL(start.url).params["state"]
    access = offline.access_token()
    id_claims = {"sub": "alice", "iss": ISS, "aud": "webapp", "exp": NOW + 60, "iat": NOW}
    access_claims = {"sub": "alice", "exp": NOW + 3600, "client_id": "webapp"}

    def answer(effect: Any) -> Any:
        asked.append(effect)
        if isinstance(effect, Discover):
            return provider
        if isinstance(effect, Post):
            body = {"access_token": access, "token_type": "Bearer", "id_token": "id.token.x"}
            return httpx.Response(200, json=body)
        if isinstance(effect, Verify):
            claims = id_claims if effect.token == "id.token.x" else access_claims
            return VerifiedToken({"alg": "ES256"}, claims, offline.key)
        assert isinstance(effect, UserInfo)
        assert effect.access_token == access
        return userinfo

    flow = finish_sign_in(
        offline.rp.settings,
        offline.rp.sealer,
        {"state": state, "code": "c", "iss": ISS},
        lambda name: start.cookie_value if name == start.cookie_name else None,
        NOW,
    )
    return _run(flow, answer), asked


def test_should_take_the_claims_the_id_token_lacks_from_userinfo() -> None:
    result, asked = _sign_in({"sub": "alice", "email": "alice@example.test", "name": "Alice"})
    assert [type(e) for e in asked if isinstance(e, UserInfo)] == [UserInfo]
    assert result.session.claims["email"] == "alice@example.test"
    assert result.session.user.email == "alice@example.test"


def test_should_refuse_a_userinfo_response_about_another_user() -> None:
    with pytest.raises(SignInError, match="another user"):
        _sign_in({"sub": "mallory", "email": "mallory@example.test"})
