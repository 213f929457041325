"""The Issuer: round trips, reserved claims, claim lint, size budget, lifetimes, the profile
matrix (what one profile mints, only that profile's policy accepts)."""

from __future__ import annotations

import base64
import json
import logging
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jwtwarden import FixedClock, KeySet, Verifier, generate_key
from jwtwarden._jose.algorithms import ALGORITHMS
from jwtwarden.errors import (
    ClaimLintError,
    InvalidTokenError,
    KeyEnvironmentError,
    MissingClaimError,
    NoSigningKeyError,
    TokenBudgetError,
    UnknownKeyError,
    WrongTypeError,
)
from jwtwarden.issue import (
    ACCESS_TOKEN,
    DEFAULT_PROFILES,
    ID_TOKEN,
    RESERVED_CLAIMS,
    RESET_TOKEN,
    Issuer,
    TokenProfile,
)
from jwtwarden.keys.key import Key
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.lint import lint_claims
from jwtwarden.stores.memory import MemoryKeyStore

NOW = 1_800_000_000
ISS = "https://auth.example"
AUD = "https://api.example"
NONCE = "n-0S6_WzA2Mj"


class OneKey:
    """A provider that signs every use with the same key (to show typ/nonce rules alone
    keep the profiles apart)."""

    def __init__(self, key: Key) -> None:
        self.key = key

    def signing_key(self, token_use: str) -> Key:
        return self.key

    def verification_keys(self, token_use: str | None = None) -> KeySet:
        return KeySet([self.key.public_key()])


@cache
def ring_for(alg: str) -> tuple[KeyRing, FixedClock]:
    clock = FixedClock(NOW)
    ring = KeyRing(
        MemoryKeyStore(environment="production"),
        clock=clock,
        algorithms={p.token_use: alg for p in DEFAULT_PROFILES},
        rsa_bits=2048,
    )
    ring.ensure()
    return ring, clock


def issuer(alg: str = "ES256", **kw: Any) -> Issuer:
    ring, clock = ring_for(alg)
    clock.set(NOW)
    options: dict[str, Any] = {
        "issuer": ISS,
        "keys": ring,
        "clock": clock,
        "environment": "production",
    }
    options.update(kw)
    return Issuer(**options)


def mint_kw(profile: str) -> dict[str, Any]:
    return {"nonce": NONCE} if profile == "id" else {}


def header(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
@pytest.mark.parametrize("profile", ["access", "id", "reset"])
def test_should_mint_tokens_its_own_policy_accepts_for_every_algorithm(
    alg: str, profile: str
) -> None:
    iss = issuer(alg)
    token, claims = iss.mint_with_claims(
        profile, sub="user-1", audience=AUD, claims={"scope": "read"}, **mint_kw(profile)
    )
    verified = Verifier(iss.verification_policy(profile, audience=AUD)).verify(token)
    assert verified.claims == claims
    assert verified.header["alg"] == alg
    assert verified.key.token_use == {"access": "access", "id": "id", "reset": "reset"}[profile]


def test_should_set_every_registered_claim() -> None:
    token, claims = issuer().mint_with_claims("access", sub="user-1", audience=[AUD, "other"])
    assert claims["iss"] == ISS and claims["sub"] == "user-1" and claims["aud"] == [AUD, "other"]
    assert claims["iat"] == NOW and claims["exp"] == NOW + 600
    assert "nbf" not in claims and "nonce" not in claims
    assert len(base64.urlsafe_b64decode(claims["jti"] + "==")) >= 16  # >= 128 random bits
    assert header(token)["typ"] == "at+jwt"


def test_should_give_every_token_its_own_jti() -> None:
    iss = issuer()
    jtis = {iss.mint_with_claims("access", sub="u", audience=AUD)[1]["jti"] for _ in range(200)}
    assert len(jtis) == 200


@pytest.mark.parametrize(
    ("profile", "typ"), [("access", "at+jwt"), ("id", "JWT"), ("reset", "reset+jwt")]
)
def test_should_type_each_profile_in_the_header(profile: str, typ: str) -> None:
    token = issuer().mint(profile, sub="u", audience=AUD, **mint_kw(profile))
    assert header(token)["typ"] == typ


def test_should_set_nbf_when_asked() -> None:
    _, claims = issuer().mint_with_claims("access", sub="u", audience=AUD, not_before=NOW + 60)
    assert claims["nbf"] == NOW + 60
    profile = TokenProfile(
        name="x", typ="x+jwt", token_use="access", default_ttl=60, max_ttl=60, set_nbf=True
    )
    _, claims = issuer(profiles=[profile]).mint_with_claims("x", sub="u", audience=AUD)
    assert claims["nbf"] == NOW


def test_should_refuse_an_nbf_after_expiry() -> None:
    with pytest.raises(ValueError, match="not_before"):
        issuer().mint("access", sub="u", audience=AUD, not_before=NOW + 601)


# --- the profile matrix -----------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["ring", "one shared key"])
@pytest.mark.parametrize("minted", ["access", "id", "reset"])
@pytest.mark.parametrize("checked", ["access", "id", "reset"])
def test_should_accept_a_token_only_with_its_own_profile_policy(
    provider: str, minted: str, checked: str
) -> None:
    if provider == "ring":
        iss = issuer()
    else:
        iss = Issuer(issuer=ISS, keys=OneKey(generate_key("ES256")), clock=FixedClock(NOW))
    token = iss.mint(minted, sub="u", audience=AUD, **mint_kw(minted))
    verifier = Verifier(iss.verification_policy(checked, audience=AUD))
    if minted == checked:
        assert verifier.verify(token).claims["sub"] == "u"
    else:
        with pytest.raises(InvalidTokenError) as caught:
            verifier.verify(token)
        expected = UnknownKeyError if provider == "ring" else (WrongTypeError,)
        assert isinstance(caught.value, expected)


def test_should_follow_rotation_with_a_policy_built_before_it() -> None:
    clock = FixedClock(NOW)
    ring = KeyRing(MemoryKeyStore(environment="production"), clock=clock, refresh_interval=0)
    ring.ensure(["access"])
    iss = Issuer(issuer=ISS, keys=ring, clock=clock)
    verifier = Verifier(iss.verification_policy("access", audience=AUD))
    before = iss.mint("access", sub="u", audience=AUD)
    ring.rotate("access", immediate=True)
    after = iss.mint("access", sub="u", audience=AUD)
    assert header(before)["kid"] != header(after)["kid"]
    assert verifier.verify(before) and verifier.verify(after)


def test_should_check_the_id_token_nonce_through_the_policy() -> None:
    iss = issuer()
    token = iss.mint("id", sub="u", audience=AUD, nonce=NONCE)
    Verifier(iss.verification_policy("id", audience=AUD, nonce=NONCE)).verify(token)
    with pytest.raises(InvalidTokenError):
        Verifier(iss.verification_policy("id", audience=AUD, nonce="another")).verify(token)


# --- reserved claims and lint -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(RESERVED_CLAIMS))
def test_should_refuse_a_custom_claim_overriding_a_reserved_one(name: str) -> None:
    with pytest.raises(ClaimLintError) as caught:
        issuer().mint("access", sub="u", audience=AUD, claims={name: "x"})
    assert (caught.value.claim, caught.value.reason, caught.value.code) == (
        name,
        "reserved",
        "claim_refused",
    )


@pytest.mark.parametrize(
    ("claims", "claim", "reason"),
    [
        ({"password": "hunter2"}, "password", "secret_name"),
        (
            {"profile": {"pw_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}},
            "profile.pw_hash",
            "password_hash",
        ),
        ({"deploy": "AKIAIOSFODNN7EXAMPLE"}, "deploy", "api_key"),
        ({"card": "4111-1111-1111-1111"}, "card", "card_number"),
    ],
)
def test_should_refuse_secret_looking_claims_naming_claim_and_reason(
    claims: dict[str, Any], claim: str, reason: str
) -> None:
    with pytest.raises(ClaimLintError) as caught:
        issuer().mint("access", sub="u", audience=AUD, claims=claims)
    assert (caught.value.claim, caught.value.reason) == (claim, reason)
    for value in claims.values():
        assert str(value) not in str(caught.value)


def test_should_log_a_warning_for_personal_data_without_the_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="jwtwarden.issue"):
        issuer().mint("access", sub="u", audience=AUD, claims={"email": "ada@example.com"})
    assert "'email'" in caplog.text and "personal" in caplog.text
    assert "ada@example.com" not in caplog.text


def test_should_refuse_claims_that_are_not_json() -> None:
    with pytest.raises(TypeError):
        issuer().mint("access", sub="u", audience=AUD, claims={"when": object()})
    with pytest.raises(TypeError):
        issuer().mint("access", sub="u", audience=AUD, claims={"x": float("nan")})


def test_should_refuse_a_lone_surrogate_as_a_bad_call_not_a_bare_encoding_error() -> None:
    with pytest.raises(TypeError, match="JSON values"):
        issuer().mint("access", sub="u", audience=AUD, claims={"note": "a\ud800b"})


def test_should_refuse_a_secret_on_every_mint_not_only_the_first() -> None:
    # Lint verdicts are remembered per issuer; a refusal must never be one of them.
    iss = issuer()
    for _ in range(3):
        with pytest.raises(ClaimLintError) as caught:
            iss.mint("access", sub="u", audience=AUD, claims={"deploy": "AKIAIOSFODNN7EXAMPLE"})
        assert caught.value.reason == "api_key"


def test_should_lint_a_remembered_claim_again_when_its_value_changes() -> None:
    iss = issuer()
    iss.mint("access", sub="u", audience=AUD, claims={"note": "fine", "Issuer": "x"})
    with pytest.raises(ClaimLintError) as caught:
        iss.mint("access", sub="u", audience=AUD, claims={"note": "4111-1111-1111-1111"})
    assert (caught.value.claim, caught.value.reason) == ("note", "card_number")
    with pytest.raises(ClaimLintError) as lookalike:
        iss.mint("access", sub="u", audience=AUD, claims={"note": "fine", "ISS": "x"})
    assert lookalike.value.reason == "reserved_lookalike"


def test_should_refuse_before_warning_whatever_the_claim_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    iss = issuer()
    claims = {"email": "ada@example.com", "scope": "read", "password": "hunter2"}
    with caplog.at_level(logging.WARNING, logger="jwtwarden.issue"):
        for _ in range(2):  # the second time from remembered verdicts
            with pytest.raises(ClaimLintError) as caught:
                iss.mint("access", sub="u", audience=AUD, claims=claims)
            assert (caught.value.claim, caught.value.reason) == ("password", "secret_name")
    assert caplog.records == []  # a refused claim set logs nothing about its other claims


def test_should_not_keep_a_refused_value_in_memory() -> None:
    iss = issuer()
    with pytest.raises(ClaimLintError):
        iss.mint("access", sub="u", audience=AUD, claims={"deploy": "AKIAIOSFODNN7EXAMPLE"})
    iss.mint("access", sub="u", audience=AUD, claims={"deploy": "blue"})
    # The verdict memo holds clean and warn-only values only: a secret is never retained.
    assert "AKIAIOSFODNN7EXAMPLE" not in repr(iss._lint_memo)
    assert "blue" in repr(iss._lint_memo)


_NAMES = st.sampled_from(["scope", "note", "email", "phone", "password", "tenant", "n", "Sub"])
_VALUES = st.one_of(
    st.sampled_from(
        [
            "read write",
            "ada@example.com",
            "+447946095800",
            "AKIAIOSFODNN7EXAMPLE",
            "4111 1111 1111 1111",
            "$2b$12$abcdefghijklmnopqrstuv",
            "dGhpcyBpcyBqdXN0IGFuIGlkZW50aWZpZXI",
            "",
        ]
    ),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.lists(st.sampled_from(["a", "AKIAIOSFODNN7EXAMPLE"]), max_size=2),
)
_SHARED = issuer()


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_NAMES, _VALUES, max_size=4))
def test_should_decide_custom_claims_exactly_as_lint_claims_does_with_a_warm_memo(
    claims: dict[str, Any],
) -> None:
    # One issuer across all examples, each minted twice: remembered verdicts must give the
    # answer a fresh lint of the whole claim set gives.
    refusals = [f for f in lint_claims(claims) if f.severity == "refuse"]
    for _ in range(2):
        if "Sub" in claims:
            with pytest.raises(ClaimLintError) as reserved:
                _SHARED.mint("access", sub="u", audience=AUD, claims=claims)
            assert reserved.value.reason == "reserved_lookalike"
        elif refusals:
            with pytest.raises(ClaimLintError) as caught:
                _SHARED.mint("access", sub="u", audience=AUD, claims=claims)
            assert (caught.value.claim, caught.value.reason) == (
                refusals[0].claim,
                refusals[0].reason,
            )
        else:
            _, minted = _SHARED.mint_with_claims("access", sub="u", audience=AUD, claims=claims)
            assert {k: minted[k] for k in claims} == claims


# --- size budget ------------------------------------------------------------------------------


def test_should_refuse_a_token_over_the_size_budget_naming_the_largest_claim() -> None:
    with pytest.raises(TokenBudgetError, match="'groups'"):
        issuer().mint("access", sub="u", audience=AUD, claims={"groups": ["g" * 40] * 80, "x": 1})


def test_should_warn_over_one_kibibyte_and_accept_under_the_budget(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="jwtwarden.issue"):
        token = issuer().mint("access", sub="u", audience=AUD, claims={"groups": ["g" * 40] * 20})
    assert 1024 < len(token) <= 4096
    assert "bytes" in caplog.text and "'groups'" in caplog.text


def test_should_not_warn_about_a_small_token(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="jwtwarden.issue"):
        issuer().mint("access", sub="u", audience=AUD)
    assert caplog.records == []


def test_should_honour_a_smaller_budget() -> None:
    with pytest.raises(TokenBudgetError):
        issuer(size_budget=300, size_warning=200).mint("access", sub="u", audience=AUD)


# --- lifetimes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "allow_long", "ok"),
    [
        (None, False, True),
        (300, False, True),
        (900, False, True),
        (901, False, False),
        (299, False, False),
        (3600, True, True),
        (3601, True, False),
        (float("inf"), True, False),
    ],
)
def test_should_keep_access_tokens_between_five_and_fifteen_minutes_unless_overridden(
    ttl: float | None, allow_long: bool, ok: bool
) -> None:
    iss = issuer()
    if ok:
        _, claims = iss.mint_with_claims(
            "access", sub="u", audience=AUD, ttl=ttl, allow_long_ttl=allow_long
        )
        assert claims["exp"] - claims["iat"] == (ttl or 600)
    else:
        with pytest.raises(ValueError):
            iss.mint("access", sub="u", audience=AUD, ttl=ttl, allow_long_ttl=allow_long)


def test_should_refuse_a_lifetime_longer_than_the_key_ring_keeps_keys() -> None:
    clock = FixedClock(NOW)
    ring = KeyRing(
        MemoryKeyStore(environment="production"), clock=clock, max_token_ttl={"access": 600}
    )
    ring.ensure(["access"])
    with pytest.raises(ValueError, match="key ring"):
        Issuer(issuer=ISS, keys=ring, clock=clock).mint("access", sub="u", audience=AUD, ttl=900)


def test_should_define_the_default_profiles_as_documented() -> None:
    assert (
        ACCESS_TOKEN.typ,
        ACCESS_TOKEN.default_ttl,
        ACCESS_TOKEN.max_ttl,
        ACCESS_TOKEN.long_ttl_cap,
    ) == (
        "at+jwt",
        600,
        900,
        3600,
    )
    assert (ID_TOKEN.typ, ID_TOKEN.kind, RESET_TOKEN.typ, RESET_TOKEN.default_ttl) == (
        "JWT",
        "id",
        "reset+jwt",
        900,
    )


# --- nonce, keys, configuration ---------------------------------------------------------------


def test_should_carry_the_sent_nonce_in_id_tokens_only_and_refuse_it_elsewhere() -> None:
    iss = issuer()
    with pytest.raises(ValueError, match="nonce"):
        iss.mint("id", sub="u", audience=AUD, nonce="")
    with pytest.raises(ValueError, match="nonce"):
        iss.mint("access", sub="u", audience=AUD, nonce=NONCE)
    assert iss.mint_with_claims("id", sub="u", audience=AUD, nonce=NONCE)[1]["nonce"] == NONCE
    # OpenID Connect Core 3.1.2.1: a code-flow request may send no nonce; its ID token has none.
    assert "nonce" not in iss.mint_with_claims("id", sub="u", audience=AUD)[1]


def test_should_keep_a_nonce_less_id_token_out_of_the_access_profile_and_the_nonce_profile() -> (
    None
):
    iss = issuer()
    token = iss.mint("id", sub="u", audience=AUD)
    with pytest.raises(InvalidTokenError):
        Verifier(iss.verification_policy("access", audience=AUD)).verify(token)
    with pytest.raises(MissingClaimError):
        Verifier(iss.verification_policy("id", audience=AUD)).verify(token)
    relaxed = iss.verification_policy("id", audience=AUD, expect_nonce=False)
    assert Verifier(relaxed).verify(token).claims["sub"] == "u"
    access = iss.mint("access", sub="u", audience=AUD)
    with pytest.raises(InvalidTokenError):
        Verifier(relaxed).verify(access)


def test_should_refuse_a_signing_key_of_another_environment() -> None:
    with pytest.raises(KeyEnvironmentError):
        issuer(environment="staging").mint("access", sub="u", audience=AUD)


def test_should_refuse_a_key_recorded_for_another_token_use() -> None:
    key = generate_key("ES256", token_use="id")
    with pytest.raises(NoSigningKeyError, match="own key"):
        Issuer(issuer=ISS, keys=OneKey(key)).mint("access", sub="u", audience=AUD)


def test_should_refuse_a_public_only_signing_key() -> None:
    key = generate_key("ES256").public_key()
    with pytest.raises(NoSigningKeyError):
        Issuer(issuer=ISS, keys=OneKey(key)).mint("access", sub="u", audience=AUD)


def test_should_report_a_missing_key_for_the_profile() -> None:
    ring = KeyRing(MemoryKeyStore(environment="production"))
    with pytest.raises(NoSigningKeyError):
        Issuer(issuer=ISS, keys=ring).mint("access", sub="u", audience=AUD)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sub": "", "audience": AUD},
        {"sub": "u", "audience": ""},
        {"sub": "u", "audience": []},
        {"sub": "u", "audience": [AUD, 3]},
    ],
)
def test_should_refuse_a_bad_subject_or_audience(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        issuer().mint("access", **kwargs)


def test_should_refuse_an_unknown_profile() -> None:
    with pytest.raises(ValueError, match="unknown token profile"):
        issuer().mint("refresh", sub="u", audience=AUD)


def test_should_refuse_two_profiles_with_one_typ() -> None:
    twin = TokenProfile(
        name="access2", typ="application/AT+JWT", token_use="a2", default_ttl=60, max_ttl=60
    )
    with pytest.raises(ValueError, match="unique"):
        issuer(profiles=[ACCESS_TOKEN, twin])


@pytest.mark.parametrize(
    "fields",
    [
        {"default_ttl": 0, "max_ttl": 10},
        {"default_ttl": 20, "max_ttl": 10},
        {"default_ttl": 10, "max_ttl": 10, "long_ttl_cap": 5},
        {"default_ttl": 10, "max_ttl": 10, "required_claims": ("exp",)},
        {"default_ttl": 10.5, "max_ttl": 11},
    ],
)
def test_should_refuse_an_inconsistent_profile(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        TokenProfile(name="x", typ="x+jwt", token_use="x", **fields)


def test_should_require_the_profile_claims_when_minting_and_verifying() -> None:
    profile = TokenProfile(
        name="invite",
        typ="invite+jwt",
        token_use="access",
        default_ttl=60,
        max_ttl=60,
        required_claims=("org",),
    )
    iss = issuer(profiles=[profile])
    with pytest.raises(ValueError, match="org"):
        iss.mint("invite", sub="u", audience=AUD)
    token = iss.mint("invite", sub="u", audience=AUD, claims={"org": "acme"})
    policy = iss.verification_policy("invite", audience=AUD)
    assert "org" in policy.required_claims
    Verifier(policy).verify(token)


def test_should_refuse_an_issuer_without_keys_or_name() -> None:
    with pytest.raises(TypeError):
        Issuer(issuer=ISS, keys=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Issuer(issuer="", keys=OneKey(generate_key()))


def test_should_warn_once_per_profile_and_claim_not_on_every_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    iss = issuer()
    with caplog.at_level(logging.WARNING, logger="jwtwarden.issue"):
        for _ in range(3):
            iss.mint("access", sub="u", audience=AUD, claims={"email": "ada@example.com"})
        iss.mint("access", sub="u", audience=AUD, claims={"phone": "+447946095800"})
    assert len(caplog.records) == 2


# --- one signing path -------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["HS256", "RS256", "Ed25519"])  # deterministic signatures
@pytest.mark.parametrize("profile", ["access", "id", "reset"])
def test_should_sign_in_the_issuer_byte_for_byte_as_sign_compact_does(
    alg: str, profile: str
) -> None:
    from jwtwarden._jose.sign import sign_compact

    ring, _ = ring_for(alg)
    minted = issuer(alg)
    token, claims = minted.mint_with_claims(
        profile, sub="user-1", audience=AUD, claims={"scope": "read é"}, **mint_kw(profile)
    )
    key = ring.signing_key(minted.profile(profile).token_use)
    assert sign_compact({"typ": minted.profile(profile).typ}, claims, key) == token
