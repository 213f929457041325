"""The session service's storage ports: one ``Protocol`` per concern, contracts in docstrings.

Records are keyed by a hash of the refresh token, never by the token itself (a database dump
must not yield usable tokens). Adapters live in ``jwtwarden.stores`` (memory, SQL); the memory
adapter is the reference every other adapter is tested against.

A session is one login: one *family* of refresh tokens, each minted by spending the one
before it (RFC 6819 5.2.2.3, RFC 9700 4.14.2). At most one token of a family is live.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar, runtime_checkable

__all__ = [
    "ActiveSession",
    "NewRefreshToken",
    "RotateResult",
    "RotateStatus",
    "SessionRecord",
    "SessionStore",
    "UserRecord",
    "UserStore",
]

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True, slots=True)
class UserRecord:
    """An account. ``id`` is the token ``sub``; the email is never put in a token."""

    id: str
    email: str
    password_hash: str = field(repr=False)
    auth_version: int = 1
    is_admin: bool = False
    disabled: bool = False
    created_at: float = 0.0


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
class ActiveSession:
    """What a successful spend hands to the ``issue`` callback, inside the transaction."""

    session: SessionRecord
    auth_version: int
    via_grace: bool = False


class RotateStatus(enum.StrEnum):
    ROTATED = "rotated"  # spent and replaced; the callback's value is in ``value``
    UNKNOWN = "unknown"  # no such token
    EXPIRED = "expired"  # idle or absolute lifetime over
    ENDED = "ended"  # session revoked, user disabled/deleted, or auth version moved on
    REUSED = "reused"  # a spent token: the session has just been revoked (same transaction)


@dataclass(frozen=True, kw_only=True, slots=True)
class RotateResult(Generic[T]):
    status: RotateStatus
    session: SessionRecord | None = None
    value: T | None = None
    via_grace: bool = False


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
        started before the bump stops refreshing at once (see ``SessionStore.rotate``).
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

    async def rotate(
        self,
        token_hash: bytes,
        new: NewRefreshToken,
        *,
        now: float,
        grace: float,
        issue: Callable[[ActiveSession], Awaitable[T]],
    ) -> RotateResult[T]:
        """Spend the token with ``token_hash`` and store ``new`` in its place, in one
        transaction, then call ``issue`` *before* committing.

        Contract:
          - Live token (unspent, not expired, session not revoked and not expired, user
            enabled, user's auth version equal to the session's): mark it spent, insert
            ``new`` (its ``expires_at`` capped at the session's absolute expiry), await
            ``issue(ActiveSession)`` and commit; ``ROTATED`` with the callback's value.
            If ``issue`` raises, or anything fails before the commit, everything is rolled
            back and the presented token is still live (no half-spent state).
          - Of N concurrent calls with the same live token exactly one is ``ROTATED``; the
            spend is a conditional update (``... WHERE spent_at IS NULL``).
          - Spent token of a session already revoked: ``ENDED`` (nothing changes).
          - Spent token of a live session: ``grace`` > 0 and this token's direct successor
            is the family's live token and it was spent at most ``grace`` seconds ago: the
            successor is spent instead and ``new`` replaces it (``ROTATED``, ``via_grace``).
            Otherwise this is reuse: the session is revoked (reason ``reuse``) and every
            token of the family spent, committed, and ``REUSED`` is returned with it.
          - ``UNKNOWN``, ``EXPIRED``, ``ENDED``: nothing changes.
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
