"""The OpenID Connect components of the ``Runtime``: the sessions that RP-Initiated Logout
ends.

``sid`` in an ID token names the session the user signed in with. Until the hosted sign-in
(issue 14 part 2) keeps browser sign-in sessions, that is the refresh session the tokens were
issued in, and no browser holds a sign-in cookie: ``current`` is ``None``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ..sessions.service import SessionService

__all__ = ["OIDCSessions"]


class OIDCSessions:
    """What the end-session endpoint asks of the sign-in side."""

    __slots__ = ("_service",)

    def __init__(self, service: SessionService) -> None:
        self._service = service

    async def current(self, request: Request) -> Any:
        """The browser's live sign-in session (with its ``id``), or ``None``."""
        return None

    async def end(self, sid: str) -> None:
        """End the session ``sid`` names and deny its tokens (unknown: nothing to do)."""
        await self._service.logout(session_id=sid)

    def clear_cookie(self, response: Response) -> None:
        """Expire the browser's sign-in cookie on ``response``."""

    def __repr__(self) -> str:
        return "OIDCSessions()"
