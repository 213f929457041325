"""In-memory reference adapter of ``oauth.signin_links.SignInLinkStore``."""

from __future__ import annotations

__all__ = ["MemorySignInLinkStore"]


class MemorySignInLinkStore:
    """Links in a dict: refresh session id -> (sign-in session id, expiry)."""

    def __init__(self) -> None:
        self._links: dict[str, tuple[str, float]] = {}

    async def link(self, signin_session_id: str, session_id: str, *, expires_at: float) -> None:
        if session_id in self._links:
            raise ValueError("this refresh session is linked already")
        self._links[session_id] = (signin_session_id, expires_at)

    async def linked_sessions(self, signin_session_id: str) -> list[str]:
        return [sid for sid, (signin, _) in self._links.items() if signin == signin_session_id]

    async def purge_links(self, *, before: float) -> int:
        gone = [sid for sid, (_, expires_at) in self._links.items() if expires_at < before]
        for sid in gone:
            del self._links[sid]
        return len(gone)
