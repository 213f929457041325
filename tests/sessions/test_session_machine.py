"""A model of ``SessionService``: hypothesis drives login, refresh, retry, reuse, logout,
password change, disable and enable in any order, on the memory stores, on SQLite and on
PostgreSQL, and every answer is compared with a small model of the refresh-token families.

What the model holds (RFC 6819 5.2.2.3, RFC 9700 4.14.2; ``sessions.rotation``):

- each login is one family; exactly one of its tokens is live, every earlier one is spent;
- a spent token refreshes again only as the documented retry (``sessions.rotation``): its
  successor has not been used yet and it was spent at most ``retry_window`` seconds ago; then
  it gets the *same* successor again (and a new access token), as often as it is retried in
  the window. Any other spent token (its successor used, by either holder of it, or the window
  over) is reuse, which ends the whole family (its live token refuses from then on);
- logout, password change and disable end sessions; a token of an ended session refuses
  with ``InvalidRefreshTokenError``, never a new pair;
- an access token of an ended session fails verification through the ``sid`` denylist, and
  one minted before a password change, disable or enable fails the auth-version check.

The model is plain bookkeeping written from the contract, not a call into the stores.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from jwtwarden import FixedClock, RevokedTokenError, VerificationPolicy, Verifier
from jwtwarden.errors import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    RefreshTokenReuseError,
)
from jwtwarden.issue import Issuer
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.revocation import AuthVersionCheck, DenylistCheck
from jwtwarden.sessions import PasswordHasher, SessionConfig, SessionService, TokenPair
from jwtwarden.stores.memory import (
    MemoryDenylist,
    MemoryKeyStore,
    MemorySessionStore,
    MemoryUserStore,
)
from jwtwarden.stores.sql import SQLSessionStore, SQLUserStore, create_engine
from tests.stores.dbs import DB, migrated

ISSUER = "https://auth.example.test"
AUDIENCE = "https://api.example.test"
START = 1_800_000_000.0
WINDOW = 5.0
PASSWORDS = ("first long password 1", "second long password 2")
# Access tokens live 600 s (+30 s leeway): the clock never moves past that within a run, so
# every refusal of an access token below is a revocation, never an expiry.
MAX_ELAPSED = 400.0
EXAMPLES = {"memory": 25, "sqlite": 10, "postgresql": 10}
STEPS = 20

_HASHER = PasswordHasher()
_RING = KeyRing(MemoryKeyStore(environment="test"))
_RING.ensure(["access"])


@dataclass
class Token:
    """One refresh token as the model sees it."""

    value: str
    family: Family
    spent_at: float | None = None
    successor: Token | None = None  # what spending it issued (None: unspent or revoked)


@dataclass
class Family:
    sid: str
    auth_version: int  # the user's when the session started
    live: Token | None = None
    ended: bool = False
    tokens: list[Token] = field(default_factory=list)


@dataclass(frozen=True)
class Access:
    token: str
    family: Family
    auth_version: int


@contextmanager
def backend(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DB | None]:
    if kind == "memory":
        yield None
        return
    with migrated(kind, request, tmp_path) as db:
        yield db


def machine_for(db: DB | None) -> type[RuleBasedStateMachine]:
    class SessionMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.clock = FixedClock(START)
            self.engine = None
            if db is None:
                users = MemoryUserStore()
                sessions: Any = MemorySessionStore(users)
                self.users: Any = users
            else:
                self.engine = create_engine(db.url, schema=db.schema)
                self.users, sessions = SQLUserStore(self.engine), SQLSessionStore(self.engine)
            self.denylist = MemoryDenylist(clock=self.clock)
            self.service = SessionService(
                users=self.users,
                sessions=sessions,
                minter=Issuer(issuer=ISSUER, keys=_RING, clock=self.clock),
                hasher=_HASHER,
                denylist=self.denylist,
                config=SessionConfig(audience=(AUDIENCE,), retry_window=WINDOW),
                clock=self.clock,
            )
            base = {
                "algorithms": ["ES256"],
                "issuer": ISSUER,
                "audience": AUDIENCE,
                "keys": _RING.verification_keys("access"),
                "clock": self.clock,
            }
            self.by_denylist = Verifier(
                VerificationPolicy.access_token(**base, checks=(DenylistCheck(self.denylist),))
            )
            self.by_version = Verifier(
                VerificationPolicy.access_token(
                    **base, checks=(AuthVersionCheck(self.users.auth_version),)
                )
            )
            self.email = f"model-{uuid.uuid4().hex}@example.test"
            self.password = PASSWORDS[0]
            self.disabled = False
            self.auth_version = 1
            self.families: list[Family] = []
            self.tokens: list[Token] = []
            self.access: list[Access] = []
            self.user_id = ""
            self.bystander: TokenPair | None = None

        def run(self, awaitable: Any) -> Any:
            return self.loop.run_until_complete(awaitable)

        def expect(self, error: type[Exception], awaitable: Any) -> Exception:
            with pytest.raises(error) as caught:
                self.run(awaitable)
            assert type(caught.value) is error, repr(caught.value)
            return caught.value

        def teardown(self) -> None:
            try:
                if self.bystander is not None:
                    # Another account's session never ends because of this one's events.
                    self.run(self.service.refresh(self.bystander.refresh_token))
            finally:
                if self.engine is not None:
                    self.run(self.engine.dispose())
                self.loop.close()

        # --- the model ------------------------------------------------------------------

        def adopt(self, pair: TokenPair, family: Family) -> None:
            token = Token(pair.refresh_token, family)
            family.tokens.append(token)
            family.live = token
            self.tokens.append(token)
            assert pair.session_id == family.sid
            assert pair.claims["auth_version"] == self.auth_version
            self.access.append(Access(pair.access_token, family, self.auth_version))

        def end(self, family: Family) -> None:
            family.ended = True
            now = self.clock.now()
            for token in family.tokens:
                if token.spent_at is None:
                    token.spent_at = now
            family.live = None

        def predicted(self, token: Token) -> tuple[str, Token | None]:
            """What ``refresh(token)`` must do: ("rotate", None), ("retry", the successor it
            gets again), "reuse" or "invalid"."""
            family, now = token.family, self.clock.now()
            # A session whose user's auth version moved on (enable bumps it too) refreshes no
            # more, though nothing revoked it; reuse is still detected first.
            stale = family.auth_version != self.auth_version
            if token.spent_at is None:
                return ("rotate", None) if not (family.ended or stale) else ("invalid", None)
            if family.ended:
                return "invalid", None
            successor = token.successor
            if (
                successor is not None
                and successor.spent_at is None
                and now - token.spent_at <= WINDOW
            ):
                # The retry serves only a session that may still refresh; otherwise it is a
                # replayed spent token like any other: reuse.
                return ("retry", successor) if not stale else ("reuse", None)
            return "reuse", None

        # --- rules ----------------------------------------------------------------------

        @initialize()
        def create_account(self) -> None:
            user = self.run(self.service.create_user(self.email, self.password))
            self.user_id = user.id
            other = f"bystander-{uuid.uuid4().hex}@example.test"
            self.run(self.service.create_user(other, PASSWORDS[1]))
            self.bystander = self.run(self.service.login(other, PASSWORDS[1]))

        @rule()
        def login(self) -> None:
            if self.disabled:
                self.expect(InvalidCredentialsError, self.service.login(self.email, self.password))
                return
            pair = self.run(self.service.login(self.email, self.password))
            assert pair.session_id not in {f.sid for f in self.families}
            family = Family(pair.session_id, self.auth_version)
            self.families.append(family)
            self.adopt(pair, family)

        @rule()
        def login_with_the_wrong_password(self) -> None:
            wrong = PASSWORDS[1] if self.password == PASSWORDS[0] else PASSWORDS[0]
            self.expect(InvalidCredentialsError, self.service.login(self.email, wrong))

        def present(self, token: Token) -> None:
            outcome, successor = self.predicted(token)
            if outcome == "rotate":
                pair = self.run(self.service.refresh(token.value))
                token.spent_at = self.clock.now()
                self.adopt(pair, token.family)
                token.successor = token.family.live
                return
            if outcome == "retry":
                # The same successor again, which stays the family's live token; a new
                # access token for the session.
                assert successor is not None and successor is token.family.live
                pair = self.run(self.service.refresh(token.value))
                assert pair.refresh_token == successor.value
                assert pair.session_id == token.family.sid
                assert pair.claims["auth_version"] == self.auth_version
                self.access.append(Access(pair.access_token, token.family, self.auth_version))
                return
            if outcome == "reuse":
                self.expect(RefreshTokenReuseError, self.service.refresh(token.value))
                self.end(token.family)
                return
            self.expect(InvalidRefreshTokenError, self.service.refresh(token.value))

        @precondition(lambda self: self.tokens)
        @rule(index=st.integers(min_value=0, max_value=10_000))
        def refresh_any_token(self, index: int) -> None:
            self.present(self.tokens[index % len(self.tokens)])

        @precondition(lambda self: any(f.live for f in self.families))
        @rule(index=st.integers(min_value=0, max_value=10_000))
        def refresh_a_live_token(self, index: int) -> None:
            live = [f.live for f in self.families if f.live is not None]
            self.present(live[index % len(live)])

        @precondition(lambda self: any(f.live for f in self.families))
        @rule(index=st.integers(min_value=0, max_value=10_000))
        def refresh_a_live_token_twice_at_once(self, index: int) -> None:
            # Two tabs (or a client without single flight) refresh the same token together:
            # one answer for both, the same successor, never a reuse verdict.
            live = [f.live for f in self.families if f.live is not None]
            token = live[index % len(live)]
            if self.predicted(token)[0] != "rotate":
                self.present(token)
                return

            async def both() -> list[TokenPair]:
                return await asyncio.gather(*(self.service.refresh(token.value) for _ in "ab"))

            one, two = self.run(both())
            assert one.refresh_token == two.refresh_token
            token.spent_at = self.clock.now()
            self.adopt(one, token.family)
            token.successor = token.family.live
            self.access.append(Access(two.access_token, token.family, self.auth_version))

        @precondition(lambda self: any(len(f.tokens) > 1 for f in self.families))
        @rule(index=st.integers(min_value=0, max_value=10_000))
        def retry_the_last_spent_token(self, index: int) -> None:
            # A client whose refresh response was lost sends the same token again.
            families = [f for f in self.families if len(f.tokens) > 1]
            self.present(families[index % len(families)].tokens[-2])

        @precondition(lambda self: self.tokens)
        @rule(index=st.integers(min_value=0, max_value=10_000))
        def logout(self, index: int) -> None:
            token = self.tokens[index % len(self.tokens)]
            assert self.run(self.service.logout(refresh_token=token.value)) is True
            self.end(token.family)

        @rule(correct=st.booleans())
        def change_password(self, correct: bool) -> None:
            new = PASSWORDS[1] if self.password == PASSWORDS[0] else PASSWORDS[0]
            current = self.password if correct else new
            if self.disabled or not correct:
                self.expect(
                    InvalidCredentialsError,
                    self.service.change_password(self.user_id, current, new),
                )
                return
            version = self.run(self.service.change_password(self.user_id, current, new))
            self.auth_version += 1
            assert version == self.auth_version
            self.password = new
            for family in self.families:
                if not family.ended:
                    self.end(family)

        @rule(disabled=st.booleans())
        def set_disabled(self, disabled: bool) -> None:
            assert self.run(self.service.set_disabled(self.user_id, disabled)) is True
            if disabled != self.disabled:
                self.auth_version += 1  # the store bumps it when the state changes, only then
            self.disabled = disabled
            if disabled:
                for family in self.families:
                    if not family.ended:
                        self.end(family)

        @precondition(lambda self: self.clock.now() - START < MAX_ELAPSED)
        @rule(seconds=st.sampled_from([0.5, 2.0, WINDOW, WINDOW + 1.0, 30.0]))
        def advance_the_clock(self, seconds: float) -> None:
            self.clock.advance(seconds)

        @precondition(lambda self: self.access)
        @rule(index=st.integers(min_value=0, max_value=10_000))
        def verify_an_access_token(self, index: int) -> None:
            access = self.access[index % len(self.access)]
            if access.family.ended:
                self.expect(RevokedTokenError, self.by_denylist.verify_async(access.token))
            else:
                verified = self.run(self.by_denylist.verify_async(access.token))
                assert verified.claims["sid"] == access.family.sid
            if self.disabled or access.auth_version != self.auth_version:
                self.expect(RevokedTokenError, self.by_version.verify_async(access.token))
            else:
                self.run(self.by_version.verify_async(access.token))

        # --- invariants -----------------------------------------------------------------

        @invariant()
        def at_most_one_live_token_per_family(self) -> None:
            for family in self.families:
                live = [t for t in family.tokens if t.spent_at is None]
                assert len(live) <= 1
                assert live == ([family.live] if family.live is not None else [])
                assert family.ended or family.live is not None
                assert not family.ended or family.live is None

        @invariant()
        def the_store_agrees_which_sessions_ended(self) -> None:
            for family in self.families:
                record = self.run(self.service.sessions.get_session(family.sid))
                assert record is not None
                assert (record.revoked_at is not None) == family.ended, family.sid

    return SessionMachine


def _run(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    with backend(kind, request, tmp_path) as db:
        run_state_machine_as_test(
            machine_for(db),
            settings=settings(
                max_examples=EXAMPLES[kind],
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                database=None,
            ),
        )


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_should_keep_the_session_contract_in_any_order_of_events(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    _run(kind, request, tmp_path)


@pytest.mark.postgres
def test_should_keep_the_session_contract_in_any_order_of_events_on_postgresql(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    _run("postgresql", request, tmp_path)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_should_treat_a_retry_of_a_session_whose_auth_version_moved_on_as_reuse(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Found by the machine: memory answered "invalid", SQLite and PostgreSQL "reuse" (and
    # revoked the session). The memory store is the reference; now all three agree.
    with backend(kind, request, tmp_path) as db:
        machine = machine_for(db)()
        try:
            machine.create_account()
            machine.login()
            machine.refresh_a_live_token(0)
            # The version moves with no session revoked: what a crash between the store's bump
            # and the service's revocations leaves (the service itself always revokes too).
            machine.run(machine.users.set_disabled(machine.user_id, True))
            machine.run(machine.users.set_disabled(machine.user_id, False))
            machine.auth_version += 2
            machine.retry_the_last_spent_token(0)
            assert machine.families[0].ended
            machine.the_store_agrees_which_sessions_ended()
        finally:
            machine.teardown()
