"""The server's ``Runtime``: its stores, key ring, issuer, session service and verifiers, built
from ``Settings`` at start and closed at shutdown.

Also the background chores: every few seconds each process re-reads the key store (so a key
rotated by one process is used and published by all); the process holding the ``chores``
lease also ticks the key schedule and purges expired sessions and denylist rows.

Size: past 400 lines because it is the server's one build order (each component's builder
next to the others it depends on) and its life cycle; the OAuth components' builders already
live apart (``oauth_parts.py``), as do the cookies, metrics and rate limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._files import private_directory
from ..accounts.admin import AccountAdmin
from ..clock import SYSTEM_CLOCK, Clock
from ..errors import InvalidTokenError, JWTWardenError
from ..issue import ACCESS_TOKEN, ID_TOKEN, Issuer
from ..keys.records import KeyStore
from ..keys.rotation import KeyRing
from ..oauth.clients import IDENTITY_SCOPES
from ..oauth.grants import GrantRegistry
from ..oauth.grants.authorization_code import AuthorizationCodeGrant
from ..oauth.grants.client_credentials import ClientCredentialsGrant
from ..oauth.grants.refresh_token import RefreshTokenGrant
from ..oauth.id_tokens import IDTokenMinter
from ..oauth.oidc_metadata import ID_TOKEN_ALGORITHMS
from ..policy import VerificationPolicy
from ..revocation.checks import AuthVersionCheck, DenylistCheck
from ..revocation.denylist import Denylist
from ..sessions.passwords import PasswordHasher
from ..sessions.service import SessionConfig, SessionService
from ..stores.memory import MemoryDenylist, MemoryRateLimiter
from ..stores.sql import (
    SQLAssertionReplayStore,
    SQLAuthorizationStore,
    SQLClientStore,
    SQLDenylist,
    SQLLease,
    SQLSessionStore,
    SQLSignInLinkStore,
    SQLUserStore,
    create_engine,
)
from ..stores.sql.driver import close_driver_pool
from ..verify import VerifiedToken, Verifier
from .accounts_parts import account_lifecycle, claims_hook_runner, user_scopes
from .cookies import CookiePolicy, csrf_key
from .metrics import Metrics
from .oauth_parts import (
    ClientTokenCheck,
    assertion_verifier,
    client_authenticator,
    client_registry,
    first_party_client,
    secret_hasher,
)
from .oidc_parts import OIDCSessions, code_exchange_members
from .ratelimit import LoginLimiter, RateLimiter
from .settings import Settings
from .signin_state import SignInState, signin_key
from .successor_key import successor_key

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["Runtime", "prepare_data_dir"]

_log = logging.getLogger("jwtwarden.server")
_PURGE_EVERY = 3600.0


@dataclass
class _JWKSCache:
    """The served JWKS, rendered once per key change: body, validators and the raw response
    headers (so a request only copies a list)."""

    body: bytes = b""
    etag: str = ""
    max_age: int = 0
    kids: tuple[str, ...] = field(default_factory=tuple)
    headers: tuple[tuple[bytes, bytes], ...] = ()
    not_modified_headers: tuple[tuple[bytes, bytes], ...] = ()


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory ``0700`` if the settings keep anything in it (the default
    SQLite database, the directory key store); refuse one that group or others can enter.

    Raises:
        ValueError: the data directory is open to group or others, or cannot be made.
    """
    if settings.database_url is None or settings.effective_key_store == "directory":
        private_directory(settings.data_dir, what="data directory (JWTWARDEN_DATA_DIR)")


def _redis_client(settings: Settings) -> Any:
    if settings.redis_url is None:
        return None
    from ..stores.redis import redis_client

    return redis_client(settings.redis_url.get_secret_value())


def _password_hasher(settings: Settings) -> PasswordHasher:
    # One argon2 thread per core across all workers: more would only thrash the caches.
    return PasswordHasher(
        min_length=settings.password_min_length,
        threads=max(1, (os.cpu_count() or 1) // settings.workers),
    )


def _cookie_policy(settings: Settings) -> CookiePolicy:
    return CookiePolicy(
        host_prefix=settings.cookie_host_prefix,
        samesite=settings.cookie_samesite,
        access_cookie=settings.cookie_access_token,
        allowed_origins=frozenset(settings.allowed_origins),
        csrf_key=csrf_key(settings.kek_bytes),
    )


class Runtime:
    """Everything a request needs, built once per process.

    ``__init__`` reads as the build order, one builder per component: storage first (the
    database, Redis, the denylist and rate limiter, the key store), then the key ring and the
    issuer over it, the session service over those, and the verifiers last.
    """

    def __init__(self, settings: Settings, *, clock: Clock = SYSTEM_CLOCK) -> None:
        prepare_data_dir(settings)
        self.settings = settings
        self.clock = clock
        self.metrics = Metrics()
        self.engine: AsyncEngine = create_engine(
            settings.database,
            schema=settings.database_schema,
            pool_size=settings.database_pool_size,
            statement_timeout=settings.database_statement_timeout,
            lock_timeout=settings.database_lock_timeout,
            pool_timeout=settings.database_pool_timeout,
        )
        self.users = SQLUserStore(self.engine)
        self.sessions = SQLSessionStore(self.engine)
        self.redis: Any = _redis_client(settings)
        self.denylist = self._denylist()
        self.limiter = self._login_limiter()
        self.key_store = self._key_store()
        self.ring = self._key_ring()
        self.issuer = self._issuer()
        # ID tokens live as long as the access token issued with them (OpenID Connect Core 2).
        self.id_tokens = IDTokenMinter(
            self.issuer, lambda: self.ring.signing_key("id").alg, ttl=settings.access_token_ttl
        )
        self.hasher = _password_hasher(settings)
        self.user_scopes = user_scopes(settings, self.engine)
        self.claims_hook = claims_hook_runner(settings)
        self.service = self._session_service()
        self.accounts = AccountAdmin(
            self.service, roles=self.user_scopes.store, table=self.user_scopes.table, clock=clock
        )
        self.lifecycle = account_lifecycle(settings, self.service, self.accounts, clock)
        self._oauth_parts()
        self.denylist_check = DenylistCheck(self.denylist, fail_open=settings.denylist_fail_open)
        self.verifier, self.structural_verifier = self._verifiers()
        self.cookies = _cookie_policy(settings)
        self.holder = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.lease = SQLLease(self.engine, "chores", holder=self.holder, ttl=60.0)
        self._jwks = _JWKSCache()
        self._chores: asyncio.Task[None] | None = None
        self._last_purge = 0.0

    # --- construction, in the order __init__ calls it ----------------------------------------

    def _denylist(self) -> Denylist:
        kind = self.settings.effective_denylist
        if kind == "redis":
            from ..stores._denylist_cache import CachedDenylist
            from ..stores.redis import RedisDenylist

            # The database records every denial; Redis caches it (re-seeded after a restart).
            cache = RedisDenylist(
                self.redis, prefix=self.settings.redis_prefix, clock=self.clock, fast_reads=True
            )
            return CachedDenylist(
                SQLDenylist(self.engine, clock=self.clock), cache, clock=self.clock
            )
        if kind == "database":
            return SQLDenylist(self.engine, clock=self.clock)
        return MemoryDenylist(clock=self.clock)

    def _rate_limiter(self) -> RateLimiter:
        if self.redis is not None:
            from ..stores.redis import RedisRateLimiter

            return RedisRateLimiter(self.redis, prefix=self.settings.redis_prefix, clock=self.clock)
        return MemoryRateLimiter(clock=self.clock)

    def _key_store(self) -> KeyStore:
        settings = self.settings
        kek = settings.kek_bytes
        if settings.effective_key_store == "database":
            from ..stores.sql import SQLKeyStore

            return SQLKeyStore(
                settings.database,
                environment=settings.environment,
                kek=kek,
                schema=settings.database_schema,
            )
        from ..stores.files import DirectoryKeyStore

        return DirectoryKeyStore(
            settings.data_dir / "keys", environment=settings.environment, kek=kek
        )

    def _login_limiter(self) -> LoginLimiter:
        settings = self.settings
        return LoginLimiter(
            self._rate_limiter(),
            per_account=settings.rate_limit_login_account,
            per_address=settings.rate_limit_login_address,
            window=settings.rate_limit_window,
        )

    def _key_ring(self) -> KeyRing:
        settings = self.settings
        return KeyRing(
            self.key_store,
            clock=self.clock,
            # OpenID Connect ID tokens have keys of their own (use "id"), RS256: Discovery 1.0
            # 3 requires it, and a key of another use never verifies an access token.
            algorithms={"access": settings.signing_algorithm, "id": ID_TOKEN_ALGORITHMS[0]},
            rotation_period=settings.key_rotation_days * 86400,
            publish_ahead=settings.key_publish_ahead,
            max_token_ttl={
                "access": float(settings.access_token_ttl),
                "id": float(settings.access_token_ttl),
            },
            refresh_interval=settings.key_refresh_interval,
        )

    def _issuer(self) -> Issuer:
        settings = self.settings
        return Issuer(
            issuer=settings.issuer_url,
            keys=self.ring,
            profiles=(ACCESS_TOKEN, ID_TOKEN),
            clock=self.clock,
            environment=settings.environment,
            client_id=settings.client_id,
        )

    def _session_service(self) -> SessionService:
        settings = self.settings
        return SessionService(
            users=self.users,
            sessions=self.sessions,
            minter=self.issuer,
            hasher=self.hasher,
            denylist=self.denylist,
            config=SessionConfig(
                audience=settings.audiences,
                client_id=settings.client_id,
                access_token_ttl=settings.access_token_ttl,
                refresh_idle_ttl=settings.refresh_idle_ttl,
                refresh_absolute_ttl=settings.refresh_absolute_ttl,
                retry_window=settings.refresh_retry_window,
                scopes=frozenset(settings.scopes),
                client_ids=frozenset(settings.client_ids),
            ),
            clock=self.clock,
            on_event=self.metrics.event,
            successor_key=successor_key(settings.kek_bytes, settings.data_dir),
            user_scopes=self.user_scopes,
            claims_hook=self.claims_hook,
        )

    def _oauth_parts(self) -> None:
        """Clients and their authentication (``server/oauth_parts.py``), then the grants."""
        settings, clock = self.settings, self.clock
        self.clients = SQLClientStore(self.engine, clock=clock)
        self.assertion_replay = SQLAssertionReplayStore(self.engine)
        self.secret_hasher = secret_hasher(settings)
        self.first_party_client = first_party_client(settings)
        self.assertions = assertion_verifier(settings, self.assertion_replay, clock)
        hasher = self.secret_hasher
        self.client_auth = client_authenticator(
            settings, self.clients, hasher, self.assertions, clock
        )
        self.registry = client_registry(settings, self.clients, hasher, clock)
        # Codes and the hosted pages' sign-in sessions (issue 14 part 2); the metadata lists
        # the authorization endpoint and response_types_supported ["code"].
        self.authorization_store = SQLAuthorizationStore(self.engine)
        # OpenID Connect logout: the refresh sessions each sign-in started (issue 15).
        self.signin_links = SQLSignInLinkStore(self.engine)
        self.oidc_sessions = OIDCSessions(
            self.service, self.authorization_store, self.signin_links, clock=clock
        )
        self.signin_state = SignInState(
            signin_key(settings.kek_bytes, settings.data_dir), settings.issuer_url
        )
        self.authorization_endpoint: str | None = settings.issuer_url.rstrip("/") + (
            "/oauth/authorize"
        )
        # The scopes a user's flow may grant: the server's, and the identity scopes of OpenID
        # Connect for every client that may ask for them (issue 15).
        self.flow_scopes = frozenset({*settings.scopes, *IDENTITY_SCOPES})
        self.grants = self._grants()

    def _grants(self) -> GrantRegistry:
        """The token endpoint's grants, one per line (``oauth/grants/``)."""
        settings = self.settings
        return GrantRegistry(
            [
                RefreshTokenGrant(self.service, audiences=settings.audiences),
                AuthorizationCodeGrant(
                    codes=self.authorization_store,
                    service=self.service,
                    audiences=settings.audiences,
                    clock=self.clock,
                    extra_members=code_exchange_members(
                        self.id_tokens,
                        self.signin_links,
                        clock=self.clock,
                        link_ttl=float(settings.refresh_absolute_ttl),
                    ),
                ),
                ClientCredentialsGrant(
                    minter=self.issuer,
                    scopes=settings.scopes,
                    audiences=settings.audiences,
                    access_token_ttl=settings.access_token_ttl,
                ),
            ]
        )

    def _verifiers(self) -> tuple[Verifier, Verifier]:
        """The full verifier (denylist + auth version) for introspection and the server's own
        APIs; the structural one (signature and claims only) for RFC 7009 revocation, where a
        denied token is still ours."""
        # The issuer's own policy for its access profile: issuer, typ, required and forbidden
        # claims, clock and live ring keys come from the one place that mints the tokens.
        settings = self.settings

        def policy(**checks: Any) -> VerificationPolicy:
            return self.issuer.verification_policy(
                ACCESS_TOKEN,
                audience=settings.audiences,
                algorithms=[settings.signing_algorithm],
                **checks,
            )

        accounts = ClientTokenCheck(self.clients, AuthVersionCheck(self.users.auth_version))
        full = policy(checks=(self.denylist_check, accounts))
        return Verifier(full), Verifier(policy())

    # --- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Migrate (or check) the schema, make sure a signing key exists, start the chores."""
        from .migrate import check_schema, upgrade

        settings = self.settings
        if settings.effective_auto_migrate:
            await asyncio.to_thread(upgrade, settings.database, schema=settings.database_schema)
        else:
            await check_schema(self.engine)
        await asyncio.to_thread(self.ring.ensure, ["access", "id"])
        self.refresh_jwks()
        self._chores = asyncio.create_task(self._chores_loop(), name="jwtwarden-chores")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.lifecycle.drain(), 10.0)  # queued mail goes out
        if self._chores is not None:
            self._chores.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._chores
        close_denylist = getattr(self.denylist, "aclose", None)
        if close_denylist is not None:
            with contextlib.suppress(Exception):
                await close_denylist()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()
        close = getattr(self.key_store, "close", None)
        if close is not None:
            await asyncio.to_thread(close)
        if self.claims_hook is not None:
            self.claims_hook.close()
        await close_driver_pool(self.engine)  # lets requests still running finish first
        await self.engine.dispose()

    async def _chores_loop(self) -> None:
        interval = max(0.2, min(self.settings.key_refresh_interval / 2, 30.0))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.chores()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.error(
                    "background chores failed",
                    extra={"event": "chores_failed", "error": type(exc).__name__},
                )

    async def chores(self) -> None:
        """One round: reload keys; as the lease holder, tick the schedule and purge."""
        now = self.clock.now()
        leader = await self.lease.acquire(now)
        if leader:
            changes = await asyncio.to_thread(self.ring.tick)
            for change in changes:
                _log.info(
                    "signing key %s",
                    change.change,
                    extra={"event": "key_" + change.change, "kid": change.kid},
                )
            if now - self._last_purge >= _PURGE_EVERY:
                self._last_purge = now
                await self.sessions.purge(now=now)
                purge = getattr(self.denylist, "purge", None)
                if purge is not None:
                    await purge()
                await self.clients.purge_expired_secrets(now)
                await self.assertion_replay.purge(now)
                # Spent codes are kept an hour past their expiry, so a late replay still
                # revokes what the first exchange issued (RFC 6749 4.1.2).
                await self.authorization_store.purge_codes(before=now - _PURGE_EVERY)
                await self.authorization_store.purge_signins(before=now)
                await self.signin_links.purge_links(before=now)
        else:
            await asyncio.to_thread(self.ring.reload)
        self.refresh_jwks()
        ensure_seeded = getattr(self.denylist, "ensure_seeded", None)
        if ensure_seeded is not None:
            # Every process: Redis restarted empty gets the database's denials back, and
            # denials that could not reach it are pushed again (stores/_denylist_cache.py).
            await ensure_seeded()

    # --- JWKS from memory -------------------------------------------------------------------

    def refresh_jwks(self) -> None:
        """Rebuild the served JWKS document when the published keys changed."""
        document = self.ring.jwks()
        kids = tuple(str(k.get("kid")) for k in document["keys"])
        max_age = self.ring.jwks_max_age()
        if kids == self._jwks.kids and max_age == self._jwks.max_age and self._jwks.body:
            return
        body = json.dumps(document, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        validators = (
            (b"cache-control", f"public, max-age={max_age}".encode("ascii")),
            (b"etag", etag.encode("ascii")),
        )
        self._jwks = _JWKSCache(
            body=body,
            etag=etag,
            max_age=max_age,
            kids=kids,
            headers=(
                *validators,
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
            ),
            not_modified_headers=validators,
        )

    @property
    def jwks(self) -> _JWKSCache:
        if not self._jwks.body:
            self.refresh_jwks()
        return self._jwks

    # --- verification with metrics ----------------------------------------------------------

    async def verify_access_token(self, token: str, *, hooks: bool = True) -> VerifiedToken:
        """Verify one of our access tokens; failures are counted by code and re-raised."""
        verifier = self.verifier if hooks else self.structural_verifier
        try:
            return await verifier.verify_async(token)
        except InvalidTokenError as exc:
            self.metrics.verification_failures.labels(exc.code).inc()
            raise
        except Exception as exc:
            # A label from the error's class only (a stable code or a class name): every
            # label value is a new time series kept for good, so none may come from input.
            code = exc.code if isinstance(exc, JWTWardenError) else type(exc).__name__
            self.metrics.verification_failures.labels(code).inc()
            raise
