"""DenylistCheck and AuthVersionCheck as verifier hooks: sync and async, fail closed."""

from __future__ import annotations

import pytest

from jwtwarden.clock import FixedClock
from jwtwarden.errors import (
    InvalidClaimError,
    MissingClaimError,
    RevocationUnavailableError,
    RevokedTokenError,
)
from jwtwarden.issue import Issuer
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.policy import VerificationPolicy
from jwtwarden.revocation import AuthVersionCheck, DenylistCheck
from jwtwarden.stores.memory import MemoryDenylist, MemoryKeyStore
from jwtwarden.verify import Verifier

ISS, AUD = "https://auth.example.test", "https://api.example.test"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def ring() -> KeyRing:
    keys = KeyRing(MemoryKeyStore(environment="test"))
    keys.ensure(["access"])
    return keys


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _token(ring: KeyRing, clock: FixedClock, **claims: object) -> str:
    issuer = Issuer(issuer=ISS, keys=ring, clock=clock)
    merged = {"sid": "s1", "auth_version": 3, **claims}
    return issuer.mint("access", sub="u1", audience=AUD, claims=merged)


def _verifier(ring: KeyRing, clock: FixedClock, *checks: object) -> Verifier:
    return Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"],
            issuer=ISS,
            audience=AUD,
            keys=ring.verification_keys("access"),
            clock=clock,
            checks=checks,  # type: ignore[arg-type]
        )
    )


def test_should_refuse_a_denied_jti_synchronously(ring: KeyRing, clock: FixedClock) -> None:
    deny = MemoryDenylist(clock=clock)
    verifier = _verifier(ring, clock, DenylistCheck(deny))
    token = _token(ring, clock)
    claims = verifier.verify(token).claims
    deny.add_token(claims["jti"], until=claims["exp"])
    with pytest.raises(RevokedTokenError):
        verifier.verify(token)


def test_should_refuse_every_token_of_a_denied_session(ring: KeyRing, clock: FixedClock) -> None:
    deny = MemoryDenylist(clock=clock)
    verifier = _verifier(ring, clock, DenylistCheck(deny))
    first, second, other = _token(ring, clock), _token(ring, clock), _token(ring, clock, sid="s2")
    deny.add_session("s1", until=NOW + 900)
    for token in (first, second):
        with pytest.raises(RevokedTokenError):
            verifier.verify(token)
    assert verifier.verify(other).claims["sid"] == "s2"  # another session is not touched


class _AsyncOnly:
    def __init__(self, denied: bool = False, broken: bool = False) -> None:
        self.denied, self.broken = denied, broken

    async def deny_token(self, jti: str, *, until: float) -> None: ...

    async def deny_session(self, sid: str, *, until: float) -> None: ...

    async def is_denied(self, *, jti: str | None, sid: str | None) -> bool:
        if self.broken:
            raise ConnectionError("backend down")
        return self.denied


async def test_should_check_an_async_denylist_through_verify_async(
    ring: KeyRing, clock: FixedClock
) -> None:
    token = _token(ring, clock)
    await _verifier(ring, clock, DenylistCheck(_AsyncOnly())).verify_async(token)
    with pytest.raises(RevokedTokenError):
        await _verifier(ring, clock, DenylistCheck(_AsyncOnly(denied=True))).verify_async(token)


async def test_should_fail_closed_when_the_denylist_cannot_answer(
    ring: KeyRing, clock: FixedClock
) -> None:
    check = DenylistCheck(_AsyncOnly(broken=True))
    with pytest.raises(RevocationUnavailableError):
        await _verifier(ring, clock, check).verify_async(_token(ring, clock))
    assert check.unavailable == 1


async def test_should_let_tokens_through_an_unavailable_denylist_only_with_fail_open(
    ring: KeyRing, clock: FixedClock
) -> None:
    check = DenylistCheck(_AsyncOnly(broken=True), fail_open=True)
    result = await _verifier(ring, clock, check).verify_async(_token(ring, clock))
    assert result.claims["sub"] == "u1" and check.unavailable == 1


def test_should_refuse_a_token_whose_auth_version_is_stale(
    ring: KeyRing, clock: FixedClock
) -> None:
    versions = {"u1": 3}
    verifier = _verifier(ring, clock, AuthVersionCheck(versions.get))
    token = _token(ring, clock)
    verifier.verify(token)
    versions["u1"] = 4  # password changed
    with pytest.raises(RevokedTokenError):
        verifier.verify(token)
    del versions["u1"]  # account gone or disabled
    with pytest.raises(RevokedTokenError):
        verifier.verify(token)


async def test_should_run_an_async_auth_version_lookup(ring: KeyRing, clock: FixedClock) -> None:
    async def lookup(sub: str) -> int | None:
        return 3 if sub == "u1" else None

    verifier = _verifier(ring, clock, AuthVersionCheck(lookup))
    await verifier.verify_async(_token(ring, clock))
    with pytest.raises(RevokedTokenError):
        await verifier.verify_async(_token(ring, clock, auth_version=2))


def test_should_refuse_tokens_without_or_with_a_malformed_auth_version(
    ring: KeyRing, clock: FixedClock
) -> None:
    issuer = Issuer(issuer=ISS, keys=ring, clock=clock)
    verifier = _verifier(ring, clock, AuthVersionCheck(lambda sub: 1))
    with pytest.raises(MissingClaimError):
        verifier.verify(issuer.mint("access", sub="u1", audience=AUD))
    with pytest.raises(InvalidClaimError):
        verifier.verify(_token(ring, clock, auth_version="1"))


def test_should_refuse_a_check_without_a_denylist() -> None:
    with pytest.raises(TypeError):
        DenylistCheck(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        AuthVersionCheck("not callable")  # type: ignore[arg-type]
