"""The session service over the memory and SQLite stores, with the real Issuer and KeyRing."""

from __future__ import annotations

from typing import Any

import pytest

from jwtwarden.clock import FixedClock
from jwtwarden.errors import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    InvalidScopeError,
    PasswordPolicyError,
    RefreshTokenReuseError,
    RevokedTokenError,
    UserExistsError,
)
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.policy import VerificationPolicy
from jwtwarden.revocation import AuthVersionCheck, DenylistCheck
from jwtwarden.sessions import SessionConfig, SessionService, normalize_email
from jwtwarden.sessions.tokens import REFRESH_TOKEN_PREFIX
from jwtwarden.verify import Verifier

from .conftest import AUDIENCE, ISSUER

PASSWORD = "correct horse battery staple"


def _verifier(service: SessionService, ring: KeyRing, clock: FixedClock) -> Verifier:
    policy = VerificationPolicy.access_token(
        algorithms=["ES256"],
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=ring.verification_keys("access"),
        clock=clock,
        checks=(DenylistCheck(service.denylist), AuthVersionCheck(service.users.auth_version)),
    )
    return Verifier(policy)


async def test_should_log_in_and_mint_an_rfc9068_access_token_with_session_claims(
    service: SessionService, ring: KeyRing, clock: FixedClock
) -> None:
    user = await service.create_user("Ada@Example.com ", PASSWORD)
    pair = await service.login("ada@example.com", PASSWORD, scope="read")
    assert pair.refresh_token.startswith(REFRESH_TOKEN_PREFIX)
    assert pair.expires_in == 600
    verified = await _verifier(service, ring, clock).verify_async(pair.access_token)
    assert verified.header["typ"] == "at+jwt"
    claims = verified.claims
    assert claims["sub"] == user.id and claims["sid"] == pair.session_id
    assert claims["auth_version"] == 1 and claims["client_id"] == "jwtwarden"
    assert claims["scope"] == "read" and claims["exp"] - claims["iat"] == 600
    assert "ada@example.com" not in str(claims)


async def test_should_give_the_same_error_for_an_unknown_email_and_a_wrong_password(
    service: SessionService,
) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    errors = []
    for email, password in [
        ("nobody@example.com", PASSWORD),
        ("ada@example.com", "wrong password!"),
        ("not an email", PASSWORD),
        (None, None),
    ]:
        with pytest.raises(InvalidCredentialsError) as info:
            await service.login(email, password)
        errors.append((info.value.code, str(info.value)))
    assert len(set(errors)) == 1


async def test_should_spend_the_same_argon2_work_for_unknown_and_known_emails(
    service: SessionService, monkeypatch: pytest.MonkeyPatch
) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    calls: list[str] = []
    real = type(service.hasher).verify

    def counting(self: Any, password_hash: str, password: str) -> bool:
        calls.append(password_hash.split("$")[3])  # the parameters, m=...,t=...,p=...
        return bool(real(self, password_hash, password))

    monkeypatch.setattr(type(service.hasher), "verify", counting)
    for email in ("ada@example.com", "nobody@example.com"):
        with pytest.raises(InvalidCredentialsError):
            await service.login(email, "wrong password!")
    assert len(calls) == 2 and calls[0] == calls[1]


async def test_should_refuse_a_disabled_account_like_a_wrong_password(
    service: SessionService,
) -> None:
    user = await service.create_user("ada@example.com", PASSWORD)
    await service.set_disabled(user.id, True)
    with pytest.raises(InvalidCredentialsError):
        await service.login("ada@example.com", PASSWORD)


async def test_should_rotate_refresh_tokens_and_keep_the_session(service: SessionService) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    first = await service.login("ada@example.com", PASSWORD)
    second = await service.refresh(first.refresh_token)
    third = await service.refresh(second.refresh_token)
    assert len({first.refresh_token, second.refresh_token, third.refresh_token}) == 3
    assert first.session_id == second.session_id == third.session_id
    assert second.claims["jti"] != third.claims["jti"]
    assert [name for name, _ in service.events].count("refreshed") == 2  # type: ignore[attr-defined]


async def test_should_end_the_session_and_deny_its_access_tokens_on_reuse(
    service: SessionService, ring: KeyRing, clock: FixedClock
) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    first = await service.login("ada@example.com", PASSWORD)
    second = await service.refresh(first.refresh_token)
    third = await service.refresh(second.refresh_token)  # the successor is used: no retry
    verifier = _verifier(service, ring, clock)
    await verifier.verify_async(third.access_token)
    with pytest.raises(RefreshTokenReuseError):
        await service.refresh(first.refresh_token)
    with pytest.raises(RevokedTokenError):
        await verifier.verify_async(third.access_token)
    with pytest.raises((RefreshTokenReuseError, InvalidRefreshTokenError)):
        await service.refresh(third.refresh_token)
    assert "reuse_detected" in [name for name, _ in service.events]  # type: ignore[attr-defined]


@pytest.mark.parametrize("token", ["", "jwtw_rt_short", "x" * 51, 42, None, "jwtw_rt_" + "!" * 43])
async def test_should_refuse_malformed_refresh_tokens_without_a_lookup(
    service: SessionService, token: object
) -> None:
    with pytest.raises(InvalidRefreshTokenError):
        await service.refresh(token)


async def test_should_refuse_a_refresh_after_the_idle_lifetime(
    service: SessionService, clock: FixedClock
) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    pair = await service.login("ada@example.com", PASSWORD)
    clock.advance(service.config.refresh_idle_ttl + 1)
    with pytest.raises(InvalidRefreshTokenError):
        await service.refresh(pair.refresh_token)


async def test_should_narrow_but_never_widen_the_scope_on_refresh(service: SessionService) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    pair = await service.login("ada@example.com", PASSWORD, scope="read write")
    with pytest.raises(InvalidScopeError):
        await service.refresh(pair.refresh_token, scope="read admin")
    # The refused request rolled back: the same token still works.
    narrowed = await service.refresh(pair.refresh_token, scope="read")
    assert narrowed.claims["scope"] == "read"
    again = await service.refresh(narrowed.refresh_token)
    assert again.claims["scope"] == "read write"


async def test_should_refuse_a_scope_that_is_not_configured(service: SessionService) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    with pytest.raises(InvalidScopeError):
        await service.login("ada@example.com", PASSWORD, scope="admin")
    with pytest.raises(InvalidScopeError):
        await service.login("ada@example.com", PASSWORD, scope='read "x')


async def test_should_end_a_session_on_logout_by_refresh_token_or_sid(
    service: SessionService, ring: KeyRing, clock: FixedClock
) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    one = await service.login("ada@example.com", PASSWORD)
    two = await service.login("ada@example.com", PASSWORD)
    assert await service.logout(refresh_token=one.refresh_token)
    assert await service.logout(session_id=two.session_id)
    assert not await service.logout(session_id="unknown")
    verifier = _verifier(service, ring, clock)
    for pair in (one, two):
        with pytest.raises(InvalidRefreshTokenError):
            await service.refresh(pair.refresh_token)
        with pytest.raises(RevokedTokenError):
            await verifier.verify_async(pair.access_token)


async def test_should_deny_one_access_token_by_jti_and_leave_the_session_alone(
    service: SessionService, ring: KeyRing, clock: FixedClock
) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    pair = await service.login("ada@example.com", PASSWORD)
    assert await service.revoke_access_token(pair.claims)
    verifier = _verifier(service, ring, clock)
    with pytest.raises(RevokedTokenError):
        await verifier.verify_async(pair.access_token)
    fresh = await service.refresh(pair.refresh_token)
    await verifier.verify_async(fresh.access_token)


async def test_should_bump_the_auth_version_and_end_every_session_on_password_change(
    service: SessionService, ring: KeyRing, clock: FixedClock
) -> None:
    user = await service.create_user("ada@example.com", PASSWORD)
    laptop = await service.login("ada@example.com", PASSWORD)
    phone = await service.login("ada@example.com", PASSWORD)
    with pytest.raises(InvalidCredentialsError):
        await service.change_password(user.id, "not my password", "a brand new password")
    with pytest.raises(PasswordPolicyError):
        await service.change_password(user.id, PASSWORD, "short")
    assert await service.change_password(user.id, PASSWORD, "a brand new password") == 2
    verifier = _verifier(service, ring, clock)
    for pair in (laptop, phone):
        with pytest.raises(RevokedTokenError):
            await verifier.verify_async(pair.access_token)
        with pytest.raises(InvalidRefreshTokenError):
            await service.refresh(pair.refresh_token)
    with pytest.raises(InvalidCredentialsError):
        await service.login("ada@example.com", PASSWORD)
    fresh = await service.login("ada@example.com", "a brand new password")
    assert fresh.claims["auth_version"] == 2
    await verifier.verify_async(fresh.access_token)


async def test_should_refuse_a_duplicate_account(service: SessionService) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    with pytest.raises(UserExistsError):
        await service.create_user("ADA@example.com", PASSWORD)


async def test_should_leave_the_refresh_token_live_when_minting_fails(
    service: SessionService,
) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    pair = await service.login("ada@example.com", PASSWORD)

    class Broken:
        def mint_with_claims(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("signing failed after the spend, before the commit")

    real = service.minter
    service.minter = Broken()
    with pytest.raises(RuntimeError):
        await service.refresh(pair.refresh_token)
    service.minter = real
    assert (await service.refresh(pair.refresh_token)).session_id == pair.session_id


async def test_should_not_read_the_session_again_when_the_caller_has_read_it(
    service: SessionService,
) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    pair = await service.login("ada@example.com", PASSWORD, scope="read")
    session = await service.session_for(pair.refresh_token)
    assert session is not None and session.id == pair.session_id
    reads: list[bytes] = []
    real = service.sessions.session_by_token

    async def counted(token_hash: bytes) -> Any:
        reads.append(token_hash)
        return await real(token_hash)

    service.sessions.session_by_token = counted  # type: ignore[method-assign]
    given = await service.refresh(pair.refresh_token, session=session)
    assert reads == [] and given.session_id == pair.session_id and given.scope == "read"
    await service.refresh(given.refresh_token)
    assert len(reads) == 1  # without it, the refresh reads the session itself


async def test_should_refuse_a_refresh_given_another_token_s_session_and_leave_it_live(
    service: SessionService,
) -> None:
    await service.create_user("ada@example.com", PASSWORD)
    await service.create_user("bob@example.com", PASSWORD)
    ada = await service.login("ada@example.com", PASSWORD)
    bob = await service.login("bob@example.com", PASSWORD)
    bobs = await service.session_for(bob.refresh_token)
    with pytest.raises(InvalidRefreshTokenError):
        # The scopes and claims read for Bob's session are never minted into Ada's token.
        await service.refresh(ada.refresh_token, session=bobs)
    assert (await service.refresh(ada.refresh_token)).session_id == ada.session_id


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Ada@Example.COM ", "ada@example.com"),
        ("no-at-sign", None),
        ("@example.com", None),
        ("ada@", None),
        ("a da@example.com", None),
        ("x" * 250 + "@e.com", None),
        (7, None),
    ],
)
def test_should_normalise_emails_or_refuse_them(raw: object, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_should_refuse_unsafe_session_configuration() -> None:
    with pytest.raises(ValueError):
        SessionConfig(audience=("a",), retry_window=301)
    with pytest.raises(ValueError):
        SessionConfig(audience=("a",), retry_window=-1)
    with pytest.raises(ValueError):
        SessionConfig(audience=("a",), access_token_ttl=3600)
    with pytest.raises(ValueError):
        SessionConfig(audience=())
    with pytest.raises(ValueError):
        SessionConfig(audience=("a",), refresh_idle_ttl=100, refresh_absolute_ttl=50)
