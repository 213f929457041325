"""The verified-token cache is invisible: cold and cached answers are the same, always.

Every case of a table of valid and hostile tokens (one row or more per error code) is verified
cold and through the cache (first a miss, then hits), sync and async: the results are equal and
the errors carry the same class, code, claim, reason and message. Then what can change between
two hits: the clock (expiry, ``nbf``, ``max_age``, a clock stepped back), the key set (a key
removed, replaced, re-imported), revocation (hooks run on every hit) and the subject (an account
deleted). Finally the bounds (LRU size, 4 KiB tokens) and thread safety. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jwtwarden import FixedClock, Key, KeySet, VerificationPolicy, Verifier, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.cache import CachedVerifier, CacheStats, _Entry
from jwtwarden.errors import (
    BadSignatureError,
    ExpiredTokenError,
    ForbiddenHeaderError,
    InvalidClaimError,
    JWTWardenError,
    NotYetValidError,
    RevocationUnavailableError,
    RevokedTokenError,
    TokenTooOldError,
    UnknownKeyError,
)
from jwtwarden.verify import VerifiedToken

NOW = 1_800_000_000
ISS = "https://issuer.example"
AUD = "https://api.example"
OTHER_AUD = "https://other.example"
LEEWAY = 30

K1 = generate_key("ES256", kid="es-1")
K2 = generate_key("ES256", kid="es-2")
STRANGER = generate_key("ES256", kid="es-1")  # same kid as K1, different key material
HMAC = generate_key("HS256", kid="hs-1")


# --- helpers --------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _forge(header: dict[str, Any], claims: dict[str, Any], key: Key) -> str:
    """Exactly this header (even an ``alg`` the key is not pinned to), signed by ``key``."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return signing_input + "." + _b64(key.impl.sign(signing_input.encode(), key.jwk))


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": "user-1",
        "iat": NOW - 10,
        "exp": NOW + 300,
        "jti": "jti-1",
        "client_id": "client-1",  # RFC 9068 2.2
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _at(claims: dict[str, Any], key: Key = K1, **header: Any) -> str:
    """An access token (``typ`` ``at+jwt`` unless overridden)."""
    header.setdefault("typ", "at+jwt")
    return sign_compact({k: v for k, v in header.items() if v is not None}, claims, key)


class MutableKeys:
    """A key source whose keys change at run time, like a remote JWKS after a refresh."""

    def __init__(self, *keys: Key) -> None:
        self.keys = KeySet(keys)
        self.selects = 0

    def select(self, kid: str | None, alg: str) -> Key:
        self.selects += 1
        return self.keys.select(kid, alg)


class AsyncMutableKeys(MutableKeys):
    async def aselect(self, kid: str | None, alg: str) -> Key:
        await asyncio.sleep(0)
        return self.select(kid, alg)


def _access_policy(clock: FixedClock, keys: Any = None, **kw: Any) -> VerificationPolicy:
    return VerificationPolicy.access_token(
        algorithms=["ES256"],
        issuer=ISS,
        audience=[AUD, OTHER_AUD],
        keys=keys if keys is not None else KeySet([K1.public_key(), K2.public_key()]),
        leeway=LEEWAY,
        max_age=kw.pop("max_age", 3600),
        clock=clock,
        **kw,
    )


Outcome = tuple[Any, ...]


def _outcome(call: Callable[[], VerifiedToken]) -> Outcome:
    try:
        result = call()
    except JWTWardenError as exc:
        return (
            "error",
            type(exc),
            exc.code,
            getattr(exc, "claim", None),
            getattr(exc, "reason", None),
            str(exc),
        )
    return ("ok", result.header, result.claims, result.key)


async def _aoutcome(call: Callable[[], Awaitable[VerifiedToken]]) -> Outcome:
    try:
        result = await call()
    except JWTWardenError as exc:
        return (
            "error",
            type(exc),
            exc.code,
            getattr(exc, "claim", None),
            getattr(exc, "reason", None),
            str(exc),
        )
    return ("ok", result.header, result.claims, result.key)


# --- the table ------------------------------------------------------------------------------

_PUB1 = K1.public_key()
_PUB2 = K2.public_key()
_KEYS = KeySet([_PUB1, _PUB2])


def _policies(clock: FixedClock) -> dict[str, VerificationPolicy]:
    return {
        "access": _access_policy(clock, _KEYS),
        "id": VerificationPolicy.id_token(
            algorithms=["ES256"],
            issuer=ISS,
            audience=AUD,
            keys=_KEYS,
            nonce="nonce-1",
            leeway=LEEWAY,
            clock=clock,
        ),
    }


@dataclass(frozen=True)
class Case:
    name: str
    token: Any
    policy: str = "access"
    valid: bool = False


_GOOD = _at(_claims())
_h, _p, _s = _GOOD.split(".")
_flipped = _s[:-2] + ("A" if _s[-2] != "A" else "B") + _s[-1]
_NONE_HEADER = _b64(b'{"alg":"none"}')

CASES = [
    # accepted
    Case("a plain access token", _GOOD, valid=True),
    Case("a token signed by the second key of the set", _at(_claims(), K2), valid=True),
    Case(
        "an audience list and nested claims (copied on every hit)",
        _at(_claims(aud=["x", OTHER_AUD], cnf={"jkt": "abc"}, roles=["a", ["b"]])),
        valid=True,
    ),
    Case("nbf in the future but within leeway", _at(_claims(nbf=NOW + LEEWAY)), valid=True),
    Case("exp just passed but within leeway", _at(_claims(exp=NOW - LEEWAY + 1)), valid=True),
    Case("float NumericDates", _at(_claims(exp=NOW + 0.5, iat=NOW - 0.5)), valid=True),
    Case("a token given as bytes", _GOOD.encode("ascii"), valid=True),
    Case("typ in full media-type form", _at(_claims(), typ="application/AT+JWT"), valid=True),
    Case(
        "an ID token with its nonce",
        sign_compact({}, _claims(nonce="nonce-1", jti=None), K1),
        policy="id",
        valid=True,
    ),
    # refused: time
    Case("expired at exactly exp plus leeway", _at(_claims(exp=NOW - LEEWAY))),
    Case("expired long ago", _at(_claims(exp=NOW - 3000, iat=NOW - 3100))),
    Case("not yet valid (nbf beyond leeway)", _at(_claims(nbf=NOW + LEEWAY + 1))),
    Case("issued in the future", _at(_claims(iat=NOW + LEEWAY + 1))),
    Case("older than max_age", _at(_claims(iat=NOW - 3601 - LEEWAY))),
    Case("exp is a string", _at(_claims(exp=str(NOW + 300)))),
    Case("exp is a boolean", _at(_claims(exp=True))),
    # refused: claims
    Case("an untrusted issuer", _at(_claims(iss="https://evil.example"))),
    Case("no issuer", _at(_claims(iss=None))),
    Case("another audience", _at(_claims(aud="https://else.example"))),
    Case("no audience", _at(_claims(aud=None))),
    Case("an audience that is a number", _at(_claims(aud=7))),
    Case("no jti (RFC 9068 requires it)", _at(_claims(jti=None))),
    Case("sub is not a string", _at(_claims(sub=12))),
    Case("an empty jti", _at(_claims(jti=""))),
    Case("a nonce in an access token (cross-JWT confusion)", _at(_claims(nonce="n"))),
    Case("typ JWT where at+jwt is expected", _at(_claims(), typ="JWT")),
    Case("no typ", _at(_claims(), typ=None)),
    Case(
        "an ID token without a nonce",
        sign_compact({}, _claims(jti=None), K1),
        policy="id",
    ),
    Case(
        "an ID token with another nonce",
        sign_compact({}, _claims(nonce="nonce-2", jti=None), K1),
        policy="id",
    ),
    Case("an access token given to the ID token verifier", _GOOD, policy="id"),
    # refused: keys and signatures
    Case("a bent signature", f"{_h}.{_p}.{_flipped}"),
    Case("signed by a stranger's key under a trusted kid", _at(_claims(), STRANGER)),
    Case("an unknown kid", _forge({"alg": "ES256", "kid": "nope", "typ": "at+jwt"}, _claims(), K1)),
    Case(
        "no kid while two keys are for ES256",
        _forge({"alg": "ES256", "typ": "at+jwt"}, _claims(), K1),
    ),
    Case("alg HS256 (confusion)", _forge({"alg": "HS256", "kid": "hs-1"}, _claims(), HMAC)),
    Case("alg none", f"{_NONE_HEADER}.{_p}.{_s}"),
    Case("a jku header", _at(_claims(), jku="https://evil.example/jwks")),
    Case("a crit header", _at(_claims(), crit=["exp"])),
    Case("a nested JWT (cty JWT)", _at(_claims(), cty="JWT")),
    # refused: structure
    Case("garbage", "not a token"),
    Case("JWE compact (five segments)", f"{_h}.{_p}.{_s}.{_s}.{_s}"),
    Case("a trailing newline", _GOOD + "\n"),
    Case("too large", _at(_claims(pad="x" * 9000))),
    Case("not a string at all", 12345),
    Case("bytes that are not ASCII", "é".encode()),
]


def _ids(cases: list[Case]) -> list[Any]:
    return [pytest.param(case, id=case.name) for case in cases]


def test_should_cover_every_verification_error_code_in_the_table() -> None:
    clock = FixedClock(NOW)
    verifiers = {name: Verifier(p) for name, p in _policies(clock).items()}
    outcomes = [_outcome(lambda c=c: verifiers[c.policy].verify(c.token)) for c in CASES]
    codes = {out[2] for out in outcomes if out[0] == "error"}
    assert codes >= {
        "malformed",
        "unsupported_serialization",
        "token_too_large",
        "algorithm_not_allowed",
        "unknown_key",
        "forbidden_header",
        "unsupported_critical_header",
        "bad_signature",
        "expired",
        "not_yet_valid",
        "issued_in_future",
        "too_old",
        "wrong_issuer",
        "wrong_audience",
        "wrong_type",
        "missing_claim",
        "invalid_claim",
    }
    assert sum(c.valid for c in CASES) >= 8


@pytest.mark.parametrize("case", _ids(CASES))
def test_should_give_the_same_answer_cold_and_cached_for_every_case(case: Case) -> None:
    clock = FixedClock(NOW)
    policy = _policies(clock)[case.policy]
    cold = _outcome(lambda: Verifier(policy).verify(case.token))
    cached = CachedVerifier(Verifier(policy))
    answers = [_outcome(lambda: cached.verify(case.token)) for _ in range(3)]
    assert answers == [cold, cold, cold]
    assert (cold[0] == "ok") is case.valid
    if case.valid:
        # Served from the cache after the first call, and still equal to the cold answer.
        assert cached.stats == CacheStats(hits=2, misses=1, entries=1, max_entries=10_000)
    else:
        assert len(cached) == 0  # refusals are never cached


@pytest.mark.parametrize("case", _ids(CASES))
async def test_should_give_the_same_answer_cold_and_cached_when_verifying_async(
    case: Case,
) -> None:
    clock = FixedClock(NOW)
    policy = _policies(clock)[case.policy]
    cold = await _aoutcome(lambda: Verifier(policy).verify_async(case.token))
    cached = CachedVerifier(Verifier(policy))
    answers = [await _aoutcome(lambda: cached.verify_async(case.token)) for _ in range(3)]
    assert answers == [cold, cold, cold]
    assert len(cached) == (1 if case.valid else 0)


# --- what changes between two hits: time --------------------------------------------------


def _twins(clock: FixedClock, **kw: Any) -> tuple[Verifier, CachedVerifier]:
    policy = _access_policy(clock, **kw)
    return Verifier(policy), CachedVerifier(Verifier(policy))


def _warm(cached: CachedVerifier, token: str) -> None:
    cached.verify(token)
    cached.verify(token)
    assert cached.stats.hits == 1


def test_should_refuse_a_cached_token_once_it_expires_between_two_hits() -> None:
    clock = FixedClock(NOW)
    cold, cached = _twins(clock)
    token = _at(_claims(exp=NOW + 300))
    _warm(cached, token)
    clock.set(NOW + 300 + LEEWAY - 0.001)  # the last instant the leeway allows
    assert _outcome(lambda: cached.verify(token)) == _outcome(lambda: cold.verify(token))
    assert cached.verify(token).claims["exp"] == NOW + 300
    clock.set(NOW + 300 + LEEWAY)
    with pytest.raises(ExpiredTokenError) as info:
        cached.verify(token)
    assert info.value.claim == "exp"
    assert _outcome(lambda: cached.verify(token)) == _outcome(lambda: cold.verify(token))


async def test_should_refuse_a_cached_token_once_it_expires_when_verifying_async() -> None:
    clock = FixedClock(NOW)
    _, cached = _twins(clock)
    token = _at(_claims(exp=NOW + 300))
    await cached.verify_async(token)
    await cached.verify_async(token)
    clock.advance(300 + LEEWAY)
    with pytest.raises(ExpiredTokenError):
        await cached.verify_async(token)


def test_should_refuse_a_cached_token_before_its_nbf_when_the_clock_steps_back() -> None:
    # An NTP correction can move the wall clock backwards between two requests.
    clock = FixedClock(NOW)
    cold, cached = _twins(clock)
    token = _at(_claims(nbf=NOW, iat=NOW))
    _warm(cached, token)
    clock.set(NOW - LEEWAY - 1)
    with pytest.raises(NotYetValidError):
        cached.verify(token)
    assert _outcome(lambda: cached.verify(token)) == _outcome(lambda: cold.verify(token))


def test_should_refuse_a_cached_token_issued_in_the_future_after_the_clock_steps_back() -> None:
    clock = FixedClock(NOW)
    cold, cached = _twins(clock)
    token = _at(_claims(iat=NOW))
    _warm(cached, token)
    clock.set(NOW - LEEWAY - 1)
    assert _outcome(lambda: cached.verify(token))[2] == "issued_in_future"
    assert _outcome(lambda: cached.verify(token)) == _outcome(lambda: cold.verify(token))


def test_should_refuse_a_cached_token_once_it_passes_max_age_between_two_hits() -> None:
    clock = FixedClock(NOW)
    cold, cached = _twins(clock, max_age=600)
    token = _at(_claims(iat=NOW - 10, exp=NOW + 3000))
    _warm(cached, token)
    clock.set(NOW - 10 + 600 + LEEWAY)
    assert cached.verify(token).claims["iat"] == NOW - 10
    clock.advance(1)
    with pytest.raises(TokenTooOldError):
        cached.verify(token)
    assert _outcome(lambda: cached.verify(token)) == _outcome(lambda: cold.verify(token))


def test_should_serve_the_token_again_when_the_clock_comes_back_within_its_lifetime() -> None:
    clock = FixedClock(NOW)
    _, cached = _twins(clock)
    token = _at(_claims(nbf=NOW))
    _warm(cached, token)
    clock.set(NOW - 100)
    with pytest.raises(NotYetValidError):
        cached.verify(token)
    clock.set(NOW)
    assert cached.verify(token).claims["nbf"] == NOW


_times = st.one_of(
    st.none(),
    st.integers(NOW - 2000, NOW + 2000),
    st.floats(NOW - 2000, NOW + 2000, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(
    exp=_times,
    nbf=_times,
    iat=_times,
    leeway=st.sampled_from([0, 0.5, 30, 300]),
    max_age=st.one_of(st.none(), st.integers(1, 1500), st.floats(0.25, 1500)),
    now=st.one_of(st.integers(NOW - 2500, NOW + 2500), st.floats(NOW - 2500, NOW + 2500)),
)
def test_should_decide_every_hit_exactly_as_the_verifiers_own_claim_checks(
    exp: float | None,
    nbf: float | None,
    iat: float | None,
    leeway: float,
    max_age: float | None,
    now: float,
) -> None:
    # The hit path re-checks time with its own copy of the comparisons; here they meet the
    # verifier's at every boundary: accepted by one means accepted by the other, and a refusal
    # is the verifier's own error.
    # max_age without iat is refused whatever the time, so such a token is never cached.
    assume(max_age is None or iat is not None)
    clock = FixedClock(now)
    policy = VerificationPolicy(
        algorithms=["ES256"],
        issuer=ISS,
        audience=AUD,
        keys=_KEYS,
        leeway=leeway,
        max_age=max_age,
        required_claims=(),
        clock=clock,
    )
    claims = _claims(exp=exp, nbf=nbf, iat=iat)
    for name, value in (("exp", exp), ("nbf", nbf), ("iat", iat)):
        if value is None:
            claims.pop(name, None)
    result = VerifiedToken({"alg": "ES256", "kid": K1.kid}, claims, _PUB1)
    verifier = Verifier(policy)
    cached = CachedVerifier(verifier)
    entry = _Entry(result, _KEYS)
    expected = _outcome(lambda: (verifier.check_claims(result), result)[1])
    try:
        decided: Outcome = ("ok", result.header, result.claims, result.key)
        assert cached._still_valid(entry) is True
    except JWTWardenError as exc:
        decided = ("error", type(exc), exc.code, exc.claim, exc.reason, str(exc))  # type: ignore[attr-defined]
    assert decided == expected


# --- what changes between two hits: keys -------------------------------------------------


def test_should_refuse_a_cached_token_once_its_key_leaves_the_key_source() -> None:
    clock = FixedClock(NOW)
    source = MutableKeys(_PUB1, _PUB2)
    cold, cached = _twins(clock, keys=source)
    token = _at(_claims())
    _warm(cached, token)
    source.keys = KeySet([_PUB2])
    with pytest.raises(UnknownKeyError):
        cached.verify(token)
    assert _outcome(lambda: cached.verify(token)) == _outcome(lambda: cold.verify(token))
    assert len(cached) == 0


async def test_should_refuse_a_cached_token_once_its_key_leaves_an_async_key_source() -> None:
    clock = FixedClock(NOW)
    source = AsyncMutableKeys(_PUB1, _PUB2)
    _, cached = _twins(clock, keys=source)
    token = _at(_claims())
    await cached.verify_async(token)
    await cached.verify_async(token)
    assert cached.stats.hits == 1
    source.keys = KeySet([_PUB2])
    with pytest.raises(UnknownKeyError):
        await cached.verify_async(token)


def test_should_refuse_a_cached_token_when_its_kid_now_names_another_key() -> None:
    # A rotation that reused a kid with new material: the old signature must stop counting.
    clock = FixedClock(NOW)
    source = MutableKeys(_PUB1)
    _, cached = _twins(clock, keys=source)
    token = _at(_claims())
    _warm(cached, token)
    source.keys = KeySet([STRANGER.public_key()])
    with pytest.raises(BadSignatureError):
        cached.verify(token)


def test_should_return_the_new_key_object_after_the_same_key_is_loaded_again() -> None:
    # A JWKS refresh builds new Key objects for unchanged keys; a cold verify would return
    # the new object, so the cached answer must too (one cold re-verify, then hits again).
    clock = FixedClock(NOW)
    source = MutableKeys(_PUB1)
    _, cached = _twins(clock, keys=source)
    token = _at(_claims())
    _warm(cached, token)
    reloaded = KeySet.from_jwks({"keys": [_PUB1.public_jwk()]})
    source.keys = reloaded
    assert cached.verify(token).key is reloaded.get(K1.kid)
    assert cached.verify(token).key is reloaded.get(K1.kid)
    assert cached.stats == CacheStats(hits=2, misses=2, entries=1, max_entries=10_000)


def test_should_not_cache_a_refusal_so_a_key_published_later_is_accepted() -> None:
    clock = FixedClock(NOW)
    source = MutableKeys(_PUB2)
    _, cached = _twins(clock, keys=source)
    token = _at(_claims())
    with pytest.raises(UnknownKeyError):
        cached.verify(token)
    source.keys = KeySet([_PUB1, _PUB2])
    assert cached.verify(token).key is _PUB1


def test_should_ask_the_key_source_on_every_hit() -> None:
    clock = FixedClock(NOW)
    source = MutableKeys(_PUB1)
    _, cached = _twins(clock, keys=source)
    token = _at(_claims())
    for _ in range(4):
        cached.verify(token)
    assert source.selects == 4
    assert cached.stats.hits == 3


class HeaderKeys:
    """A source that needs the protected header (like ``TrustedJKU``): keys per ``jku`` URL."""

    def __init__(self) -> None:
        self.by_url = {"https://keys.example/a.json": KeySet([_PUB1])}
        self.asked: list[str | None] = []

    def select_for_header(self, header: dict[str, Any], kid: str | None, alg: str) -> Key:
        self.asked.append(header.get("jku"))
        keys = self.by_url.get(header.get("jku"))  # type: ignore[arg-type]
        if keys is None:
            raise ForbiddenHeaderError("the token's jku is not trusted")
        return keys.select(kid, alg)

    async def aselect_for_header(self, header: dict[str, Any], kid: str | None, alg: str) -> Key:
        return self.select_for_header(header, kid, alg)

    def select(self, kid: str | None, alg: str) -> Key:
        raise UnknownKeyError("this source needs the header")


async def test_should_ask_a_header_aware_key_source_with_the_header_on_every_hit() -> None:
    clock = FixedClock(NOW)
    source = HeaderKeys()
    cold, cached = _twins(clock, keys=source, allowed_headers={"jku"})
    token = _at(_claims(), jku="https://keys.example/a.json")
    _warm(cached, token)
    await cached.verify_async(token)
    assert source.asked == ["https://keys.example/a.json"] * 3
    source.by_url.clear()  # the URL is no longer trusted
    with pytest.raises(ForbiddenHeaderError):
        cached.verify(token)
    with pytest.raises(ForbiddenHeaderError):
        await cached.verify_async(token)
    assert _outcome(lambda: cached.verify(token)) == _outcome(lambda: cold.verify(token))


# --- what changes between two hits: revocation and accounts ------------------------------


class Denylist:
    def __init__(self) -> None:
        self.denied: set[str] = set()
        self.calls = 0
        self.broken = False

    def __call__(self, token: VerifiedToken) -> None:
        self.calls += 1
        if self.broken:
            raise ConnectionError("redis is down")
        if token.claims.get("jti") in self.denied:
            raise RevokedTokenError("the token has been revoked")


def test_should_refuse_a_cached_token_revoked_between_two_hits() -> None:
    clock = FixedClock(NOW)
    hook = Denylist()
    cold, cached = _twins(clock, checks=(hook,))
    token = _at(_claims(jti="to-revoke"))
    _warm(cached, token)
    assert hook.calls == 2  # the hook ran on the miss and on the hit
    hook.denied.add("to-revoke")
    with pytest.raises(RevokedTokenError):
        cached.verify(token)
    assert hook.calls == 3
    assert _outcome(lambda: cached.verify(token)) == _outcome(lambda: cold.verify(token))


def test_should_fail_closed_on_a_hit_when_the_revocation_check_cannot_answer() -> None:
    clock = FixedClock(NOW)
    hook = Denylist()
    _, cached = _twins(clock, checks=(hook,))
    token = _at(_claims())
    _warm(cached, token)
    hook.broken = True
    with pytest.raises(RevocationUnavailableError):
        cached.verify(token)
    hook.broken = False
    assert cached.verify(token).claims["jti"] == "jti-1"


async def test_should_await_async_revocation_hooks_on_every_async_hit() -> None:
    clock = FixedClock(NOW)
    denied: set[str] = set()
    calls: list[str] = []

    async def hook(token: VerifiedToken) -> None:
        await asyncio.sleep(0)
        calls.append(token.claims["jti"])
        if token.claims["jti"] in denied:
            raise RevokedTokenError("the token has been revoked")

    _, cached = _twins(clock, checks=(hook,))
    token = _at(_claims(jti="async-1"))
    await cached.verify_async(token)
    await cached.verify_async(token)
    denied.add("async-1")
    with pytest.raises(RevokedTokenError):
        await cached.verify_async(token)
    assert calls == ["async-1"] * 3


def test_should_refuse_a_cached_token_whose_account_was_deleted_between_two_hits() -> None:
    clock = FixedClock(NOW)
    accounts = {"user-1"}
    cold, cached = _twins(clock, subject_exists=lambda sub: sub in accounts)
    token = _at(_claims())
    _warm(cached, token)
    accounts.clear()
    with pytest.raises(InvalidClaimError) as info:
        cached.verify(token)
    assert info.value.reason == "unknown_subject"
    assert _outcome(lambda: cached.verify(token)) == _outcome(lambda: cold.verify(token))


# --- invisibility, bounds, threads --------------------------------------------------------


def test_should_not_let_a_caller_mutating_a_result_change_later_results() -> None:
    clock = FixedClock(NOW)
    cold, cached = _twins(clock)
    token = _at(_claims(aud=[AUD, "x"], cnf={"jkt": "abc"}))
    for _ in range(2):  # once on the miss's result, once on a hit's result
        result = cached.verify(token)
        result.claims["sub"] = "admin"
        result.claims["aud"].append("evil")
        result.claims["cnf"]["jkt"] = "evil"
        result.header["kid"] = "evil"
    again = cached.verify(token)
    assert (again.claims["sub"], again.claims["aud"], again.claims["cnf"]) == (
        "user-1",
        [AUD, "x"],
        {"jkt": "abc"},
    )
    assert again.header["kid"] == K1.kid
    assert _outcome(lambda: cached.verify(token)) == _outcome(lambda: cold.verify(token))


def test_should_share_one_entry_between_a_token_as_text_and_as_bytes() -> None:
    clock = FixedClock(NOW)
    _, cached = _twins(clock)
    token = _at(_claims())
    first = cached.verify(token)
    assert cached.verify(token.encode("ascii")) == first
    assert cached.stats == CacheStats(hits=1, misses=1, entries=1, max_entries=10_000)


def test_should_keep_at_most_max_entries_and_evict_the_least_recently_used() -> None:
    clock = FixedClock(NOW)
    policy = _access_policy(clock)
    cached = CachedVerifier(Verifier(policy), max_entries=3)
    tokens = [_at(_claims(jti=f"t{i}")) for i in range(5)]
    for token in tokens[:3]:
        cached.verify(token)
    cached.verify(tokens[0])  # t0 is now the most recently used; t1 the least
    cached.verify(tokens[3])  # evicts t1
    assert len(cached) == 3
    before = cached.stats
    cached.verify(tokens[0])
    cached.verify(tokens[2])
    assert cached.stats.hits == before.hits + 2
    cached.verify(tokens[1])
    assert cached.stats.misses == before.misses + 1
    for token in tokens:
        cached.verify(token)
    assert len(cached) == 3


def test_should_remember_nothing_for_a_flood_of_forged_tokens() -> None:
    # The cache is filled from tokens: only a token whose signature and claims verified may
    # take a place in it, or forged tokens would evict the live ones.
    clock = FixedClock(NOW)
    cached = CachedVerifier(Verifier(_access_policy(clock)), max_entries=2)
    live = _at(_claims(jti="live"))
    cached.verify(live)
    for i in range(500):
        with pytest.raises(BadSignatureError):
            cached.verify(_at(_claims(jti=f"forged{i}"), STRANGER))
    assert len(cached) == 1
    before = cached.stats.hits
    cached.verify(live)
    assert cached.stats.hits == before + 1


def test_should_not_cache_tokens_longer_than_max_token_bytes() -> None:
    clock = FixedClock(NOW)
    policy = _access_policy(clock)
    big = _at(_claims(pad="x" * 4000))
    assert len(big) > 4096
    cached = CachedVerifier(Verifier(policy))
    assert cached.verify(big).claims["pad"] == "x" * 4000
    cached.verify(big)
    assert cached.stats == CacheStats(hits=0, misses=2, entries=0, max_entries=10_000)
    token = _at(_claims())
    exact = CachedVerifier(Verifier(policy), max_token_bytes=len(token))
    exact.verify(token)
    assert len(exact) == 1
    shorter = CachedVerifier(Verifier(policy), max_token_bytes=len(token) - 1)
    shorter.verify(token)
    assert len(shorter) == 0


def test_should_drop_every_entry_on_clear() -> None:
    clock = FixedClock(NOW)
    _, cached = _twins(clock)
    cached.verify(_at(_claims()))
    cached.clear()
    assert len(cached) == 0


def test_should_answer_every_thread_correctly_while_threads_race_on_a_small_cache() -> None:
    clock = FixedClock(NOW)
    policy = _access_policy(clock)
    cached = CachedVerifier(Verifier(policy), max_entries=4)
    tokens = [_at(_claims(jti=f"r{i}")) for i in range(8)]
    bad = _at(_claims(aud="https://else.example"))
    failures: list[str] = []

    def worker(offset: int) -> None:
        for i in range(60):
            token = tokens[(i + offset) % len(tokens)]
            try:
                if cached.verify(token).claims["jti"] != f"r{(i + offset) % len(tokens)}":
                    failures.append("wrong claims")
                cached.verify(bad)
                failures.append("accepted a wrong audience")
            except JWTWardenError as exc:
                if exc.code != "wrong_audience":
                    failures.append(exc.code)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(cached) <= 4
    stats = cached.stats
    assert stats.hits + stats.misses == 6 * 60 * 2


def test_should_refuse_a_bad_configuration_with_type_and_value_errors() -> None:
    clock = FixedClock(NOW)
    policy = _access_policy(clock)
    with pytest.raises(TypeError):
        CachedVerifier(policy)  # type: ignore[arg-type]
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValueError):
            CachedVerifier(Verifier(policy), max_entries=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            CachedVerifier(Verifier(policy), max_token_bytes=bad)  # type: ignore[arg-type]


def test_should_never_show_a_token_or_claim_in_its_repr() -> None:
    clock = FixedClock(NOW)
    _, cached = _twins(clock)
    token = _at(_claims(sub="secret-subject"))
    cached.verify(token)
    text = repr(cached)
    assert "secret-subject" not in text
    assert token[:20] not in text
    assert "entries=1" in text
