"""A request's cost does not grow with the size of a table: the query plan of every SQL
statement the stores issue, on a migrated database holding 100,000 rows per big table.

Each scenario runs one store operation against the real database while recording the
statements it sends (SQLAlchemy's ``before_cursor_execute``; on PostgreSQL also asyncpg's
query logger on the driver pool's connections, for the hot paths of ``stores.sql.driver``), so
the plans checked are those of the statements the store runs, not copies. Each recorded
statement is then explained with its own parameters: SQLite ``EXPLAIN QUERY PLAN`` (as shipped,
without statistics, and after ``ANALYZE``), PostgreSQL ``EXPLAIN (FORMAT JSON)`` after
``ANALYZE``. ``EXPLAIN`` alone never executes the statement.

The rule for a big table, by kind of statement:

- ``request`` (runs on a client's request): every access is an index lookup with an equality
  on the index's leading column; no full scan, no range over an index, no sort of the table.
- ``listing`` (the admin API's pages): an ordered walk of an index, stopped by ``LIMIT``.
- ``chore`` (periodic purges): an index range over what is expired, never a full scan.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import inspect
import json
import pkgutil
import re
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event

import jwtwarden.stores
from jwtwarden.accounts.roles import RoleAssignment
from jwtwarden.clock import FixedClock
from jwtwarden.keys.generate import generate_key
from jwtwarden.keys.records import KeyRecord, KeyState
from jwtwarden.oauth.codes import AuthorizationCode
from jwtwarden.oauth.signin import SignInSession
from jwtwarden.sessions.ports import NewRefreshToken, SessionRecord, UserRecord
from jwtwarden.sessions.rotation import Minted, Rotator, Verdict
from jwtwarden.stores.sql import (
    SQLAssertionReplayStore,
    SQLAuthorizationStore,
    SQLDenylist,
    SQLKeyStore,
    SQLLease,
    SQLRoleStore,
    SQLSessionStore,
    SQLSignInLinkStore,
    SQLUserStore,
    create_engine,
    metadata,
)

from .dbs import DB, pg_schema, sqlite_db

ROWS = 100_000
NOW = 1_800_000_000.0
KEK = secrets.token_bytes(32)

# Tables that grow with use (one row per account, login, refresh, denial) ...
BIG = frozenset(
    {
        "jw_users",
        "jw_sessions",
        "jw_refresh_tokens",
        "jw_denylist",
        "jw_oauth_assertion_jtis",
        # One row per authorization request signed in, one per browser sign-in (issue 14).
        "jw_oauth_codes",
        "jw_signin_sessions",
        # One row per refresh session started from a code under a sign-in (issue 15).
        "jw_signin_links",
        "jw_user_roles",  # a few per account
    }
)
# ... and tables whose size the deployment fixes.
SMALL = {
    "jw_signing_keys": "a key ring: a few keys per environment",
    "jw_leases": "one row per periodic chore",
    "jw_oauth_clients": "registered by administrators (CLI, admin API), not by requests",
    "jw_oauth_client_secrets": "at most two per client (the current one and one rotated out)",
}
# Store methods that issue no statement on a table.
NO_TABLE = {
    "SQLKeyStore.lock": "an advisory lock (PostgreSQL) or an flock beside the file (SQLite)",
    "SQLKeyStore.close": "disposes of the engine",
}


async def _first(entries: AsyncIterator[tuple[str, str, float]]) -> object:
    async for entry in entries:  # one page is enough to record its statement
        return entry
    return None


def test_should_classify_every_table_as_big_or_small() -> None:
    assert set(metadata.tables) == BIG | set(SMALL)


# --- the data -------------------------------------------------------------------------------
# Row i: user u{i} (u{i}@example.com), session s{i} of user u{i}, refresh token sha256(t{i})
# of session s{i}, denylist entry ("j", jti{i}), role assignment ("reader", every client) of
# u{i}. Sessions 0-9 and denials 0-9 have expired
# (purge has something to delete); tokens 10-19 have expired (idle), their sessions have not.


def token_hash(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def _fill_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO jw_users VALUES (?, ?, 'x', 1, 0, 0, ?, 0, NULL)",
            ((f"u{i}", f"u{i}@example.com", NOW - ROWS + i) for i in range(ROWS)),
        )
        conn.executemany(
            "INSERT INTO jw_sessions VALUES (?, ?, 'app', 'openid', 1, ?, ?, NULL, NULL)",
            ((f"s{i}", f"u{i}", NOW - 60, NOW + (-1 if i < 10 else 86400)) for i in range(ROWS)),
        )
        conn.executemany(
            "INSERT INTO jw_refresh_tokens VALUES (?, ?, ?, ?, NULL, NULL)",
            (
                (token_hash(f"t{i}"), f"s{i}", NOW - 60, NOW + (-1 if 10 <= i < 20 else 3600))
                for i in range(ROWS)
            ),
        )
        conn.executemany(
            "INSERT INTO jw_denylist VALUES ('j', ?, ?)",
            ((f"jti{i}", NOW + (-1 if i < 10 else 3600)) for i in range(ROWS)),
        )
        conn.executemany(
            "INSERT INTO jw_user_roles VALUES (?, 'reader', '', ?)",
            ((f"u{i}", NOW) for i in range(ROWS)),
        )
        conn.executemany(
            "INSERT INTO jw_oauth_assertion_jtis VALUES (?, ?)",
            ((token_hash(f"a{i}"), NOW + (-1 if i < 10 else 300)) for i in range(ROWS)),
        )
        conn.executemany(
            "INSERT INTO jw_oauth_codes VALUES (?, 'app', 'https://a.example/cb', 1, 'c', "
            "'openid', ?, ?, NULL, NULL, ?, ?, NULL, NULL, NULL)",
            (
                (token_hash(f"c{i}"), f"u{i}", NOW - 60, NOW - 60, NOW + (-1 if i < 10 else 60))
                for i in range(ROWS)
            ),
        )
        conn.executemany(
            "INSERT INTO jw_signin_sessions VALUES (?, ?, ?, 1, ?, ?, ?, NULL)",
            (
                (
                    f"si{i}",
                    token_hash(f"si{i}"),
                    f"u{i}",
                    NOW - 60,
                    NOW - 60,
                    NOW + (-1 if i < 10 else 3600),
                )
                for i in range(ROWS)
            ),
        )
        conn.executemany(
            "INSERT INTO jw_signin_links VALUES (?, ?, ?)",
            ((f"s{i}", f"si{i}", NOW + (-1 if i < 10 else 86400)) for i in range(ROWS)),
        )
    conn.close()


_FILL_POSTGRES = f"""
INSERT INTO jw_users SELECT 'u' || i, 'u' || i || '@example.com', 'x', 1, false, false,
    {NOW} - {ROWS} + i, false, NULL FROM generate_series(0, {ROWS - 1}) AS i;
INSERT INTO jw_user_roles SELECT 'u' || i, 'reader', '', {NOW}
    FROM generate_series(0, {ROWS - 1}) AS i;
INSERT INTO jw_sessions SELECT 's' || i, 'u' || i, 'app', 'openid', 1, {NOW} - 60,
    CASE WHEN i < 10 THEN {NOW} - 1 ELSE {NOW} + 86400 END, NULL, NULL
    FROM generate_series(0, {ROWS - 1}) AS i;
INSERT INTO jw_refresh_tokens SELECT sha256(convert_to('t' || i, 'UTF8')), 's' || i,
    {NOW} - 60, CASE WHEN i >= 10 AND i < 20 THEN {NOW} - 1 ELSE {NOW} + 3600 END, NULL, NULL
    FROM generate_series(0, {ROWS - 1}) AS i;
INSERT INTO jw_denylist SELECT 'j', 'jti' || i, CASE WHEN i < 10 THEN {NOW} - 1 ELSE {NOW} + 3600
    END FROM generate_series(0, {ROWS - 1}) AS i;
INSERT INTO jw_oauth_assertion_jtis SELECT sha256(convert_to('a' || i, 'UTF8')),
    CASE WHEN i < 10 THEN {NOW} - 1 ELSE {NOW} + 300 END FROM generate_series(0, {ROWS - 1}) AS i;
INSERT INTO jw_oauth_codes SELECT sha256(convert_to('c' || i, 'UTF8')), 'app',
    'https://a.example/cb', true, 'c', 'openid', 'u' || i, {NOW} - 60, NULL, NULL, {NOW} - 60,
    CASE WHEN i < 10 THEN {NOW} - 1 ELSE {NOW} + 60 END, NULL, NULL, NULL
    FROM generate_series(0, {ROWS - 1}) AS i;
INSERT INTO jw_signin_sessions SELECT 'si' || i, sha256(convert_to('si' || i, 'UTF8')), 'u' || i,
    1, {NOW} - 60, {NOW} - 60, CASE WHEN i < 10 THEN {NOW} - 1 ELSE {NOW} + 3600 END, NULL
    FROM generate_series(0, {ROWS - 1}) AS i;
INSERT INTO jw_signin_links SELECT 's' || i, 'si' || i,
    CASE WHEN i < 10 THEN {NOW} - 1 ELSE {NOW} + 86400 END FROM generate_series(0, {ROWS - 1}) AS i;
ANALYZE;
"""


async def _connect_postgres(db: DB) -> Any:
    assert db.schema is not None
    return await asyncpg.connect(db.url, server_settings={"search_path": db.schema})


async def _fill_postgres(db: DB) -> None:
    conn = await _connect_postgres(db)
    try:
        await conn.execute(_FILL_POSTGRES)
    finally:
        await conn.close()


@pytest.fixture(scope="module", params=["sqlite", "sqlite-analyzed", "postgresql"])
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DB]:
    """A migrated database with ``ROWS`` rows in each big table (one per engine, per module)."""
    if request.param == "postgresql":
        with pg_schema(request.getfixturevalue("postgres_url")) as db:
            asyncio.run(_fill_postgres(db))
            yield db
        return
    db = sqlite_db(tmp_path_factory.mktemp(request.param))
    path = Path(db.url.removeprefix("sqlite:///"))
    _fill_sqlite(path)
    if request.param == "sqlite-analyzed":
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("ANALYZE")
    yield db


# --- recording what a store sends -------------------------------------------------------------


@dataclass
class Recorder:
    statements: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    on: bool = False

    def add(self, sql: str, params: Any) -> None:
        if self.on and "jw_" in sql:
            self.statements.append((sql, tuple(params or ())))

    def listen(self, engine: Any) -> None:
        def before(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
            assert not many, "no store statement is an executemany"
            self.add(sql, params)

        event.listen(engine.sync_engine, "before_cursor_execute", before)


@dataclass
class Stores:
    users: SQLUserStore
    sessions: SQLSessionStore
    denylist: SQLDenylist
    lease: SQLLease
    keys: SQLKeyStore
    replay: SQLAssertionReplayStore
    authorization: SQLAuthorizationStore
    links: SQLSignInLinkStore
    roles: SQLRoleStore


@pytest.fixture
async def recorded(
    filled: DB, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Stores, Recorder]]:
    recorder = Recorder()
    engine = create_engine(filled.url, schema=filled.schema)
    recorder.listen(engine)
    keys = SQLKeyStore(filled.url, environment="production", kek=KEK, schema=filled.schema)
    recorder.listen(keys._engine)
    # The PostgreSQL hot paths run on asyncpg connections of the driver pool: log their queries.
    for info in pkgutil.walk_packages(jwtwarden.stores.__path__, "jwtwarden.stores."):
        module = importlib.import_module(info.name)
        original = getattr(module, "driver_connection", None)
        if original is not None:
            monkeypatch.setattr(module, "driver_connection", _logged(original, recorder))
    stores = Stores(
        users=SQLUserStore(engine),
        sessions=SQLSessionStore(engine),
        denylist=SQLDenylist(engine, clock=FixedClock(NOW)),
        lease=SQLLease(engine, "chores", holder="test", ttl=60),
        keys=keys,
        replay=SQLAssertionReplayStore(engine),
        authorization=SQLAuthorizationStore(engine),
        links=SQLSignInLinkStore(engine),
        roles=SQLRoleStore(engine),
    )
    yield stores, recorder
    keys.close()
    await engine.dispose()


def _logged(original: Callable[[Any], Any], recorder: Recorder) -> Callable[[Any], Any]:
    @contextlib.asynccontextmanager
    async def driver_connection(engine: Any) -> AsyncIterator[Any]:
        async with original(engine) as conn:

            def log(query: Any) -> None:
                recorder.add(query.query, query.args)

            conn.add_query_logger(log)
            try:
                yield conn
            finally:
                conn.remove_query_logger(log)

    return driver_connection


# --- the scenarios ----------------------------------------------------------------------------


def _mint(session: SessionRecord) -> Minted:
    return Minted(access_token="minted-for-" + session.id, claims={}, scope=session.scope)


def _new(label: str) -> NewRefreshToken:
    return NewRefreshToken(token_hash=token_hash(label), issued_at=NOW, expires_at=NOW + 3600)


async def _refresh(s: Stores, label: str, *, window: float, expect: Verdict) -> None:
    """The session service's refresh over the store (``sessions.rotation``): the statements
    recorded are those a real refresh sends. Token ``label``'s hash is ``sha256(label)``."""
    rotator = Rotator(store=s.sessions, key=KEK, retry_window=window, idle_ttl=3600)
    outcome = await rotator.refresh(label, token_hash(label), now=NOW, client_id=None, mint=_mint)
    assert outcome.verdict is expect


def _key_record() -> KeyRecord:
    key = generate_key("ES256", token_use="access", environment="production")
    return KeyRecord(key=key, state=KeyState.ACTIVE, publish_at=1.0, activate_at=2.0)


def _new_code(label: str) -> AuthorizationCode:
    return AuthorizationCode(
        code_hash=token_hash(label),
        client_id="app",
        redirect_uri="https://a.example/cb",
        redirect_uri_in_request=True,
        code_challenge="c",
        scope="openid",
        user_id="u42",
        auth_time=NOW,
        created_at=NOW,
        expires_at=NOW + 60,
    )


def _new_signin(label: str) -> SignInSession:
    return SignInSession(
        id=label,
        token_hash=token_hash(label),
        user_id="u42",
        auth_version=1,
        auth_time=NOW,
        created_at=NOW,
        expires_at=NOW + 3600,
    )


Op = Callable[[Stores], Awaitable[Any]]


@dataclass(frozen=True)
class Scenario:
    name: str
    covers: str  # the store method it exercises
    kind: str  # "request", "listing" or "chore"
    run: Op
    setup: Op | None = None


async def _nothing(_: Stores) -> None:
    return None


SCENARIOS = [
    Scenario(
        "a login creates a session and its first refresh token",
        "SQLSessionStore.create_session",
        "request",
        lambda s: s.sessions.create_session(
            SessionRecord(
                id="s-new",
                user_id="u100",
                client_id="app",
                scope="openid",
                auth_version=1,
                created_at=NOW,
                expires_at=NOW + 86400,
            ),
            _new("t-new"),
        ),
    ),
    Scenario(
        "a refresh spends a live token",
        "SQLSessionStore.transaction",
        "request",
        lambda s: _refresh(s, "t200", window=30, expect=Verdict.ROTATED),
    ),
    Scenario(
        "a refresh retried within the window gets the same successor",
        "SQLSessionStore.transaction",
        "request",
        lambda s: _refresh(s, "t201", window=30, expect=Verdict.RETRIED),
        setup=lambda s: _refresh(s, "t201", window=30, expect=Verdict.ROTATED),
    ),
    Scenario(
        "a reused refresh token revokes its family",
        "SQLSessionStore.transaction",
        "request",
        lambda s: _refresh(s, "t202", window=0, expect=Verdict.REUSED),
        setup=lambda s: _refresh(s, "t202", window=0, expect=Verdict.ROTATED),
    ),
    Scenario(
        "an unknown refresh token is refused",
        "SQLSessionStore.transaction",
        "request",
        lambda s: _refresh(s, "t-unknown", window=30, expect=Verdict.UNKNOWN),
    ),
    Scenario(
        "an expired refresh token is refused",
        "SQLSessionStore.transaction",
        "request",
        lambda s: _refresh(s, "t15", window=30, expect=Verdict.EXPIRED),
    ),
    Scenario(
        "a session is read by id",
        "SQLSessionStore.get_session",
        "request",
        lambda s: s.sessions.get_session("s300"),
    ),
    Scenario(
        "a session is revoked by id",
        "SQLSessionStore.revoke_session",
        "request",
        lambda s: s.sessions.revoke_session("s301", now=NOW, reason="logout"),
    ),
    Scenario(
        "a cookie request finds the session of its refresh token without spending it",
        "SQLSessionStore.session_by_token",
        "request",
        lambda s: s.sessions.session_by_token(token_hash("t303")),
    ),
    Scenario(
        "a session is revoked by its refresh token",
        "SQLSessionStore.revoke_by_token",
        "request",
        lambda s: s.sessions.revoke_by_token(token_hash("t302"), now=NOW, reason="revoked"),
    ),
    Scenario(
        "every session of a user is revoked",
        "SQLSessionStore.revoke_user_sessions",
        "request",
        lambda s: s.sessions.revoke_user_sessions("u303", now=NOW, reason="admin"),
    ),
    Scenario(
        "expired sessions are purged",
        "SQLSessionStore.purge",
        "chore",
        lambda s: s.sessions.purge(now=NOW),
    ),
    Scenario(
        "an account is created",
        "SQLUserStore.create_user",
        "request",
        lambda s: s.users.create_user(
            UserRecord(id="u-new", email="new@example.com", password_hash="x", created_at=NOW)
        ),
    ),
    Scenario(
        "a login finds the account by email",
        "SQLUserStore.user_by_email",
        "request",
        lambda s: s.users.user_by_email("u400@example.com"),
    ),
    Scenario(
        "an account is read by id",
        "SQLUserStore.user_by_id",
        "request",
        lambda s: s.users.user_by_id("u401"),
    ),
    Scenario(
        "an access token's auth version is checked",
        "SQLUserStore.auth_version",
        "request",
        lambda s: s.users.auth_version("u402"),
    ),
    Scenario(
        "a password is changed",
        "SQLUserStore.set_password",
        "request",
        lambda s: s.users.set_password("u403", "y"),
    ),
    Scenario(
        "an account is disabled",
        "SQLUserStore.set_disabled",
        "request",
        lambda s: s.users.set_disabled("u404", True),
    ),
    Scenario(
        "a password hash is upgraded at login",
        "SQLUserStore.rehash_password",
        "request",
        lambda s: s.users.rehash_password("u405", "x", "y"),
    ),
    Scenario(
        "the admin API lists the first page of accounts",
        "SQLUserStore.list_users",
        "listing",
        lambda s: s.users.list_users(limit=100, offset=0),
    ),
    Scenario(
        "the admin API lists a later page of accounts",
        "SQLUserStore.list_users",
        "listing",
        lambda s: s.users.list_users(limit=1000, offset=5000),
    ),
    Scenario(
        "an account is deleted with its sessions, tokens and roles",
        "SQLUserStore.delete_user",
        "request",
        lambda s: s.users.delete_user("u406"),
    ),
    Scenario(
        "an account's email is marked verified",
        "SQLUserStore.set_email_verified",
        "request",
        lambda s: s.users.set_email_verified("u407", "u407@example.com"),
    ),
    Scenario(
        "an e-mail change is recorded as pending",
        "SQLUserStore.set_pending_email",
        "request",
        lambda s: s.users.set_pending_email("u411", "new411@example.com"),
    ),
    Scenario(
        "an e-mail change is confirmed",
        "SQLUserStore.confirm_email",
        "request",
        lambda s: s.users.confirm_email("u412", "new412@example.com"),
    ),
    Scenario(
        "a login reads the account's roles",
        "SQLRoleStore.roles_of",
        "request",
        lambda s: s.roles.roles_of("u408"),
    ),
    Scenario(
        "a role is assigned",
        "SQLRoleStore.assign",
        "request",
        lambda s: s.roles.assign("u409", RoleAssignment(role="editor"), now=NOW),
    ),
    Scenario(
        "a role is unassigned",
        "SQLRoleStore.unassign",
        "request",
        lambda s: s.roles.unassign("u410", RoleAssignment(role="reader")),
    ),
    Scenario(
        "an access token is denied",
        "SQLDenylist.deny_token",
        "request",
        lambda s: s.denylist.deny_token("jti500", until=NOW + 7200),
    ),
    Scenario(
        "a session is denied",
        "SQLDenylist.deny_session",
        "request",
        lambda s: s.denylist.deny_session("s501", until=NOW + 7200),
    ),
    Scenario(
        "an access token is checked against the denylist",
        "SQLDenylist.is_denied",
        "request",
        lambda s: s.denylist.is_denied(jti="jti502", sid="s502"),
    ),
    Scenario(
        "the live denials are read to seed Redis after it lost its data",
        "SQLDenylist.live_entries",
        "listing",
        lambda s: _first(s.denylist.live_entries()),
    ),
    Scenario(
        "expired denials are purged",
        "SQLDenylist.purge",
        "chore",
        lambda s: s.denylist.purge(),
    ),
    Scenario(
        "a private_key_jwt assertion's jti is spent",
        "SQLAssertionReplayStore.use_once",
        "request",
        lambda s: s.replay.use_once(token_hash("fresh-jti"), expires_at=NOW + 300, now=NOW),
    ),
    Scenario(
        "expired assertion markers are purged",
        "SQLAssertionReplayStore.purge",
        "chore",
        lambda s: s.replay.purge(NOW),
    ),
    Scenario(
        "a code is issued",
        "SQLAuthorizationStore.create_code",
        "request",
        lambda s: s.authorization.create_code(_new_code("fresh-code")),
    ),
    Scenario(
        "a code is redeemed",
        "SQLAuthorizationStore.redeem_code",
        "request",
        lambda s: s.authorization.redeem_code(token_hash("c500"), now=NOW, session_id="s"),
    ),
    Scenario(
        "a replayed code is marked",
        "SQLAuthorizationStore.mark_replayed",
        "request",
        lambda s: s.authorization.mark_replayed(token_hash("c501"), now=NOW),
    ),
    Scenario(
        "a redemption checks for a replay",
        "SQLAuthorizationStore.code_replayed",
        "request",
        lambda s: s.authorization.code_replayed(token_hash("c502")),
    ),
    Scenario(
        "expired codes are purged",
        "SQLAuthorizationStore.purge_codes",
        "chore",
        lambda s: s.authorization.purge_codes(before=NOW),
    ),
    Scenario(
        "a sign-in session is started",
        "SQLAuthorizationStore.create_signin",
        "request",
        lambda s: s.authorization.create_signin(_new_signin("fresh-signin")),
    ),
    Scenario(
        "a sign-in cookie is looked up",
        "SQLAuthorizationStore.signin_by_token",
        "request",
        lambda s: s.authorization.signin_by_token(token_hash("si700"), now=NOW),
    ),
    Scenario(
        "the account page lists a user's sign-ins",
        "SQLAuthorizationStore.user_signins",
        "request",
        lambda s: s.authorization.user_signins("u701", now=NOW),
    ),
    Scenario(
        "a sign-in session is ended",
        "SQLAuthorizationStore.revoke_signin",
        "request",
        lambda s: s.authorization.revoke_signin("si702", now=NOW),
    ),
    Scenario(
        "a user signs out everywhere",
        "SQLAuthorizationStore.revoke_user_signins",
        "request",
        lambda s: s.authorization.revoke_user_signins("u703", now=NOW),
    ),
    Scenario(
        "expired sign-in sessions are purged",
        "SQLAuthorizationStore.purge_signins",
        "chore",
        lambda s: s.authorization.purge_signins(before=NOW),
    ),
    Scenario(
        "a code exchange links its refresh session to the sign-in",
        "SQLSignInLinkStore.link",
        "request",
        lambda s: s.links.link("si800", "fresh-session", expires_at=NOW + 3600),
    ),
    Scenario(
        "a logout finds the refresh sessions of a sign-in",
        "SQLSignInLinkStore.linked_sessions",
        "request",
        lambda s: s.links.linked_sessions("si801"),
    ),
    Scenario(
        "expired sign-in links are purged",
        "SQLSignInLinkStore.purge_links",
        "chore",
        lambda s: s.links.purge_links(before=NOW),
    ),
    Scenario(
        "a process takes the chores lease",
        "SQLLease.acquire",
        "request",
        lambda s: s.lease.acquire(NOW),
    ),
    Scenario(
        "the key ring is loaded",
        "SQLKeyStore.load",
        "chore",
        lambda s: asyncio.to_thread(s.keys.load),
        setup=lambda s: asyncio.to_thread(s.keys.save, _key_record()),
    ),
    Scenario(
        "a key is saved",
        "SQLKeyStore.save",
        "chore",
        lambda s: asyncio.to_thread(s.keys.save, _key_record()),
    ),
    Scenario(
        "a key is deleted",
        "SQLKeyStore.delete",
        "chore",
        lambda s: asyncio.to_thread(s.keys.delete, "no-such-kid"),
    ),
]


def _public_methods(cls: type) -> set[str]:
    return {
        f"{cls.__name__}.{name}"
        for name, member in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }


def test_should_have_a_scenario_for_every_store_method() -> None:
    methods: set[str] = set()
    stores = (SQLUserStore, SQLRoleStore, SQLSessionStore, SQLDenylist, SQLLease, SQLKeyStore)
    for cls in (*stores, SQLAssertionReplayStore, SQLAuthorizationStore, SQLSignInLinkStore):
        methods |= _public_methods(cls)
    assert methods - set(NO_TABLE) == {s.covers for s in SCENARIOS}


# --- judging a plan ----------------------------------------------------------------------------

_EQUALITY = re.compile(r"^\(?\w+=\?")  # SQLite: the index's leading column by equality


def sqlite_faults(plan: list[str], kind: str) -> list[str]:
    """What in an ``EXPLAIN QUERY PLAN`` (its detail lines) makes the cost grow with a table."""
    faults = []
    for line in plan:
        words = line.split()
        table = words[1] if len(words) > 1 else ""
        if line.startswith("USE TEMP B-TREE FOR ORDER BY") and kind != "chore":
            faults.append(f"sorts every matching row: {line}")
        if table not in BIG:
            continue
        if words[0] == "SCAN" and not (kind == "listing" and " USING " in line):
            faults.append(f"full scan: {line}")
        if words[0] == "SEARCH" and kind == "request":
            condition = line[line.find("(") :] if "(" in line else ""
            if not _EQUALITY.match(condition):
                faults.append(f"not a lookup by equality: {line}")
    return faults


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


_PG_EQUALITY = re.compile(r"^\(*\w+\)?(::[\w ]+)? = ")  # "((kind)::text = 'j'::text)"


def postgres_faults(plan: dict[str, Any], kind: str) -> list[str]:
    """What in an ``EXPLAIN (FORMAT JSON)`` plan makes the cost grow with a table."""
    faults = []
    for node in _nodes(plan):
        node_type = node["Node Type"]
        table = node.get("Relation Name") or node.get("Index Name", "")
        summary = f"{node_type} on {table} {node.get('Index Cond', '')}".strip()
        if node_type == "Seq Scan" and table in BIG:
            faults.append(f"full scan: {summary}")
        if node_type == "Sort" and kind != "chore":
            faults.append(f"sorts every matching row: {node.get('Sort Key')}")
        if (
            node_type in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
            and kind == "request"
            and not _PG_EQUALITY.match(node.get("Index Cond", ""))
        ):
            faults.append(f"not a lookup by equality: {summary}")
    return faults


async def _explain(db: DB, statements: list[tuple[str, tuple[Any, ...]]], kind: str) -> list[Any]:
    if db.kind == "sqlite":
        with contextlib.closing(sqlite3.connect(db.url.removeprefix("sqlite:///"))) as conn:
            return [
                [[row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]]
                for sql, params in statements
            ]
    conn = await _connect_postgres(db)
    try:
        # A purge's generic plan guesses that a third of the table has expired (a sequential
        # scan); PostgreSQL keeps the custom plan for it, which costs what is expired.
        generic = kind != "chore"
        return [
            await _postgres_plans(conn, sql, params, generic=generic) for sql, params in statements
        ]
    finally:
        await conn.close()


async def _postgres_plans(
    conn: Any, sql: str, params: tuple[Any, ...], *, generic: bool
) -> list[Any]:
    """The plan for these parameters and, with ``generic``, the generic plan too: asyncpg
    prepares every statement, and PostgreSQL may switch a prepared statement to its generic
    plan after five runs when that plan costs no more than the custom ones did."""
    plans = [await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *params)]
    if generic:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE audited AS {sql}")
        try:
            nulls = f"({', '.join(['NULL'] * len(params))})" if params else ""
            plans.append(await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE audited{nulls}"))
        finally:
            await conn.execute("DEALLOCATE audited")
            await conn.execute("RESET plan_cache_mode")
    return [json.loads(plan)[0]["Plan"] for plan in plans]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_should_not_scan_a_big_table_when(
    scenario: Scenario, filled: DB, recorded: tuple[Stores, Recorder]
) -> None:
    stores, recorder = recorded
    await (scenario.setup or _nothing)(stores)
    recorder.on = True
    await scenario.run(stores)
    recorder.on = False
    assert recorder.statements, "the scenario sent no statement: nothing was checked"
    judge = sqlite_faults if filled.kind == "sqlite" else postgres_faults
    faults = {
        sql: found
        for (sql, _), plans in zip(
            recorder.statements,
            await _explain(filled, recorder.statements, scenario.kind),
            strict=True,
        )
        if (found := [fault for plan in plans for fault in judge(plan, scenario.kind)])
    }
    assert faults == {}
