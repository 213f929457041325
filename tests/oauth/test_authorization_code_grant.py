"""The ``authorization_code`` grant over the memory reference stores, with a fixed clock: what
needs time (an expired code) and what a client's registration changes (lifetimes, audiences,
no refresh token without the refresh_token grant)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from jwtwarden.clock import FixedClock
from jwtwarden.errors import InvalidGrantError
from jwtwarden.oauth.authorize import AuthorizationRequest, issue_code
from jwtwarden.oauth.clients import Client, ClientType
from jwtwarden.oauth.codes import CODE_TTL, pkce_challenge
from jwtwarden.oauth.grants import TokenRequest
from jwtwarden.oauth.grants.authorization_code import AuthorizationCodeGrant
from jwtwarden.sessions.passwords import PasswordHasher
from jwtwarden.sessions.ports import UserRecord
from jwtwarden.sessions.service import SessionConfig, SessionService
from jwtwarden.stores.memory import (
    MemoryAuthorizationStore,
    MemoryDenylist,
    MemorySessionStore,
    MemoryUserStore,
)

NOW = 1_800_000_000.0
REDIRECT = "https://app.example.com/cb"
VERIFIER = "v" * 43
SERVER_AUDIENCE = ("https://api.example.com",)


class RecordingMinter:
    """The issuer's seam: records what the service asks to mint."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def mint_with_claims(
        self,
        profile: str = "access",
        *,
        sub: str,
        audience: str | Sequence[str],
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
    ) -> tuple[str, dict[str, Any]]:
        self.calls.append({"sub": sub, "aud": list(audience), "ttl": ttl, **(claims or {})})
        return f"access-{len(self.calls)}", {"sub": sub}


@pytest.fixture
async def world() -> dict[str, Any]:
    clock = FixedClock(NOW)
    users = MemoryUserStore()
    await users.create_user(UserRecord(id="u1", email="u1@example.com", password_hash="x"))
    minter = RecordingMinter()
    service = SessionService(
        users=users,
        sessions=MemorySessionStore(users),
        minter=minter,
        hasher=PasswordHasher(),
        denylist=MemoryDenylist(clock=clock),
        config=SessionConfig(audience=SERVER_AUDIENCE),
        clock=clock,
    )
    codes = MemoryAuthorizationStore()
    grant = AuthorizationCodeGrant(
        codes=codes, service=service, audiences=SERVER_AUDIENCE, clock=clock
    )
    return {"clock": clock, "codes": codes, "grant": grant, "minter": minter}


def _client(**overrides: Any) -> Client:
    values: dict[str, Any] = {
        "client_id": "app",
        "name": "App",
        "type": ClientType.PUBLIC,
        "redirect_uris": (REDIRECT,),
    }
    values.update(overrides)
    return Client(**values)


async def _issue(world: dict[str, Any], client: Client) -> str:
    request = AuthorizationRequest(
        client_id=client.client_id,
        client_name=client.name,
        redirect_uri=REDIRECT,
        redirect_uri_in_request=True,
        scope="openid",
        code_challenge=pkce_challenge(VERIFIER),
    )
    return await issue_code(
        request,
        codes=world["codes"],
        user_id="u1",
        auth_time=NOW,
        signin_session_id="si",
        now=world["clock"].now(),
    )


def _request(client: Client, code: str) -> TokenRequest:
    return TokenRequest(
        grant_type="authorization_code",
        parameters={"code": code, "redirect_uri": REDIRECT, "code_verifier": VERIFIER},
        client=client,
        authentication_method="none",
    )


async def test_should_refuse_a_code_presented_after_its_60_seconds(world: dict[str, Any]) -> None:
    client = _client()
    code = await _issue(world, client)
    world["clock"].advance(CODE_TTL)
    with pytest.raises(InvalidGrantError, match="unknown, expired or already used"):
        await world["grant"].exchange(_request(client, code))


async def test_should_accept_a_code_just_before_it_expires(world: dict[str, Any]) -> None:
    client = _client()
    code = await _issue(world, client)
    world["clock"].advance(CODE_TTL - 1)
    result = await world["grant"].exchange(_request(client, code))
    assert result.refresh_token is not None and result.scope == "openid"


async def test_should_apply_the_clients_audience_and_lifetime_to_its_tokens(
    world: dict[str, Any],
) -> None:
    client = _client(audiences=("https://billing.example.com",), access_token_ttl=300)
    result = await world["grant"].exchange(_request(client, await _issue(world, client)))
    minted = world["minter"].calls[-1]
    assert minted["aud"] == ["https://billing.example.com"] and minted["ttl"] == 300
    assert minted["client_id"] == "app" and result.expires_in == 300


async def test_should_issue_no_refresh_token_to_a_client_without_that_grant(
    world: dict[str, Any],
) -> None:
    client = _client(grant_types=frozenset({"authorization_code"}))
    result = await world["grant"].exchange(_request(client, await _issue(world, client)))
    assert result.refresh_token is None and result.access_token.startswith("access-")
