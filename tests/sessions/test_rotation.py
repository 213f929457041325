"""Idempotent rotation (issue 13) and the client binding of refresh tokens, through the session
service on every store: the memory reference, SQLite and PostgreSQL (a schema per test).

A retry of a refresh whose successor has not been used yet, within the retry window, gets the
same successor (and a new access token); once the successor is used, or after the window, the
parent is reuse and the whole family is revoked.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from jwtwarden.clock import FixedClock
from jwtwarden.errors import (
    InvalidRefreshTokenError,
    RefreshTokenReuseError,
    RevokedTokenError,
    StoreUnavailableError,
)
from jwtwarden.issue import Issuer
from jwtwarden.keys.rotation import KeyRing
from jwtwarden.policy import VerificationPolicy
from jwtwarden.revocation import DenylistCheck
from jwtwarden.sessions import PasswordHasher, SessionConfig, SessionService
from jwtwarden.sessions.rotation import successor_of
from jwtwarden.stores.memory import MemoryDenylist, MemorySessionStore, MemoryUserStore
from jwtwarden.stores.sql import SQLSessionStore, SQLUserStore, create_engine
from jwtwarden.verify import Verifier
from tests.stores.dbs import DB, migrated, pg_schema

from .conftest import AUDIENCE, ISSUER

PASSWORD = "correct horse battery staple"
KEY = secrets.token_bytes(32)  # the successor key every "process" of a test shares


@dataclass
class Backend:
    """Builds services over one database, as processes of one deployment would."""

    kind: str
    clock: FixedClock
    ring: KeyRing
    hasher: PasswordHasher
    db: DB | None
    denylist: MemoryDenylist
    engines: list[Any]
    memory: tuple[MemoryUserStore, MemorySessionStore] | None = None

    def service(self, *, window: float = 30.0, key: bytes = KEY, **engine: Any) -> SessionService:
        if self.db is None:
            if self.memory is None:
                users = MemoryUserStore()
                self.memory = (users, MemorySessionStore(users))
            users_store: Any
            users_store, sessions = self.memory
        else:
            eng = create_engine(self.db.url, schema=self.db.schema, **engine)
            self.engines.append(eng)
            users_store, sessions = SQLUserStore(eng), SQLSessionStore(eng)
        return SessionService(
            users=users_store,
            sessions=sessions,
            minter=Issuer(issuer=ISSUER, keys=self.ring, clock=self.clock),
            hasher=self.hasher,
            denylist=self.denylist,
            config=SessionConfig(
                audience=(AUDIENCE,), retry_window=window, client_ids=frozenset({"other-app"})
            ),
            clock=self.clock,
            successor_key=key,
        )


@contextmanager
def _database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DB | None]:
    if kind == "memory":
        yield None
        return
    with migrated(kind, request, tmp_path) as db:
        yield db


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def backend(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    hasher: PasswordHasher,
    ring: KeyRing,
    clock: FixedClock,
) -> AsyncIterator[Backend]:
    with _database(request.param, request, tmp_path) as db:
        made = Backend(request.param, clock, ring, hasher, db, MemoryDenylist(clock=clock), [])
        try:
            yield made
        finally:
            for engine in made.engines:
                await engine.dispose()


async def _login(service: SessionService, client_id: str | None = None) -> Any:
    if await service.users.user_by_email("ada@example.com") is None:
        await service.create_user("ada@example.com", PASSWORD)
    return await service.login("ada@example.com", PASSWORD, client_id=client_id)


def _verifier(backend: Backend) -> Verifier:
    return Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"],
            issuer=ISSUER,
            audience=AUDIENCE,
            keys=backend.ring.verification_keys("access"),
            clock=backend.clock,
            checks=(DenylistCheck(backend.denylist),),
        )
    )


async def _revoked(service: SessionService, session_id: str) -> bool:
    record = await service.sessions.get_session(session_id)
    assert record is not None
    return record.revoked_at is not None


async def test_should_give_a_retry_after_a_client_timeout_the_same_successor(
    backend: Backend,
) -> None:
    service = backend.service()
    first = await _login(service)
    lost = await service.refresh(first.refresh_token)  # committed; the client timed out
    backend.clock.advance(5)
    retried = await service.refresh(first.refresh_token)
    assert retried.refresh_token == lost.refresh_token
    assert retried.access_token != lost.access_token  # a new access token is fine
    assert retried.claims["jti"] != lost.claims["jti"]
    assert retried.session_id == first.session_id
    assert lost.refresh_token == successor_of(KEY, first.refresh_token)  # derived, as documented
    assert not await _revoked(service, first.session_id)
    # The successor is live: it rotates, once.
    after = await service.refresh(retried.refresh_token)
    assert after.refresh_token not in (first.refresh_token, retried.refresh_token)


async def test_should_give_a_retry_served_by_another_process_the_same_successor(
    backend: Backend,
) -> None:
    # Two services over one database (for memory: over the same stores), as two workers.
    worker_one, worker_two = backend.service(), backend.service()
    first = await _login(worker_one)
    lost = await worker_one.refresh(first.refresh_token)
    retried = await worker_two.refresh(first.refresh_token)
    assert retried.refresh_token == lost.refresh_token


async def test_should_give_fifty_concurrent_refreshes_of_one_token_the_same_successor(
    backend: Backend,
) -> None:
    service = backend.service()
    first = await _login(service)
    pairs = await asyncio.gather(*(service.refresh(first.refresh_token) for _ in range(50)))
    assert len({pair.refresh_token for pair in pairs}) == 1
    assert len({pair.claims["jti"] for pair in pairs}) == 50
    assert not await _revoked(service, first.session_id)
    await service.refresh(pairs[0].refresh_token)


async def test_should_treat_a_retry_after_the_successor_was_used_as_reuse(
    backend: Backend,
) -> None:
    service = backend.service()
    first = await _login(service)
    second = await service.refresh(first.refresh_token)
    third = await service.refresh(second.refresh_token)  # either copy of the successor, used
    verifier = _verifier(backend)
    await verifier.verify_async(third.access_token)
    with pytest.raises(RefreshTokenReuseError):
        await service.refresh(first.refresh_token)
    assert await _revoked(service, first.session_id)
    with pytest.raises(RevokedTokenError):
        await verifier.verify_async(third.access_token)
    with pytest.raises(InvalidRefreshTokenError):
        await service.refresh(third.refresh_token)


async def test_should_treat_a_retry_after_the_window_as_reuse(backend: Backend) -> None:
    service = backend.service(window=30)
    first = await _login(service)
    second = await service.refresh(first.refresh_token)
    backend.clock.advance(30.5)
    with pytest.raises(RefreshTokenReuseError):
        await service.refresh(first.refresh_token)
    assert await _revoked(service, first.session_id)
    with pytest.raises(InvalidRefreshTokenError):
        await service.refresh(second.refresh_token)


async def test_should_keep_the_old_strict_behaviour_with_a_window_of_zero(
    backend: Backend,
) -> None:
    service = backend.service(window=0)
    first = await _login(service)
    second = await service.refresh(first.refresh_token)
    with pytest.raises(RefreshTokenReuseError):
        await service.refresh(first.refresh_token)  # at once: no retry at all
    assert await _revoked(service, first.session_id)
    with pytest.raises(InvalidRefreshTokenError):
        await service.refresh(second.refresh_token)


async def test_should_let_exactly_one_of_fifty_concurrent_refreshes_win_with_a_window_of_zero(
    backend: Backend,
) -> None:
    service = backend.service(window=0)
    first = await _login(service)
    results = await asyncio.gather(
        *(service.refresh(first.refresh_token) for _ in range(50)), return_exceptions=True
    )
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    errors = {type(r) for r in results if isinstance(r, BaseException)}
    assert RefreshTokenReuseError in errors
    assert errors <= {RefreshTokenReuseError, InvalidRefreshTokenError}
    assert await _revoked(service, first.session_id)


async def test_should_treat_a_retry_from_another_successor_key_as_reuse(
    backend: Backend,
) -> None:
    # A process with another key (a misconfigured deployment, a changed KEK) derives another
    # successor: it cannot hand back the stored one, and a spent token that is no retry is reuse.
    service = backend.service()
    first = await _login(service)
    await service.refresh(first.refresh_token)
    stranger = backend.service(key=secrets.token_bytes(32))
    with pytest.raises(RefreshTokenReuseError):
        await stranger.refresh(first.refresh_token)
    assert await _revoked(service, first.session_id)


async def test_should_refuse_another_clients_refresh_token_and_leave_it_usable(
    backend: Backend,
) -> None:
    service = backend.service()
    first = await _login(service)  # issued to the default client, "jwtwarden"
    with pytest.raises(InvalidRefreshTokenError) as refused:
        await service.refresh(first.refresh_token, client_id="other-app")
    assert refused.value.code == "invalid_refresh_token"  # invalid_grant at the HTTP edge
    assert not await _revoked(service, first.session_id)
    # Not spent: the right client's refresh is an ordinary rotation, not a retry.
    second = await service.refresh(first.refresh_token, client_id="jwtwarden")
    # A spent token of the session, presented by the other client: refused, nothing revoked.
    with pytest.raises(InvalidRefreshTokenError):
        await service.refresh(first.refresh_token, client_id="other-app")
    assert not await _revoked(service, first.session_id)
    third = await service.refresh(second.refresh_token)  # no client named: the session's
    assert third.session_id == first.session_id


async def test_should_bind_a_session_started_by_another_client_to_that_client(
    backend: Backend,
) -> None:
    service = backend.service()
    first = await _login(service, client_id="other-app")
    with pytest.raises(InvalidRefreshTokenError):
        await service.refresh(first.refresh_token, client_id="jwtwarden")
    second = await service.refresh(first.refresh_token, client_id="other-app")
    assert second.claims["client_id"] == "other-app"


async def test_should_keep_the_token_live_when_minting_fails_and_then_issue_the_successor(
    backend: Backend,
) -> None:
    service = backend.service()
    first = await _login(service)
    real = service.minter

    class Broken:
        def mint_with_claims(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("signing failed after the spend, before the commit")

    service.minter = Broken()
    with pytest.raises(RuntimeError):
        await service.refresh(first.refresh_token)
    service.minter = real
    second = await service.refresh(first.refresh_token)  # a rotation: nothing was spent
    third = await service.refresh(second.refresh_token)
    assert third.session_id == first.session_id


@pytest.mark.postgres
async def test_should_keep_the_session_through_a_lock_stall_longer_than_the_client_timeout(
    postgres_url: str, hasher: PasswordHasher, ring: KeyRing, tmp_path: Path
) -> None:
    # Issue 13: an 8 s lock on the refresh tokens with clients on a 5 s timeout killed 48 of 48
    # sessions as reuse: the rotation committed after the client had gone, and its retry of
    # the same token was reuse. Here the server's lock timeout is longer than the stall (the
    # worst case: it waits it out and commits), the client gives up after 5 s and retries.
    clock = FixedClock(1_800_000_000.0)
    with pg_schema(postgres_url) as db:
        made = Backend("postgresql", clock, ring, hasher, db, MemoryDenylist(clock=clock), [])
        try:
            service = made.service(lock_timeout=30.0, statement_timeout=30.0)
            first = await _login(service)
            blocker = await asyncpg.connect(
                postgres_url, server_settings={"search_path": db.schema}
            )
            try:
                await blocker.execute("BEGIN")
                await blocker.execute("LOCK TABLE jw_refresh_tokens IN ACCESS EXCLUSIVE MODE")
                # The server keeps working on the request after the client has gone.
                served = asyncio.ensure_future(service.refresh(first.refresh_token))
                done, _ = await asyncio.wait({served}, timeout=5.0)  # the client's timeout
                assert not done
                retry = asyncio.ensure_future(service.refresh(first.refresh_token))
                await asyncio.sleep(3.0)  # the stall lasts 8 s in all
                await blocker.execute("COMMIT")
            finally:
                await blocker.close()
            lost, retried = await asyncio.gather(served, retry)
            assert retried.refresh_token == lost.refresh_token
            assert not await _revoked(service, first.session_id)
            await service.refresh(retried.refresh_token)
        finally:
            for engine in made.engines:
                await engine.dispose()


@pytest.mark.postgres
async def test_should_answer_store_unavailable_on_a_lock_timeout_and_leave_the_token_live(
    postgres_url: str, hasher: PasswordHasher, ring: KeyRing
) -> None:
    # The unit of work translates its driver's failures (issue 12 item 6): a lock timeout in
    # the spend is StoreUnavailableError (503 at the edge), rolled back, the token still live.
    clock = FixedClock(1_800_000_000.0)
    with pg_schema(postgres_url) as db:
        made = Backend("postgresql", clock, ring, hasher, db, MemoryDenylist(clock=clock), [])
        try:
            service = made.service(lock_timeout=0.3)
            first = await _login(service)
            blocker = await asyncpg.connect(
                postgres_url, server_settings={"search_path": db.schema}
            )
            try:
                await blocker.execute("BEGIN")
                await blocker.execute("LOCK TABLE jw_refresh_tokens IN ACCESS EXCLUSIVE MODE")
                with pytest.raises(StoreUnavailableError) as stalled:
                    await service.refresh(first.refresh_token)
                assert stalled.value.code == "store_unavailable"
                await blocker.execute("COMMIT")
            finally:
                await blocker.close()
            second = await service.refresh(first.refresh_token)
            assert not await _revoked(service, first.session_id)
            assert (await service.refresh(second.refresh_token)).session_id == first.session_id
        finally:
            for engine in made.engines:
                await engine.dispose()
