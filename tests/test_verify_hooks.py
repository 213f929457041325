"""Revocation hooks (``policy.checks``) and async verification.

Hooks run only on tokens that passed every other check; they refuse by raising
``RevokedTokenError``; a hook that cannot answer refuses the token with
``RevocationUnavailableError`` (fail closed), whatever exception it raised.
"""

from __future__ import annotations

from typing import Any

import pytest

from jwtwarden import (
    KeySet,
    RevocationUnavailableError,
    RevokedTokenError,
    VerifiedToken,
    Verifier,
)
from jwtwarden.errors import InvalidTokenError
from tests._verify_support import access_claims, forge, key_for, policy, sign

KEY = key_for("ES256")
GOOD = sign(access_claims(jti="live"))
REVOKED = sign(access_claims(jti="revoked"))
DENYLIST = {"revoked"}


def denylist_hook(token: VerifiedToken) -> None:
    if token.claims.get("jti") in DENYLIST:
        raise RevokedTokenError("the token was revoked")


async def async_denylist_hook(token: VerifiedToken) -> None:
    denylist_hook(token)


def test_should_refuse_a_revoked_token_with_a_sync_hook() -> None:
    v = Verifier(policy(checks=(denylist_hook,)))
    assert v.verify(GOOD).claims["jti"] == "live"
    with pytest.raises(RevokedTokenError) as info:
        v.verify(REVOKED)
    assert info.value.code == "revoked"


async def test_should_refuse_a_revoked_token_with_an_async_hook_in_verify_async() -> None:
    v = Verifier(policy(checks=(async_denylist_hook,)))
    assert (await v.verify_async(GOOD)).claims["jti"] == "live"
    with pytest.raises(RevokedTokenError):
        await v.verify_async(REVOKED)


async def test_should_run_sync_hooks_in_verify_async_too() -> None:
    v = Verifier(policy(checks=(denylist_hook,)))
    with pytest.raises(RevokedTokenError):
        await v.verify_async(REVOKED)


def test_should_refuse_to_run_an_async_hook_from_sync_verify() -> None:
    # Silently skipping the coroutine would skip the revocation check.
    v = Verifier(policy(checks=(async_denylist_hook,)))
    with pytest.raises(TypeError):
        v.verify(GOOD)


@pytest.mark.parametrize(
    "exc", [ConnectionError("redis down"), KeyError("jti"), TimeoutError(), RuntimeError("x")]
)
def test_should_fail_closed_when_a_sync_hook_raises_a_foreign_exception(exc: Exception) -> None:
    def broken(token: VerifiedToken) -> None:
        raise exc

    with pytest.raises(RevocationUnavailableError) as info:
        Verifier(policy(checks=(broken,))).verify(GOOD)
    assert info.value.code == "revocation_unavailable"
    # Not an InvalidTokenError: the token may be fine, the service is not (HTTP 503).
    assert not isinstance(info.value, InvalidTokenError)


async def test_should_fail_closed_when_an_async_hook_raises_a_foreign_exception() -> None:
    async def broken(token: VerifiedToken) -> None:
        raise ConnectionError("redis down")

    with pytest.raises(RevocationUnavailableError):
        await Verifier(policy(checks=(broken,))).verify_async(GOOD)


def test_should_refuse_when_a_hook_written_as_a_predicate_returns_false() -> None:
    v = Verifier(policy(checks=(lambda token: token.claims["jti"] not in DENYLIST,)))
    assert v.verify(GOOD)
    with pytest.raises(RevokedTokenError):
        v.verify(REVOKED)


def test_should_run_every_hook_in_order_and_stop_at_the_first_refusal() -> None:
    calls: list[str] = []

    def first(token: VerifiedToken) -> None:
        calls.append("first")

    def second(token: VerifiedToken) -> None:
        calls.append("second")
        denylist_hook(token)

    def third(token: VerifiedToken) -> None:
        calls.append("third")

    v = Verifier(policy(checks=(first, second, third)))
    v.verify(GOOD)
    assert calls == ["first", "second", "third"]
    calls.clear()
    with pytest.raises(RevokedTokenError):
        v.verify(REVOKED)
    assert calls == ["first", "second"]


def test_should_not_run_hooks_for_a_token_refused_earlier() -> None:
    calls: list[Any] = []
    v = Verifier(policy(checks=(calls.append,)))
    stranger = key_for("ES256", "stranger")
    with pytest.raises(InvalidTokenError):
        v.verify(forge({"alg": "ES256", "kid": KEY.kid}, access_claims(), stranger))
    with pytest.raises(InvalidTokenError):
        v.verify(sign(access_claims(exp=1)))
    assert calls == []


async def test_should_await_an_async_key_source_in_verify_async() -> None:
    class AsyncSource:
        def __init__(self) -> None:
            self.keys = KeySet([KEY.public_key()])
            self.async_calls = 0

        def select(self, kid: str | None, alg: str) -> Any:
            raise AssertionError("verify_async must prefer aselect")

        async def aselect(self, kid: str | None, alg: str) -> Any:
            self.async_calls += 1
            return self.keys.select(kid, alg)

    source = AsyncSource()
    v = Verifier(policy(keys=source))
    assert (await v.verify_async(GOOD)).key.kid == KEY.kid
    assert source.async_calls == 1


async def test_should_give_the_same_refusal_codes_in_verify_async() -> None:
    v = Verifier(policy())
    cases = [
        ("", "malformed"),
        ("a.b", "malformed"),
        (sign(access_claims(aud="other")), "wrong_audience"),
        (sign(access_claims(exp=1)), "expired"),
    ]
    for token, code in cases:
        with pytest.raises(InvalidTokenError) as sync_info:
            v.verify(token)
        with pytest.raises(InvalidTokenError) as async_info:
            await v.verify_async(token)
        assert sync_info.value.code == async_info.value.code == code


async def test_should_verify_and_refuse_through_the_module_level_verify_async() -> None:
    from jwtwarden import verify_async

    p = policy(checks=(async_denylist_hook,))
    assert (await verify_async(GOOD, p)).claims["jti"] == "live"
    with pytest.raises(RevokedTokenError):
        await verify_async(REVOKED, p)
