"""In-memory reference adapters for the session ports (one process; tests, embedding).

Every other adapter is tested against the same contract suite as these. Atomicity comes from
one ``asyncio.Lock``; a rotation whose ``issue`` callback fails restores what it changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from ...errors import UserExistsError
from ...sessions.ports import (
    ActiveSession,
    NewRefreshToken,
    RotateResult,
    RotateStatus,
    SessionRecord,
    UserRecord,
)

__all__ = ["MemorySessionStore", "MemoryUserStore"]

T = TypeVar("T")


class MemoryUserStore:
    """``UserStore`` in a dict."""

    def __init__(self) -> None:
        self._by_id: dict[str, UserRecord] = {}
        self._by_email: dict[str, str] = {}
        self._lock = asyncio.Lock()

    async def create_user(self, user: UserRecord) -> None:
        async with self._lock:
            if user.email in self._by_email or user.id in self._by_id:
                raise UserExistsError("an account with this email already exists")
            self._by_id[user.id] = user
            self._by_email[user.email] = user.id

    async def user_by_email(self, email: str) -> UserRecord | None:
        user_id = self._by_email.get(email)
        return self._by_id.get(user_id) if user_id is not None else None

    async def user_by_id(self, user_id: str) -> UserRecord | None:
        return self._by_id.get(user_id)

    async def auth_version(self, user_id: str) -> int | None:
        user = self._by_id.get(user_id)
        return None if user is None or user.disabled else user.auth_version

    def current(self, user_id: str) -> UserRecord | None:
        """Synchronous read for the session store (same process)."""
        return self._by_id.get(user_id)

    async def set_password(self, user_id: str, password_hash: str) -> int | None:
        async with self._lock:
            user = self._by_id.get(user_id)
            if user is None:
                return None
            user = replace(user, password_hash=password_hash, auth_version=user.auth_version + 1)
            self._by_id[user_id] = user
            return user.auth_version

    async def rehash_password(self, user_id: str, old_hash: str, new_hash: str) -> None:
        async with self._lock:
            user = self._by_id.get(user_id)
            if user is not None and user.password_hash == old_hash:
                self._by_id[user_id] = replace(user, password_hash=new_hash)

    async def set_disabled(self, user_id: str, disabled: bool) -> int | None:
        async with self._lock:
            user = self._by_id.get(user_id)
            if user is None:
                return None
            if user.disabled == disabled:
                return user.auth_version  # no change of state, no new version
            user = replace(user, disabled=disabled, auth_version=user.auth_version + 1)
            self._by_id[user_id] = user
            return user.auth_version

    async def list_users(self, *, limit: int, offset: int) -> list[UserRecord]:
        users = sorted(self._by_id.values(), key=lambda u: (u.created_at, u.id))
        return users[offset : offset + limit]


@dataclass(slots=True)
class _Token:
    session_id: str
    issued_at: float
    expires_at: float
    spent_at: float | None = None
    replaced_by: bytes | None = None


class MemorySessionStore:
    """``SessionStore`` in dicts, reading users from a ``MemoryUserStore``."""

    def __init__(self, users: MemoryUserStore) -> None:
        self._users = users
        self._sessions: dict[str, SessionRecord] = {}
        self._tokens: dict[bytes, _Token] = {}
        self._family: dict[str, list[bytes]] = {}
        self._lock = asyncio.Lock()

    async def create_session(self, session: SessionRecord, first: NewRefreshToken) -> None:
        async with self._lock:
            self._sessions[session.id] = session
            self._insert(session.id, first, session.expires_at)

    def _insert(self, sid: str, new: NewRefreshToken, session_expires: float) -> None:
        self._tokens[new.token_hash] = _Token(
            session_id=sid,
            issued_at=new.issued_at,
            expires_at=min(new.expires_at, session_expires),
        )
        self._family.setdefault(sid, []).append(new.token_hash)

    def _alive(self, session: SessionRecord, now: float) -> int | None:
        """The user's auth version if the session may still refresh, else None."""
        if session.revoked_at is not None:
            return None
        user = self._users.current(session.user_id)
        if user is None or user.disabled or user.auth_version != session.auth_version:
            return None
        return user.auth_version

    async def rotate(
        self,
        token_hash: bytes,
        new: NewRefreshToken,
        *,
        now: float,
        grace: float,
        issue: Callable[[ActiveSession], Awaitable[T]],
    ) -> RotateResult[T]:
        async with self._lock:
            token = self._tokens.get(token_hash)
            if token is None:
                return RotateResult(status=RotateStatus.UNKNOWN)
            session = self._sessions[token.session_id]
            target, via_grace = token_hash, False
            if token.spent_at is not None:
                if session.revoked_at is not None:
                    # Already ended (logout, revocation, an earlier reuse): nothing to detect.
                    return RotateResult(status=RotateStatus.ENDED, session=session)
                successor = self._tokens.get(token.replaced_by) if token.replaced_by else None
                # A retry rescues only a session that may still refresh (as the SQL store's
                # conditional spend): a spent token of any other session is reuse.
                if (
                    grace > 0
                    and successor is not None
                    and successor.spent_at is None
                    and now - token.spent_at <= grace
                    and self._alive(session, now) is not None
                ):
                    assert token.replaced_by is not None
                    target, via_grace = token.replaced_by, True
                else:
                    self._revoke(session, now, "reuse")
                    return RotateResult(status=RotateStatus.REUSED, session=session)
            live = self._tokens[target]
            version = self._alive(session, now)
            if version is None:
                return RotateResult(status=RotateStatus.ENDED, session=session)
            if live.expires_at <= now or session.expires_at <= now:
                return RotateResult(status=RotateStatus.EXPIRED, session=session)
            saved_live, saved_token = replace(live), replace(token)
            live.spent_at, live.replaced_by = now, new.token_hash
            if via_grace:
                # One retry per lost response: neither token can be retried again (see the
                # SQL store's _END_GRACE for the attack this stops).
                live.replaced_by = token.replaced_by = None
            self._insert(session.id, new, session.expires_at)
            try:
                value = await issue(
                    ActiveSession(session=session, auth_version=version, via_grace=via_grace)
                )
            except BaseException:
                # Roll back: the presented token is live again, the new one never existed.
                self._tokens[token_hash] = saved_token
                self._tokens[target] = saved_live if via_grace else saved_token
                del self._tokens[new.token_hash]
                self._family[session.id].remove(new.token_hash)
                raise
            return RotateResult(
                status=RotateStatus.ROTATED, session=session, value=value, via_grace=via_grace
            )

    def _revoke(self, session: SessionRecord, now: float, reason: str) -> SessionRecord:
        if session.revoked_at is None:
            self._sessions[session.id] = replace(session, revoked_at=now, revoke_reason=reason)
        for digest in self._family.get(session.id, ()):
            tok = self._tokens[digest]
            if tok.spent_at is None:
                tok.spent_at = now
        return session

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return self._sessions.get(session_id)

    async def session_by_token(self, token_hash: bytes) -> SessionRecord | None:
        token = self._tokens.get(token_hash)
        return None if token is None else self._sessions.get(token.session_id)

    async def revoke_session(
        self, session_id: str, *, now: float, reason: str
    ) -> SessionRecord | None:
        async with self._lock:
            session = self._sessions.get(session_id)
            return None if session is None else self._revoke(session, now, reason)

    async def revoke_by_token(
        self, token_hash: bytes, *, now: float, reason: str
    ) -> SessionRecord | None:
        async with self._lock:
            token = self._tokens.get(token_hash)
            if token is None:
                return None
            return self._revoke(self._sessions[token.session_id], now, reason)

    async def revoke_user_sessions(
        self, user_id: str, *, now: float, reason: str
    ) -> list[SessionRecord]:
        async with self._lock:
            live = [
                s for s in self._sessions.values() if s.user_id == user_id and s.revoked_at is None
            ]
            for session in live:
                self._revoke(session, now, reason)
            return live

    async def purge(self, *, now: float) -> int:
        async with self._lock:
            gone = [sid for sid, s in self._sessions.items() if s.expires_at <= now]
            for sid in gone:
                del self._sessions[sid]
                for digest in self._family.pop(sid, ()):
                    self._tokens.pop(digest, None)
            return len(gone)
