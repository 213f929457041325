"""KeyRing: the lifecycle over simulated time, manual rotation, revocation, JWKS publishing.

The central property, checked at every step of a simulation over several rotation periods:
a token signed by any key that can still have live tokens verifies (with the ring, with a
second process sharing the store, and with a remote verifier caching the JWKS for the
advertised max-age), and no removed or revoked key verifies anything.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from jwtwarden import FixedClock, KeySet, Verifier, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.errors import (
    InvalidTokenError,
    KeyEnvironmentError,
    KeyStoreError,
    NoSigningKeyError,
    UnknownKeyError,
)
from jwtwarden.issue import Issuer
from jwtwarden.keys.key import Key
from jwtwarden.keys.records import KeyRecord, KeyState
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.policy import VerificationPolicy
from jwtwarden.stores.env import EnvKeyStore
from jwtwarden.stores.files import DirectoryKeyStore
from jwtwarden.stores.memory import MemoryKeyStore

NOW = 1_800_000_000.0
ISS = "https://auth.example"
AUD = "https://api.example"
KEK = bytes(range(32))
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}

PERIOD = 4000.0
AHEAD = 300.0
TTL = {"access": 900.0, "id": 1200.0}
LEEWAY = 30.0
REFRESH = 40.0


def make_store(kind: str, tmp_path: Path) -> MemoryKeyStore | DirectoryKeyStore:
    if kind == "memory":
        return MemoryKeyStore(environment="production")
    return DirectoryKeyStore(tmp_path / "keys", environment="production", kek=KEK)


def ring_over(store: Any, clock: FixedClock, **kw: Any) -> KeyRing:
    options: dict[str, Any] = {
        "clock": clock,
        "algorithms": {"access": "ES256", "id": "EdDSA"},
        "rotation_period": PERIOD,
        "publish_ahead": AHEAD,
        "max_token_ttl": TTL,
        "leeway": LEEWAY,
        "refresh_interval": REFRESH,
    }
    options.update(kw)
    return KeyRing(store, **options)


def forge(key: Key, now: float, typ: str = "at+jwt") -> str:
    """A fresh, otherwise valid token signed by ``key`` (to show a removed key verifies nothing)."""
    claims = {
        "iss": ISS,
        "aud": AUD,
        "sub": "eve",
        "iat": int(now),
        "exp": int(now) + 60,
        "jti": "x",
        "client_id": "client-1",  # RFC 9068 2.2
    }
    return sign_compact({"typ": typ}, claims, key)


def assert_public_only(jwks: dict[str, Any]) -> None:
    for jwk in jwks["keys"]:
        assert not PRIVATE_MEMBERS & set(jwk), jwk["kid"]
        assert jwk["kty"] != "oct"
        assert jwk["use"] == "sig" and jwk["alg"] and jwk["kid"]


# --- the simulation ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "directory"])
def test_should_verify_every_live_token_and_nothing_from_removed_keys_over_many_rotations(
    kind: str, tmp_path: Path
) -> None:
    clock = FixedClock(NOW)
    store = make_store(kind, tmp_path)
    ring = ring_over(store, clock)
    ring.ensure()
    other = ring_over(store, clock)  # a second process sharing the store; it never ticks
    issuers = [
        Issuer(issuer=ISS, keys=r, clock=clock, environment="production") for r in (ring, other)
    ]
    verifiers = {
        (n, use): Verifier(i.verification_policy(use, audience=AUD))
        for n, i in enumerate(issuers)
        for use in ("access", "id")
    }
    tokens: list[tuple[str, str, str, int]] = []  # (use, token, kid, exp)
    signers: dict[str, Key] = {}
    first_published: dict[str, float] = {}
    first_signed: dict[str, float] = {}
    revoked: set[str] = set()
    emergency: set[str] = set()  # keys that sign at once, unannounced, after a revocation
    cache: tuple[float, KeySet] | None = None  # a remote verifier honouring max-age
    step, end, n = 97.0, NOW + 5 * PERIOD, 0
    while clock.now() < end:
        n += 1
        now = clock.now()
        if n % 3:
            ring.tick()  # a scheduler that sometimes misses a run
        if n == 60:
            ring.rotate("id")  # a manual rotation, published ahead
        if n == 120:
            kid = ring.signing_key("access").kid
            changes = ring.revoke(kid)  # an emergency
            revoked.add(kid)
            emergency.update(c.kid for c in changes if c.change in ("created", "activated"))
        jwks = ring.jwks()
        assert_public_only(jwks)
        for jwk in jwks["keys"]:
            first_published.setdefault(jwk["kid"], now)
        if cache is None or now - cache[0] >= ring.jwks_max_age():
            cache = (now, KeySet.from_jwks(json.loads(json.dumps(jwks))))
        for who, issuer in enumerate(issuers):
            for use, ttl in (("access", 300 + (n * 37) % 601), ("id", 60 + (n * 53) % 1141)):
                nonce = "n-0S6_WzA2Mj" if use == "id" else None
                token, claims = issuer.mint_with_claims(
                    use, sub=f"user-{who}", audience=AUD, ttl=ttl, nonce=nonce
                )
                key = ring.verification_keys(use).get(json.loads(_header(token))["kid"])
                assert key is not None, "a token was signed by a key the ring does not publish"
                kid = key.kid
                signers.setdefault(kid, (ring, other)[who].signing_key(use))
                first_signed.setdefault(kid, now)
                tokens.append((use, token, kid, claims["exp"]))
                if kid not in cache[1] and kid in emergency:
                    # a remote JWKS client refetches on an unknown kid (with a cooldown)
                    cache = (now, KeySet.from_jwks(ring.jwks()))
                # the remote verifier, with its possibly old cache, knows the signing key
                assert kid in cache[1], (
                    f"a cached JWKS (max-age {ring.jwks_max_age()}) missed {kid}"
                )
        for use, token, kid, exp in tokens:
            for who in (0, 1):
                verifier = verifiers[(who, use)]
                if kid in revoked:
                    if who == 0 or now - NOW > 120 * step + REFRESH:
                        with pytest.raises(UnknownKeyError):
                            verifier.verify(token)
                elif now < exp + LEEWAY:
                    assert verifier.verify(token).claims["exp"] == exp
                else:
                    with pytest.raises(InvalidTokenError):
                        verifier.verify(token)
        live = {k.kid for use in ("access", "id") for k in ring.verification_keys(use)}
        for kid, key in signers.items():
            if kid in live:
                continue
            # Removed only after every token it signed had expired (or it was revoked) ...
            assert kid in revoked or all(now >= exp + LEEWAY for _, _, k, exp in tokens if k == kid)
            # ... and from then on it verifies nothing, not even a fresh token.
            with pytest.raises(UnknownKeyError):
                verifiers[(0, key.token_use or "")].verify(
                    forge(key, now, "at+jwt" if key.token_use == "access" else "JWT")
                )
        tokens = [t for t in tokens if now < t[3] + LEEWAY + 2 * step]
        clock.advance(step)
    # Several rotations happened, each new scheduled key published ahead of its first use.
    assert len(first_signed) >= 2 * 5
    for kid, signed_at in first_signed.items():
        if signed_at == NOW:
            continue  # the very first keys (ensure) have no predecessor to protect
        if kid in emergency:
            continue  # the emergency replacement signs at once, by design
        assert signed_at - first_published[kid] >= AHEAD, kid
    assert kind != "directory" or all(
        (tmp_path / "keys" / f"{r.kid}.jwk.json").exists() for r in ring.status()
    )


def _header(token: str) -> str:
    import base64

    head = token.split(".")[0]
    return base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)).decode()


# --- the schedule, step by step ---------------------------------------------------------------


def test_should_publish_the_next_key_ahead_then_swap_then_remove_the_old_one() -> None:
    clock = FixedClock(NOW)
    ring = ring_over(MemoryKeyStore(environment="production"), clock, refresh_interval=0)
    ring.ensure(["access"])
    first = ring.signing_key("access")
    clock.set(NOW + PERIOD - AHEAD - 1)
    assert ring.tick() == []
    clock.set(NOW + PERIOD - AHEAD)
    (created,) = ring.tick()
    assert created.change == "created"
    states = {r.kid: r.state for r in ring.status()}
    assert states == {first.kid: KeyState.ACTIVE, created.kid: KeyState.PENDING}
    assert {j["kid"] for j in ring.jwks()["keys"]} == {first.kid, created.kid}
    assert ring.signing_key("access").kid == first.kid
    clock.set(NOW + PERIOD)
    assert ring.signing_key("access").kid == created.kid  # no tick needed to switch
    assert {r.kid: r.state for r in ring.status()}[first.kid] is KeyState.RETIRING
    remove_at = NOW + PERIOD + TTL["access"] + LEEWAY + 0
    clock.set(remove_at - 1)
    assert first.kid in ring.verification_keys("access")
    clock.set(remove_at)
    assert first.kid not in ring.verification_keys("access")
    assert change_kinds(ring.tick()) == {"active", "removed"}  # recorded, then deleted
    assert [r.kid for r in ring.status()] == [created.kid]


def test_should_answer_from_computed_states_until_the_next_recorded_instant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import jwtwarden.keys.rotation as rotation

    computed: list[float] = []
    real = rotation.effective_views

    def counting(records: Any, now: float, slack: Any) -> Any:
        computed.append(now)
        return real(records, now, slack)

    monkeypatch.setattr(rotation, "effective_views", counting)
    clock = FixedClock(NOW)
    ring = ring_over(MemoryKeyStore(environment="production"), clock, refresh_interval=AHEAD)
    ring.ensure(["access"])
    first = ring.signing_key("access")
    clock.set(NOW + PERIOD - AHEAD)
    (created,) = ring.tick()
    remove_at = NOW + PERIOD + TTL["access"] + LEEWAY + AHEAD
    clock.set(remove_at - 1)
    assert ring.signing_key("access").kid == created.kid
    assert first.kid in ring.verification_keys("access")
    computed.clear()
    for _ in range(50):  # nothing changes state: no state is computed again
        assert ring.signing_key("access").kid == created.kid
        assert first.kid in ring.verification_keys("access")
        assert first.kid in {j["kid"] for j in ring.jwks()["keys"]}
    assert computed == []
    clock.set(remove_at)  # one second later, no store read due: the old key is gone at once
    assert first.kid not in ring.verification_keys("access")
    assert first.kid not in {j["kid"] for j in ring.jwks()["keys"]}
    assert ring.signing_key("access").kid == created.kid
    assert computed == [remove_at]
    clock.set(remove_at - 10)  # a clock that steps back is answered for its own instant
    assert first.kid in ring.verification_keys("access")


class _SlowStore:
    """A key store whose next load waits until the test lets it go."""

    def __init__(self, inner: MemoryKeyStore) -> None:
        self.inner = inner
        self.environment = inner.environment
        self.loading = threading.Event()
        self.release = threading.Event()
        self.slow = False

    def load(self) -> Any:
        if self.slow:
            self.loading.set()
            assert self.release.wait(10)
        return self.inner.load()

    def save(self, record: KeyRecord) -> None:
        self.inner.save(record)

    def delete(self, kid: str) -> None:
        self.inner.delete(kid)


def test_should_sign_and_verify_while_another_thread_is_reading_the_store() -> None:
    # The server re-reads the store from a background thread; a slow read (PostgreSQL under
    # load) must not stall the requests that sign and verify meanwhile.
    clock = FixedClock(NOW)
    store = _SlowStore(MemoryKeyStore(environment="production"))
    ring = ring_over(store, clock)
    ring.ensure(["access"])
    kid = ring.signing_key("access").kid
    store.slow = True
    reader = threading.Thread(target=ring.reload)
    reader.start()
    try:
        assert store.loading.wait(10)
        answers: list[Any] = []
        request = threading.Thread(
            target=lambda: answers.extend(
                [ring.signing_key("access").kid, kid in ring.verification_keys("access")]
            )
        )
        request.start()
        request.join(10)  # a guard against a deadlock, not a timing assertion
        assert not request.is_alive() and answers == [kid, True]
    finally:
        store.release.set()
        reader.join(10)
    assert not reader.is_alive()


def change_kinds(changes: list[Any]) -> set[str]:
    return {c.change for c in changes}


def test_should_keep_signing_safely_when_tick_never_runs() -> None:
    clock = FixedClock(NOW)
    ring = ring_over(MemoryKeyStore(environment="production"), clock)
    ring.ensure(["access"])
    kid = ring.signing_key("access").kid
    clock.set(NOW + 10 * PERIOD)
    assert ring.signing_key("access").kid == kid
    assert kid in ring.verification_keys("access")


def test_should_activate_a_manual_rotation_only_after_publish_ahead() -> None:
    clock = FixedClock(NOW)
    ring = ring_over(MemoryKeyStore(environment="production"), clock, refresh_interval=0)
    ring.ensure(["access"])
    old = ring.signing_key("access")
    new = ring.rotate("access")
    assert new.state is KeyState.PENDING and new.activate_at == NOW + AHEAD
    assert ring.rotate("access").kid == new.kid  # idempotent while pending
    assert new.kid in ring.verification_keys("access")
    assert ring.signing_key("access").kid == old.kid
    clock.set(NOW + AHEAD)
    assert ring.signing_key("access").kid == new.kid


def test_should_sign_with_the_new_key_at_once_on_an_immediate_rotation() -> None:
    clock = FixedClock(NOW)
    ring = ring_over(MemoryKeyStore(environment="production"), clock, refresh_interval=0)
    ring.ensure(["access"])
    old = ring.signing_key("access")
    new = ring.rotate("access", immediate=True)
    assert ring.signing_key("access").kid == new.kid
    states = {r.kid: r.state for r in ring.status()}
    assert states[old.kid] is KeyState.RETIRING  # its tokens still verify
    assert old.kid in ring.verification_keys("access")


def test_should_rotate_to_another_algorithm_when_asked() -> None:
    clock = FixedClock(NOW)
    ring = ring_over(MemoryKeyStore(environment="production"), clock, refresh_interval=0)
    ring.ensure(["access"])
    new = ring.rotate("access", immediate=True, algorithm="Ed25519")
    assert ring.signing_key("access").alg == "Ed25519" == new.key.alg


# --- revocation -------------------------------------------------------------------------------


def test_should_remove_a_revoked_active_key_at_once_and_promote_the_pending_one() -> None:
    clock = FixedClock(NOW)
    ring = ring_over(MemoryKeyStore(environment="production"), clock, refresh_interval=0)
    ring.ensure(["access"])
    old = ring.signing_key("access")
    pending = ring.rotate("access")
    token = forge(old, NOW)
    verifier = Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"],
            issuer=ISS,
            audience=AUD,
            keys=_LiveKeys(ring, "access"),
            clock=clock,
        )
    )
    verifier.verify(token)
    changes = ring.revoke(old.kid)
    assert [(c.kid, c.change) for c in changes] == [
        (old.kid, "revoked"),
        (pending.kid, "activated"),
    ]
    assert ring.signing_key("access").kid == pending.kid
    assert old.kid not in {j["kid"] for j in ring.jwks()["keys"]}
    with pytest.raises(UnknownKeyError):
        verifier.verify(token)
    assert ring.revoke(old.kid) == []  # idempotent


def test_should_create_a_replacement_when_a_revoked_active_key_has_no_successor() -> None:
    clock = FixedClock(NOW)
    ring = ring_over(MemoryKeyStore(environment="production"), clock, refresh_interval=0)
    ring.ensure(["access"])
    old = ring.signing_key("access")
    changes = ring.revoke(old.kid)
    assert [c.change for c in changes] == ["revoked", "created"]
    assert ring.signing_key("access").kid not in (old.kid,)


def test_should_keep_the_active_key_signing_when_its_pending_successor_is_revoked() -> None:
    clock = FixedClock(NOW)
    ring = ring_over(MemoryKeyStore(environment="production"), clock, refresh_interval=0)
    ring.ensure(["access"])
    old = ring.signing_key("access")
    pending = ring.rotate("access")
    ring.revoke(pending.kid)
    clock.set(NOW + AHEAD + PERIOD / 2)  # long past the planned swap
    assert ring.signing_key("access").kid == old.kid
    assert pending.kid not in ring.verification_keys("access")


def test_should_keep_old_retired_keys_retired_when_the_key_that_replaced_them_is_revoked() -> None:
    clock = FixedClock(NOW)
    ring = ring_over(MemoryKeyStore(environment="production"), clock, refresh_interval=0)
    ring.ensure(["access"])
    first = ring.signing_key("access")
    second = ring.rotate("access", immediate=True)
    clock.advance(10)
    changes = ring.revoke(second.kid)
    assert [c.change for c in changes] == ["revoked", "created"]
    assert changes[0].kid == second.kid
    created = changes[1].kid
    assert ring.signing_key("access").kid == created not in (first.kid, second.kid)
    states = {r.kid: r.state for r in ring.status()}
    assert (states[first.kid], states[created]) == (KeyState.RETIRING, KeyState.ACTIVE)


def test_should_refuse_to_revoke_an_unknown_key() -> None:
    ring = ring_over(MemoryKeyStore(environment="production"), FixedClock(NOW))
    with pytest.raises(ValueError, match="no key"):
        ring.revoke("nope")


def test_should_drop_a_revoked_key_from_the_private_store_material() -> None:
    clock = FixedClock(NOW)
    store = MemoryKeyStore(environment="production")
    ring = ring_over(store, clock, refresh_interval=0)
    ring.ensure(["access"])
    kid = ring.signing_key("access").kid
    ring.revoke(kid)
    (tombstone,) = [r for r in store.load() if r.kid == kid]
    assert tombstone.revoked and not tombstone.key.is_private


# --- several processes, crashes ---------------------------------------------------------------


def test_should_converge_when_another_process_rotates_the_shared_store(tmp_path: Path) -> None:
    clock = FixedClock(NOW)
    a = ring_over(DirectoryKeyStore(tmp_path / "k", environment="production", kek=KEK), clock)
    b = ring_over(DirectoryKeyStore(tmp_path / "k", environment="production", kek=KEK), clock)
    a.ensure(["access"])
    assert b.signing_key("access").kid == a.signing_key("access").kid
    new = a.rotate("access")
    assert new.kid not in b.verification_keys("access")  # b has not re-read the store yet
    clock.advance(REFRESH)
    assert new.kid in b.verification_keys("access")  # well before it signs
    clock.set(NOW + AHEAD)
    assert b.signing_key("access").kid == new.kid
    b.reload()
    a.revoke(new.kid)
    clock.advance(REFRESH)
    assert new.kid not in b.verification_keys("access")


class _FailingSecondSave(MemoryKeyStore):
    """A store that loses power after the first save of a change."""

    armed = False

    def save(self, record: KeyRecord) -> None:
        if self.armed and getattr(self, "_saved_once", False):
            raise KeyStoreError("simulated crash")
        super().save(record)
        if self.armed:
            self._saved_once = True


def test_should_stay_consistent_after_a_crash_between_saving_the_new_key_and_the_old() -> None:
    clock = FixedClock(NOW)
    store = _FailingSecondSave(environment="production")
    ring = ring_over(store, clock, refresh_interval=0)
    ring.ensure(["access"])
    old = ring.signing_key("access")
    store.armed = True
    with pytest.raises(KeyStoreError):
        ring.rotate("access")
    store.armed = False
    (new,) = [r for r in store.load() if r.kid != old.kid]
    assert (old.kid, new.kid) == (ring.signing_key("access").kid, new.kid)
    clock.set(new.activate_at)
    assert ring.signing_key("access").kid == new.kid  # the old key stops, although unrecorded
    states = {r.kid: r.state for r in ring.status()}
    assert states[old.kid] is KeyState.RETIRING
    clock.set(new.activate_at + TTL["access"] + LEEWAY)
    assert old.kid not in ring.verification_keys("access")


def test_should_refuse_a_store_that_hands_out_another_environment(tmp_path: Path) -> None:
    class Leaky(MemoryKeyStore):
        def load(self) -> list[KeyRecord]:
            key = generate_key("ES256", token_use="access", environment="staging")
            return [KeyRecord(key=key, state=KeyState.ACTIVE, publish_at=NOW, activate_at=NOW)]

    ring = ring_over(Leaky(environment="production"), FixedClock(NOW))
    with pytest.raises(KeyEnvironmentError):
        ring.signing_key("access")


# --- JWKS, HMAC, read-only stores -------------------------------------------------------------


def test_should_publish_only_public_members_for_every_asymmetric_algorithm() -> None:
    clock = FixedClock(NOW)
    algorithms = {
        f"u{i}": alg
        for i, alg in enumerate(["RS256", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed448"])
    }
    ring = ring_over(
        MemoryKeyStore(environment="production"), clock, algorithms=algorithms, rsa_bits=2048
    )
    ring.ensure()
    jwks = ring.jwks()
    assert len(jwks["keys"]) == len(algorithms)
    assert_public_only(jwks)
    assert {j["alg"] for j in jwks["keys"]} == set(algorithms.values())
    assert set(jwks) == {"keys"}


def test_should_never_publish_hmac_keys_but_verify_with_them_locally() -> None:
    clock = FixedClock(NOW)
    ring = ring_over(
        MemoryKeyStore(environment="production"),
        clock,
        algorithms={"access": "ES256", "internal": "HS256"},
    )
    ring.ensure()
    assert {j["alg"] for j in ring.jwks()["keys"]} == {"ES256"}
    (hmac_key,) = ring.verification_keys("internal")
    assert hmac_key.is_symmetric
    with pytest.raises(ValueError, match="mixes HMAC"):
        ring.verification_keys()


def test_should_advertise_a_jwks_max_age_no_longer_than_publish_ahead() -> None:
    ring = ring_over(
        MemoryKeyStore(environment="production"),
        FixedClock(NOW),
        publish_ahead=900,
        refresh_interval=60,
    )
    assert 0 < ring.jwks_max_age() <= 900


def test_should_say_how_to_get_a_key_when_there_is_none() -> None:
    ring = ring_over(MemoryKeyStore(environment="production"), FixedClock(NOW))
    with pytest.raises(NoSigningKeyError, match="keys generate --use access"):
        ring.signing_key("access")


def test_should_sign_and_verify_from_a_read_only_environment_store() -> None:
    jwk = generate_key("ES256").export_private_jwk()
    jwk["token_use"] = "access"
    store = EnvKeyStore(
        environment="production", environ={"JWTWARDEN_KEYS": json.dumps({"keys": [jwk]})}
    )
    ring = ring_over(store, FixedClock(NOW))
    assert ring.signing_key("access").kid == jwk["kid"]
    assert jwk["kid"] in ring.verification_keys("access")
    with pytest.raises(KeyStoreError, match="read-only"):
        ring.rotate("access")


@pytest.mark.parametrize(
    "options",
    [
        {"publish_ahead": PERIOD},
        {"refresh_interval": AHEAD + 1},
        {"rotation_period": 0},
        {"leeway": -1},
        {"algorithms": {"access": "none"}},
        {"max_token_ttl": {"access": 0}},
        {"rsa_bits": 1024},
    ],
)
def test_should_refuse_an_inconsistent_configuration(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ring_over(MemoryKeyStore(environment="production"), FixedClock(NOW), **options)


def test_should_refuse_something_that_is_not_a_store() -> None:
    with pytest.raises(TypeError):
        KeyRing(object())  # type: ignore[arg-type]


class _LiveKeys:
    def __init__(self, ring: KeyRing, use: str) -> None:
        self.ring, self.use = ring, use

    def select(self, kid: str | None, alg: str) -> Key:
        return self.ring.verification_keys(self.use).select(kid, alg)


@pytest.mark.parametrize("value", [True, "60", float("nan"), float("inf"), None])
def test_should_refuse_a_duration_that_is_not_a_finite_number(value: Any) -> None:
    with pytest.raises(TypeError, match="refresh_interval must be a finite number of seconds"):
        ring_over(MemoryKeyStore(environment="production"), FixedClock(NOW), refresh_interval=value)


def test_should_read_the_store_again_when_the_clock_steps_back_before_the_last_read() -> None:
    clock = FixedClock(NOW)
    store = _SlowStore(MemoryKeyStore(environment="production"))
    ring = ring_over(store, clock)
    ring.ensure(["access"])
    other = ring_over(store.inner, clock)  # another process rotating the shared store
    kid = ring.signing_key("access").kid
    clock.set(NOW + 1)
    revoked = other.revoke(kid)
    assert kid in {c.kid for c in revoked}
    clock.set(NOW - 3600)  # before the ring's last read: that read is not "fresh"
    assert kid not in ring.verification_keys("access")
