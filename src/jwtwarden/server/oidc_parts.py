"""The OpenID Connect components of the ``Runtime``: what the code exchange adds (the ID
token, the link from the sign-in session to the refresh session it starts) and the sessions
that RP-Initiated Logout ends.

``sid`` in an ID token is the browser's sign-in session (``oauth.signin``; not a secret): a
logout naming it ends that sign-in and revokes every refresh session started under it (their
access tokens are denied by their own ``sid``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..clock import Clock
from ..oauth.clients import Client
from ..oauth.codes import AuthorizationCode
from ..oauth.grants.authorization_code import ExtraMembers
from ..oauth.id_tokens import IDTokenMinter, IDTokenRequest
from ..oauth.signin import SignInSessionStore
from ..oauth.signin_links import SignInLinkStore
from ..sessions.config import TokenPair
from ..sessions.service import SessionService

__all__ = ["OIDCSessions", "code_exchange_members"]


def code_exchange_members(
    id_tokens: IDTokenMinter, links: SignInLinkStore, *, clock: Clock, link_ttl: float
) -> ExtraMembers:
    """The ``authorization_code`` grant's hook: link the new refresh session to its sign-in,
    then, with the ``openid`` scope, the ID token (Core 3.1.3.3) for the access token issued
    with it (``at_hash``), the request's ``nonce``, ``auth_time`` and ``sid``."""

    async def members(
        code: AuthorizationCode, pair: TokenPair, client: Client
    ) -> Mapping[str, Any]:
        if code.signin_session_id is not None:
            await links.link(
                code.signin_session_id, pair.session_id, expires_at=clock.now() + link_ttl
            )
        if "openid" not in code.scope.split(" "):
            return {}
        id_token = id_tokens.mint(
            IDTokenRequest(
                sub=code.user_id,
                client_id=client.client_id,
                auth_time=code.auth_time,
                sid=code.signin_session_id,
                nonce=code.nonce,
                access_token=pair.access_token,
            )
        )
        return {"id_token": id_token}

    return members


class OIDCSessions:
    """Ending a sign-in session for the end-session endpoint."""

    __slots__ = ("_clock", "_links", "_service", "_signins")

    def __init__(
        self,
        service: SessionService,
        signins: SignInSessionStore,
        links: SignInLinkStore,
        *,
        clock: Clock,
    ) -> None:
        self._service = service
        self._signins = signins
        self._links = links
        self._clock = clock

    async def end(self, sid: str) -> int:
        """End the sign-in session ``sid`` and every refresh session started under it (their
        refresh tokens stop, their access tokens are denied); how many refresh sessions."""
        await self._signins.revoke_signin(sid, now=self._clock.now())
        ended = 0
        for session_id in await self._links.linked_sessions(sid):
            if await self._service.logout(session_id=session_id, reason="end_session"):
                ended += 1
        return ended

    def __repr__(self) -> str:
        return "OIDCSessions()"
