"""Which refresh sessions a browser sign-in session started: the link that lets OpenID Connect
logout (RP-Initiated Logout 1.0) end the sign-in *and* revoke the tokens issued under it.

A code carries its sign-in session's id (``AuthorizationCode.signin_session_id``, the ID
token's ``sid``); when the code is exchanged, the refresh session it starts is linked to that
sign-in. A link lives as long as the refresh session can (``expires_at``), then is purged.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["SignInLinkStore"]


@runtime_checkable
class SignInLinkStore(Protocol):
    """Links from sign-in sessions to refresh sessions. Adapters:
    ``stores.memory.MemorySignInLinkStore`` (the reference) and
    ``stores.sql.SQLSignInLinkStore``; every method may raise ``StoreUnavailableError``."""

    async def link(self, signin_session_id: str, session_id: str, *, expires_at: float) -> None:
        """Record that ``session_id`` (a refresh session) was started under the sign-in
        session ``signin_session_id``; kept until ``expires_at``. A refresh session is linked
        at most once (a second link of the same session raises)."""
        ...

    async def linked_sessions(self, signin_session_id: str) -> list[str]:
        """The refresh sessions started under the sign-in session (any order; unknown: [])."""
        ...

    async def purge_links(self, *, before: float) -> int:
        """Delete the links whose ``expires_at`` is before ``before``; how many."""
        ...
