"""The session service: login, refresh rotation with reuse detection, logout, revocation and
password change. Framework-free; the HTTP server is a thin edge over it.

- Login verifies the password with argon2id, or a dummy hash when the email is unknown, so
  both cost the same and answer the same (``InvalidCredentialsError``).
- Each login starts its own session (a refresh-token family), so two devices never revoke
  each other.
- Refresh spends the presented token and issues the next pair in one store transaction that
  the service drives (``sessions.rotation``); the access token is minted inside it, so a
  failure leaves the old token live. A retry within ``retry_window`` gets the same successor
  again; any other spent token presented again is reuse (RFC 6819 5.2.2.3, RFC 9700 4.14.2):
  the family is revoked and the service denies its live access tokens by ``sid``.
- Access tokens carry ``sid``, ``auth_version``, ``client_id`` and ``scope`` (RFC 9068).
- The scope an account may have comes from its roles (``accounts.roles.UserScopes``): a login
  asking beyond them is ``invalid_scope``, a refresh is narrowed to what they grant now. The
  claims hook (``accounts.claims_hook``), when configured, adds claims; if it fails, no token.

Size: just past 400 lines, left whole while the OAuth and account features land on it (issue
12 keeps it out of the split to spare their merges); the refresh rules already live apart
(``sessions.rotation``), as do the access-token minting (``sessions.access_tokens``) and the
account administration (``accounts.admin``); the account operations (users, password change,
disable) are the next split by operation.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ..accounts.claims_hook import ClaimsHookRunner
from ..accounts.roles import NoRoleStore, RoleTable, UserScopes
from ..clock import SYSTEM_CLOCK, Clock
from ..errors import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    RefreshTokenReuseError,
)
from ..revocation.denylist import Denylist
from .access_tokens import hook_claims, refresh_inputs
from .config import (
    AccessTokenMinter,
    SessionConfig,
    SessionLimits,
    TokenPair,
    granted_scope,
    normalize_email,
)
from .minting import idle_ttl, mint_access, token_pair
from .passwords import PasswordHasher
from .ports import NewRefreshToken, SessionRecord, SessionStore, UserRecord, UserStore
from .rotation import Minted, Rotator, Verdict
from .tokens import new_refresh_token, refresh_token_hash

__all__ = [
    "AccessTokenMinter",
    "SessionConfig",
    "SessionLimits",
    "SessionService",
    "TokenPair",
    "normalize_email",
]

_log = logging.getLogger("jwtwarden.sessions")


EventSink = Callable[[str, Mapping[str, Any]], None]


class SessionService:
    """Logins, refreshes and revocations over a ``UserStore`` and a ``SessionStore``.

    Example:
        >>> service = SessionService(users=..., sessions=..., minter=issuer,  # doctest: +SKIP
        ...     hasher=PasswordHasher(), denylist=MemoryDenylist(),
        ...     config=SessionConfig(audience=("https://api.example.com",)))
        >>> pair = await service.login("ada@example.com", "a long password")  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        users: UserStore,
        sessions: SessionStore,
        minter: AccessTokenMinter,
        hasher: PasswordHasher,
        denylist: Denylist,
        config: SessionConfig,
        clock: Clock = SYSTEM_CLOCK,
        on_event: EventSink | None = None,
        successor_key: bytes | None = None,
        user_scopes: UserScopes | None = None,
        claims_hook: ClaimsHookRunner | None = None,
    ) -> None:
        self.users = users
        self.sessions = sessions
        self.minter = minter
        self.hasher = hasher
        self.denylist = denylist
        self.config = config
        self.clock = clock
        self._on_event = on_event
        # No roles wired in: an account gets the identity scopes only (fail closed).
        self.user_scopes = user_scopes or UserScopes(RoleTable(), NoRoleStore())
        self.claims_hook = claims_hook
        if successor_key is None:
            # One process only: a retry served by another process (or after a restart) would
            # derive another successor and count as reuse. The server passes one derived from
            # its KEK (``rotation.derive_successor_key``) or kept in its data directory.
            successor_key = secrets.token_bytes(32)
        if len(successor_key) < 32:
            raise ValueError("successor_key must be at least 32 bytes")
        self._rotator = Rotator(
            store=sessions,
            key=successor_key,
            retry_window=config.retry_window,
            idle_ttl=config.refresh_idle_ttl,
        )

    # --- events ---------------------------------------------------------------------------

    def _event(self, name: str, **fields: Any) -> None:
        if self._on_event is not None:
            try:
                self._on_event(name, fields)
            except Exception:  # a broken metrics sink must not fail a login
                _log.exception("event sink failed for %s", name)

    # --- users ----------------------------------------------------------------------------

    async def create_user(self, email: str, password: str, *, is_admin: bool = False) -> UserRecord:
        """Create an account; the password is checked against the policy and hashed.

        Raises:
            ValueError: the email cannot be one. PasswordPolicyError, UserExistsError.
        """
        normalised = normalize_email(email)
        if normalised is None:
            raise ValueError("not an email address")
        user = UserRecord(
            id=str(uuid.uuid4()),
            email=normalised,
            password_hash=await self.hasher.ahash(password),
            is_admin=is_admin,
            created_at=self.clock.now(),
        )
        await self.users.create_user(user)
        self._event("user_created", user_id=user.id)
        return user

    # --- login ----------------------------------------------------------------------------

    async def authenticate(self, email: object, password: object) -> UserRecord:
        """The account these credentials open, with the same work and the same error for
        every failure.

        Raises:
            InvalidCredentialsError: unknown email, wrong password or disabled account.
        """
        normalised = normalize_email(email)
        user = await self.users.user_by_email(normalised) if normalised is not None else None
        candidate = password if isinstance(password, str) else ""
        if user is None:
            await self.hasher.averify_dummy(candidate)
            ok = False
        else:
            ok = await self.hasher.averify(user.password_hash, candidate)
        if not ok or user is None or user.disabled:
            raise InvalidCredentialsError("the email or password is wrong")
        if self.hasher.needs_rehash(user.password_hash):
            await self.users.rehash_password(
                user.id, user.password_hash, await self.hasher.ahash(candidate)
            )
        return user

    async def login(
        self,
        email: object,
        password: object,
        *,
        client_id: str | None = None,
        scope: str | None = None,
    ) -> TokenPair:
        """Check the credentials and start a new session (its own refresh-token family).

        Without ``scope`` the session has no scope (nothing is granted unasked); with one, every
        scope must be configured and granted to the account by its roles.

        Raises:
            InvalidCredentialsError: any credential failure, always the same.
            InvalidScopeError: a scope that is not configured, or beyond the account's roles
                (checked after the credentials, so it tells nothing to a guesser).
            ClaimsHookError: the claims hook failed; no session was started.
            ValueError: an unknown client id (the edge checks it first).
        """
        granted_scope(scope, self.config.scopes)  # malformed or unknown: before any work
        client = self._client(client_id)
        try:
            user = await self.authenticate(email, password)
        except InvalidCredentialsError:
            self._event("login_failed")
            raise
        granted = await self.user_scopes.grant(
            user.id, client_id=client, requested=scope or "", offered=self.config.scopes
        )
        pair = await self.start_session(user, client_id=client, scope=granted)
        self._event("login_succeeded", user_id=user.id, sid=pair.session_id)
        return pair

    async def start_session(
        self,
        user: UserRecord,
        *,
        client_id: str,
        scope: str,
        session_id: str | None = None,
        limits: SessionLimits | None = None,
    ) -> TokenPair:
        """Start a session (a new refresh-token family) for an authenticated ``user``: a
        login, or an authorization code's redemption (``oauth.grants.authorization_code``,
        which fixes ``session_id`` beforehand so that a replay of the code can revoke it).
        ``scope`` is already granted (``user_scopes.grant``: requested, the client's and the
        account's roles); ``limits`` are the client's (within the server's).

        Raises:
            ClaimsHookError: the claims hook failed; no session was started.
        """
        extra = await hook_claims(self.claims_hook, user, client_id, scope)
        now = self.clock.now()
        absolute = self.config.refresh_absolute_ttl
        if limits is not None and limits.refresh_absolute_ttl is not None:
            absolute = min(absolute, limits.refresh_absolute_ttl)
        session = SessionRecord(
            id=session_id or secrets.token_urlsafe(16),
            user_id=user.id,
            client_id=client_id,
            scope=scope,
            auth_version=user.auth_version,
            created_at=now,
            expires_at=now + absolute,
        )
        access, claims = mint_access(
            self.minter, self.config, session, user.auth_version, scope, limits, extra
        )
        refresh, digest = new_refresh_token()
        idle = idle_ttl(self.config, limits)
        first = NewRefreshToken(
            token_hash=digest, issued_at=now, expires_at=min(now + idle, session.expires_at)
        )
        await self.sessions.create_session(session, first)
        return token_pair(self.config, access, claims, refresh, session, scope, limits)

    # --- refresh --------------------------------------------------------------------------

    async def refresh(
        self,
        refresh_token: object,
        *,
        scope: str | None = None,
        client_id: str | None = None,
        limits: SessionLimits | None = None,
        session: SessionRecord | None = None,
    ) -> TokenPair:
        """Spend ``refresh_token`` and return the next pair (RFC 6749 section 6).

        A retry of a refresh whose successor has not been used yet, within
        ``retry_window`` seconds, gets the same successor back with a new access token (so a
        lost response, a client timeout or concurrent refreshes of one token never end the
        session); see ``sessions.rotation``.

        ``scope`` may narrow the session's scope for this access token, never widen it.
        ``client_id`` is the client presenting the token (the authenticated client, or the
        one a public client names); when given it must be the session's: RFC 6749 6 and 10.4
        bind a refresh token to the client it was issued to. A token of another client is
        refused (``InvalidRefreshTokenError``, ``invalid_grant``) and stays as it was.
        ``limits``: the presenting client's audiences and lifetimes (within the server's).
        ``session``: the token's session if the caller has read it already (``session_for``;
        cookie mode checks its CSRF binding first), so it is not read twice; the spend still
        decides, and a session that is not the spent token's refuses the refresh.

        The scope is also narrowed to what the account's roles grant now: a role removed since
        the login is gone from the next access token (``scope`` in the answer says so, RFC 6749
        5.1), and naming its scope explicitly is ``invalid_scope``.

        Raises:
            InvalidRefreshTokenError: unknown, expired, another client's, or the session ended.
            RefreshTokenReuseError: the token was already spent; the session is now revoked.
            InvalidScopeError: ``scope`` asks for more than the session was granted, or for a
                scope the account's roles no longer grant.
            ClaimsHookError: the claims hook failed; the token stays as it was.
        """
        digest = refresh_token_hash(refresh_token)
        if digest is None or not isinstance(refresh_token, str):
            raise InvalidRefreshTokenError("the refresh token is not valid")
        read = session
        allowed, extra = await refresh_inputs(
            digest, self.sessions, self.users, self.user_scopes, self.claims_hook, session=read
        )

        def mint(session: SessionRecord) -> Minted:
            # Inside the store's transaction: raising here rolls the spend back. Called only
            # for a spend or a retry, so a refused scope never hides reuse detection.
            if read is not None and read.id != session.id:
                # The scopes and claims were read for another session: never mint with them.
                raise InvalidRefreshTokenError("the refresh token is not valid")
            narrowed = self.user_scopes.narrow(session.scope, scope, allowed)
            token, claims = mint_access(
                self.minter, self.config, session, session.auth_version, narrowed, limits, extra
            )
            return Minted(access_token=token, claims=claims, scope=narrowed)

        outcome = await self._rotator.refresh(
            refresh_token,
            digest,
            now=self.clock.now(),
            client_id=client_id,
            mint=mint,
            idle_ttl=idle_ttl(self.config, limits),
        )
        verdict, session = outcome.verdict, outcome.session
        if outcome.minted is not None and session is not None:
            assert outcome.refresh_token is not None
            minted = outcome.minted
            self._event("refreshed", sid=session.id, retry=verdict is Verdict.RETRIED)
            return token_pair(
                self.config,
                minted.access_token,
                minted.claims,
                outcome.refresh_token,
                session,
                minted.scope,
                limits,
            )
        if verdict is Verdict.REUSED and session is not None:
            _log.warning(
                "refresh token reuse detected; session revoked",
                extra={"event": "refresh_token_reuse", "sid": session.id, "user": session.user_id},
            )
            self._event("reuse_detected", sid=session.id, user_id=session.user_id)
            await self._deny_session(session.id)
            raise RefreshTokenReuseError("the refresh token was already used; the session ended")
        self._event("refresh_refused", reason=verdict.value)
        if verdict is Verdict.OTHER_CLIENT:
            raise InvalidRefreshTokenError("the refresh token was issued to another client")
        raise InvalidRefreshTokenError("the refresh token is not valid")

    # --- ending sessions ------------------------------------------------------------------

    async def logout(
        self,
        *,
        refresh_token: object = None,
        session_id: str | None = None,
        reason: str = "logout",
    ) -> bool:
        """End the session named by a refresh token (spent or live) or by a ``sid``.

        Returns whether a session was found. Its live access tokens are denied by ``sid``.
        """
        now = self.clock.now()
        session: SessionRecord | None = None
        digest = refresh_token_hash(refresh_token) if refresh_token is not None else None
        if digest is not None:
            session = await self.sessions.revoke_by_token(digest, now=now, reason=reason)
        if session is None and session_id:
            session = await self.sessions.revoke_session(session_id, now=now, reason=reason)
        if session is None:
            return False
        await self._deny_session(session.id)
        self._event("session_revoked", sid=session.id, reason=reason)
        return True

    async def session_of(self, refresh_token: object) -> str | None:
        """The id of the session a refresh token (live or spent) belongs to, or ``None`` if
        it is not one of ours; changes nothing. Cookie mode binds its CSRF token to it and
        checks the binding before the token is spent (``server.cookies``)."""
        session = await self.session_for(refresh_token)
        return None if session is None else session.id

    async def session_for(self, refresh_token: object) -> SessionRecord | None:
        """The session a refresh token (live or spent) belongs to, or ``None`` if it is not
        one of ours; changes nothing. A refresh given it (``refresh(session=...)``) does not
        read it again."""
        digest = refresh_token_hash(refresh_token)
        if digest is None:
            return None
        return await self.sessions.session_by_token(digest)

    async def revoke_refresh_token(self, refresh_token: object) -> bool:
        """RFC 7009 for a refresh token: end its session. ``False`` if it is not ours."""
        digest = refresh_token_hash(refresh_token)
        if digest is None:
            return False
        session = await self.sessions.revoke_by_token(
            digest, now=self.clock.now(), reason="revoked"
        )
        if session is None:
            return False
        await self._deny_session(session.id)
        self._event("session_revoked", sid=session.id, reason="revoked")
        return True

    async def revoke_access_token(self, claims: Mapping[str, Any]) -> bool:
        """RFC 7009 for a verified access token: deny its ``jti`` until it would expire."""
        jti, exp = claims.get("jti"), claims.get("exp")
        if type(jti) is not str or not isinstance(exp, int | float):
            return False
        await self.denylist.deny_token(jti, until=float(exp) + self.config.deny_leeway)
        self._event("access_token_revoked")
        return True

    async def end_all_sessions(self, user_id: str, *, reason: str) -> int:
        """End every session of a user and deny their access tokens; how many ended."""
        ended = await self.sessions.revoke_user_sessions(
            user_id, now=self.clock.now(), reason=reason
        )
        for session in ended:
            await self._deny_session(session.id)
        self._event("sessions_ended", user_id=user_id, count=len(ended), reason=reason)
        return len(ended)

    async def change_password(self, user_id: str, current: object, new: object) -> int:
        """Change a password: check the current one, bump the auth version (every access
        token carries it, so all of them stop verifying), and end every session.

        Returns the new auth version.

        Raises:
            InvalidCredentialsError: the current password is wrong.
            PasswordPolicyError: the new password does not meet the policy.
        """
        user = await self.users.user_by_id(user_id)
        candidate = current if isinstance(current, str) else ""
        if user is None or user.disabled:
            await self.hasher.averify_dummy(candidate)
            raise InvalidCredentialsError("the current password is wrong")
        if not await self.hasher.averify(user.password_hash, candidate):
            raise InvalidCredentialsError("the current password is wrong")
        if not isinstance(new, str):
            raise ValueError("the new password must be a string")
        new_hash = await self.hasher.ahash(new)
        version = await self.users.set_password(user.id, new_hash)
        if version is None:
            raise InvalidCredentialsError("the account no longer exists")
        await self.end_all_sessions(user.id, reason="password_changed")
        self._event("password_changed", user_id=user.id)
        return version

    async def set_disabled(self, user_id: str, disabled: bool) -> bool:
        """Disable (or enable) an account; disabling ends every session. Whether it exists."""
        version = await self.users.set_disabled(user_id, disabled)
        if version is None:
            return False
        if disabled:
            await self.end_all_sessions(user_id, reason="disabled")
        return True

    # --- helpers --------------------------------------------------------------------------

    async def _deny_session(self, sid: str) -> None:
        until = self.clock.now() + self.config.access_token_ttl + self.config.deny_leeway
        try:
            await self.denylist.deny_session(sid, until=until)
        except Exception as exc:
            # The session itself is revoked in the database; only its live access tokens
            # (at most one access-token lifetime) escape. Loud, counted, not swallowed.
            _log.error(
                "could not deny the access tokens of a revoked session",
                extra={"event": "deny_session_failed", "sid": sid, "error": type(exc).__name__},
            )
            self._event("deny_failed", sid=sid)
            raise

    def _client(self, client_id: str | None) -> str:
        if client_id is None or client_id == self.config.client_id:
            return self.config.client_id
        if client_id not in self.config.client_ids:
            raise ValueError("unknown client_id")
        return client_id
