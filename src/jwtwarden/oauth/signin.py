"""Sign-in sessions of the hosted pages: who is signed in to the authorization server in a
browser, and since when (OpenID Connect ``auth_time``), so a user already signed in is not
asked again (``prompt=login`` forces it, ``max_age`` bounds it).

A sign-in session is a row, not a sealed cookie, so every server process accepts it and it can
be revoked (sign out, sign out everywhere, a password change). The cookie holds 256 random bits;
the row keeps their SHA-256 (``token_hash``) and a separate, non-secret ``id`` that pages and
codes refer to. A session also records the user's ``auth_version`` when it began: a password
change or a disabled account ends it (the edge compares with the user's current version).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "SIGNIN_TOKEN_PREFIX",
    "SignInSession",
    "SignInSessionStore",
    "new_signin_token",
    "signin_token_hash",
]

SIGNIN_TOKEN_PREFIX = "jwtw_si_"
_SHAPE = re.compile(r"jwtw_si_[A-Za-z0-9_-]{43}")


@dataclass(frozen=True, kw_only=True, slots=True)
class SignInSession:
    """One browser sign-in. ``id`` is not secret (it names the session on the account page
    and on codes); ``token_hash`` is SHA-256 of the cookie's value."""

    id: str
    token_hash: bytes = field(repr=False)
    user_id: str
    auth_version: int
    auth_time: float
    created_at: float
    expires_at: float
    revoked_at: float | None = None

    def live(self, now: float) -> bool:
        return self.revoked_at is None and self.expires_at > now


def new_signin_token() -> tuple[str, bytes]:
    """A new cookie value and its SHA-256."""
    token = SIGNIN_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode("ascii")).digest()


def signin_token_hash(token: object) -> bytes | None:
    """The storage hash of a presented cookie value, or ``None`` if it cannot be ours."""
    if not isinstance(token, str) or _SHAPE.fullmatch(token) is None:
        return None
    return hashlib.sha256(token.encode("ascii")).digest()


@runtime_checkable
class SignInSessionStore(Protocol):
    """Sign-in sessions. Adapters: ``stores.memory.MemoryAuthorizationStore`` (the reference)
    and ``stores.sql.SQLAuthorizationStore``."""

    async def create_signin(self, session: SignInSession) -> None:
        """Store a new sign-in session."""
        ...

    async def signin_by_token(self, token_hash: bytes, *, now: float) -> SignInSession | None:
        """The live (unrevoked, unexpired) session of this cookie hash, or ``None``."""
        ...

    async def user_signins(self, user_id: str, *, now: float) -> list[SignInSession]:
        """The user's live sessions, newest first (the account page)."""
        ...

    async def revoke_signin(self, session_id: str, *, now: float) -> bool:
        """End one session; whether it was live."""
        ...

    async def revoke_user_signins(self, user_id: str, *, now: float) -> int:
        """End every live session of a user; how many."""
        ...

    async def purge_signins(self, *, before: float) -> int:
        """Delete sessions that expired before ``before``; how many."""
        ...
