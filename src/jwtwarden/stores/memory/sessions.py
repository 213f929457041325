"""In-memory reference adapters for the session ports (one process; tests, embedding).

Every other adapter is tested against the same contract suite as these. Atomicity comes from
one ``asyncio.Lock``, held for a whole ``transaction()``; a transaction that raises undoes
what it changed.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from ...errors import UserExistsError
from ...sessions.ports import NewRefreshToken, SessionRecord, TokenState, UserRecord

__all__ = ["MemorySessionStore", "MemoryUserStore"]


class MemoryUserStore:
    """``UserStore`` in a dict."""

    def __init__(self) -> None:
        self._by_id: dict[str, UserRecord] = {}
        self._by_email: dict[str, str] = {}
        self._lock = asyncio.Lock()
        # The stores keeping data of an account (sessions, roles): told when it is deleted,
        # as the SQL schema's ON DELETE CASCADE does.
        self._on_delete: list[Callable[[str], None]] = []

    def on_delete(self, forget: Callable[[str], None]) -> None:
        """Call ``forget(user_id)`` when an account is deleted (same process)."""
        self._on_delete.append(forget)

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

    async def delete_user(self, user_id: str) -> bool:
        async with self._lock:
            user = self._by_id.pop(user_id, None)
            if user is None:
                return False
            del self._by_email[user.email]
            for forget in self._on_delete:
                forget(user_id)
            return True

    async def set_pending_email(self, user_id: str, email: str | None) -> bool:
        async with self._lock:
            user = self._by_id.get(user_id)
            if user is None:
                return False
            self._by_id[user_id] = replace(user, pending_email=email)
            return True

    async def confirm_email(self, user_id: str, email: str) -> bool:
        async with self._lock:
            user = self._by_id.get(user_id)
            if user is None or user.pending_email != email:
                return False
            if self._by_email.get(email, user_id) != user_id:
                raise UserExistsError("an account with this email already exists")
            del self._by_email[user.email]
            self._by_email[email] = user_id
            self._by_id[user_id] = replace(
                user, email=email, pending_email=None, email_verified=True
            )
            return True

    async def set_email_verified(self, user_id: str, email: str) -> bool:
        async with self._lock:
            user = self._by_id.get(user_id)
            if user is None or user.email != email:
                return False
            self._by_id[user_id] = replace(user, email_verified=True)
            return True


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
        users.on_delete(self._forget_user)

    def _forget_user(self, user_id: str) -> None:
        # Called under the user store's lock, never this one's: plain dict edits, no await.
        for sid in [sid for sid, s in self._sessions.items() if s.user_id == user_id]:
            del self._sessions[sid]
            for digest in self._family.pop(sid, ()):
                self._tokens.pop(digest, None)

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

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_MemoryTransaction]:
        async with self._lock:
            tx = _MemoryTransaction(self)
            try:
                yield tx
            except BaseException:
                tx.rollback()  # the presented token is live again, the successor never existed
                raise

    def _state(self, token_hash: bytes) -> TokenState | None:
        token = self._tokens.get(token_hash)
        if token is None:
            return None
        session = self._sessions[token.session_id]
        user = self._users.current(session.user_id)
        successor = self._tokens.get(token.replaced_by) if token.replaced_by else None
        return TokenState(
            session=session,
            spent_at=token.spent_at,
            expires_at=token.expires_at,
            replaced_by=token.replaced_by,
            successor_spent_at=None if successor is None else successor.spent_at,
            user_version=None if user is None or user.disabled else user.auth_version,
        )

    def _revoke(
        self, session: SessionRecord, now: float, reason: str, undo: list[_Undo] | None = None
    ) -> SessionRecord:
        if session.revoked_at is None:
            self._sessions[session.id] = replace(session, revoked_at=now, revoke_reason=reason)
            if undo is not None:
                undo.append(lambda: self._sessions.__setitem__(session.id, session))
        for digest in self._family.get(session.id, ()):
            tok = self._tokens[digest]
            if tok.spent_at is None:
                tok.spent_at = now
                if undo is not None:
                    undo.append(functools.partial(setattr, tok, "spent_at", None))
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


_Undo = Callable[[], object]


class _MemoryTransaction:
    """``SessionTransaction`` over a ``MemorySessionStore`` whose lock the caller holds; each
    change records how to undo it, for a rollback."""

    def __init__(self, store: MemorySessionStore) -> None:
        self._store = store
        self._undo: list[_Undo] = []

    async def spend(
        self, token_hash: bytes, successor: NewRefreshToken, *, now: float
    ) -> SessionRecord | None:
        store = self._store
        state = store._state(token_hash)
        if state is None or not state.spendable(now):
            return None
        token = store._tokens[token_hash]
        token.spent_at, token.replaced_by = now, successor.token_hash
        store._insert(state.session.id, successor, state.session.expires_at)

        def undo() -> None:
            token.spent_at = token.replaced_by = None
            del store._tokens[successor.token_hash]
            store._family[state.session.id].remove(successor.token_hash)

        self._undo.append(undo)
        return state.session

    async def token_state(self, token_hash: bytes) -> TokenState | None:
        return self._store._state(token_hash)

    async def revoke_family(self, session_id: str, *, now: float, reason: str) -> None:
        session = self._store._sessions.get(session_id)
        if session is not None:
            self._store._revoke(session, now, reason, self._undo)

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()
