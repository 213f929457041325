"""The session service's storage ports: one ``Protocol`` per concern, contracts in docstrings.

Records are keyed by a hash of the refresh token, never by the token itself (a database dump
must not yield usable tokens). Adapters live in ``jwtwarden.stores`` (memory, SQL); the memory
adapter is the reference every other adapter is tested against.

A session is one login: one *family* of refresh tokens, each minted by spending the one
before it (RFC 6819 5.2.2.3, RFC 9700 4.14.2). At most one token of a family is live.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "NewRefreshToken",
    "SessionRecord",
    "SessionStore",
    "SessionTransaction",
    "TokenState",
    "UserRecord",
    "UserStore",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class UserRecord:
    """An account. ``id`` is the token ``sub``; the email is never put in a token (only an ID
    token's or userinfo's ``email`` claim, with ``email_verified``, OpenID Connect Core 5.1).

    ``email_verified`` is true once the owner of ``email`` followed a verification link sent
    to it (or an administrator created the account); changing the email clears it.
    """

    id: str
    email: str
    password_hash: str = field(repr=False)
    auth_version: int = 1
    is_admin: bool = False
    disabled: bool = False
    created_at: float = 0.0
    email_verified: bool = False
    pending_email: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionRecord:
    """One login (a refresh-token family). ``id`` is the ``sid`` claim of its access tokens.

    ``auth_version`` is the user's auth version when the session started: a session whose
    user's version has moved on (password change, account disabled) can no longer refresh.
    ``expires_at`` is the absolute lifetime; each refresh token also has an idle expiry.
    """

    id: str
    user_id: str
    client_id: str
    scope: str
    auth_version: int
    created_at: float
    expires_at: float
    revoked_at: float | None = None
    revoke_reason: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class NewRefreshToken:
    """A refresh token about to be stored: only its SHA-256 hash and its times."""

    token_hash: bytes = field(repr=False)
    issued_at: float
    expires_at: float


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenState:
    """A refresh token as the store holds it, with its session and user: what the session
    service judges a refused refresh by (``sessions.rotation.judge``).

    ``user_version`` is the user's auth version, ``None`` when the user is disabled or gone.
    ``replaced_by`` is the hash of the token's successor (set when it was spent by a refresh,
    ``None`` when it was spent by a revocation); ``successor_spent_at`` is when that successor
    was spent in turn (``None``: still unspent, or no successor).
    """

    session: SessionRecord
    spent_at: float | None
    expires_at: float
    replaced_by: bytes | None = field(default=None, repr=False)
    successor_spent_at: float | None = None
    user_version: int | None = None

    @property
    def ended(self) -> bool:
        """The session can never refresh again: revoked, user disabled or gone, or the user's
        auth version has moved on (password change, disable)."""
        return self.session.revoked_at is not None or self.user_version != self.session.auth_version

    def alive(self, now: float) -> bool:
        """The session may still refresh at ``now``: not ended, not past its absolute expiry."""
        return not self.ended and self.session.expires_at > now

    def spendable(self, now: float) -> bool:
        """The condition of ``SessionTransaction.spend``, in one place: unspent, within its
        idle lifetime, and its session alive. (The SQL adapter writes the same condition in
        its ``UPDATE ... WHERE`` so that the check and the spend are one atomic statement.)"""
        return self.spent_at is None and self.expires_at > now and self.alive(now)


@runtime_checkable
class UserStore(Protocol):
    """Accounts. Emails are stored normalised by the caller (``sessions.service``)."""

    async def create_user(self, user: UserRecord) -> None:
        """Insert ``user``. Raises ``UserExistsError`` if the email (or id) is taken."""
        ...

    async def user_by_email(self, email: str) -> UserRecord | None:
        """The account with exactly this (normalised) email, or ``None``."""
        ...

    async def user_by_id(self, user_id: str) -> UserRecord | None:
        """The account with this id, or ``None``."""
        ...

    async def auth_version(self, user_id: str) -> int | None:
        """The current auth version of an enabled account; ``None`` if unknown or disabled."""
        ...

    async def set_password(self, user_id: str, password_hash: str) -> int | None:
        """Replace the password hash and bump the auth version by one, atomically.

        Returns the new auth version, or ``None`` if there is no such user. Every session
        started before the bump stops refreshing at once (see ``TokenState.ended``).
        """
        ...

    async def rehash_password(self, user_id: str, old_hash: str, new_hash: str) -> None:
        """Replace ``old_hash`` by ``new_hash`` (stronger parameters) without bumping the auth
        version; does nothing if the stored hash is no longer ``old_hash``."""
        ...

    async def set_disabled(self, user_id: str, disabled: bool) -> int | None:
        """Disable or enable an account; the auth version or None for an unknown account.

        The version is bumped only when the state changes: enabling an enabled account (or
        disabling a disabled one) keeps it, so it does not silently end every session."""
        ...

    async def list_users(self, *, limit: int, offset: int) -> list[UserRecord]:
        """Accounts ordered by creation time then id."""
        ...

    async def delete_user(self, user_id: str) -> bool:
        """Delete the account and everything stored for it (its sessions, refresh tokens and
        role assignments); whether it existed. Its access tokens stop verifying at once: the
        auth-version check finds no account (``revocation.checks.AuthVersionCheck``)."""
        ...

    async def set_email_verified(self, user_id: str, email: str) -> bool:
        """Mark the account's email verified if it is still ``email`` (a link sent to an old
        address must not verify a new one); whether it was marked."""
        ...

    async def set_pending_email(self, user_id: str, email: str | None) -> bool:
        """Record (or clear) the address an e-mail change waits to verify; whether the
        account exists. A new request replaces the old one, whose link is then dead."""
        ...

    async def confirm_email(self, user_id: str, email: str) -> bool:
        """Make the pending address ``email`` the account's (verified), if it is still the
        pending one; whether it was changed.

        Raises:
            UserExistsError: another account has that address by now.
        """
        ...


class SessionTransaction(Protocol):
    """The plain operations of a refresh, inside one ``SessionStore.transaction()``.

    The store answers and never decides: which refusal a token gets, whether a spent token is
    a retry or reuse, and what is minted are the session service's (``sessions.rotation``).
    """

    async def spend(
        self, token_hash: bytes, successor: NewRefreshToken, *, now: float
    ) -> SessionRecord | None:
        """The hot path: spend the token and insert its successor, if and only if the token
        is ``TokenState.spendable(now)``; the check and the spend are one atomic step.

        Marks the token spent (``spent_at = now``, ``replaced_by = successor.token_hash``),
        inserts ``successor`` with its ``expires_at`` capped at the session's absolute expiry,
        and returns the session. Otherwise changes nothing and returns ``None``. Of N
        concurrent spends of one token, exactly one returns a session; the others wait for its
        transaction and then find the token spent (a conditional update,
        ``... WHERE spent_at IS NULL``).
        """
        ...

    async def token_state(self, token_hash: bytes) -> TokenState | None:
        """The token with its session, user and successor, or ``None``; changes nothing."""
        ...

    async def revoke_family(self, session_id: str, *, now: float, reason: str) -> None:
        """Revoke the session (if still live: ``revoked_at``, ``revoke_reason``) and spend
        every unspent token of its family."""
        ...


@runtime_checkable
class SessionStore(Protocol):
    """Sessions and their refresh-token families.

    Sessions and refresh tokens share one port on purpose: spending a token, detecting reuse
    and issuing the next one must happen in one transaction (RFC 9700 4.14.2), and a port
    split across two stores could not promise that.
    """

    async def create_session(self, session: SessionRecord, first: NewRefreshToken) -> None:
        """Store a new session and its first refresh token, atomically."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[SessionTransaction]:
        """One unit of work (one database transaction; the memory store: its lock): committed
        when the block ends, rolled back, every operation undone, when it raises.

        The session service mints the access token inside the block, so a failure after the
        spend (a signing error, a refused scope or client) leaves the presented token live,
        never half spent.
        """
        ...

    async def get_session(self, session_id: str) -> SessionRecord | None:
        """The session with this id (revoked or not), or ``None``."""
        ...

    async def session_by_token(self, token_hash: bytes) -> SessionRecord | None:
        """The session that the refresh token (spent or live) belongs to, or ``None``;
        changes nothing. A token belongs to one session for its whole life."""
        ...

    async def revoke_session(
        self, session_id: str, *, now: float, reason: str
    ) -> SessionRecord | None:
        """End a session: mark it revoked and spend every live token of its family.
        Returns the session as it was (``None`` if unknown); idempotent."""
        ...

    async def revoke_by_token(
        self, token_hash: bytes, *, now: float, reason: str
    ) -> SessionRecord | None:
        """End the session that the refresh token (spent or live) belongs to; as above."""
        ...

    async def revoke_user_sessions(
        self, user_id: str, *, now: float, reason: str
    ) -> list[SessionRecord]:
        """End every session of a user; returns the sessions that were still live."""
        ...

    async def purge(self, *, now: float) -> int:
        """Delete sessions (and their tokens) whose absolute expiry has passed; a count."""
        ...
