"""The ``refresh_token`` grant (RFC 6749 6): rotation and reuse detection are the session
service's; this module binds the refresh token to the client that presents it."""

from __future__ import annotations

from ...sessions.service import SessionService
from . import TokenRequest, TokenResult, single_parameter
from .authorization_code import client_limits

__all__ = ["RefreshTokenGrant"]


class RefreshTokenGrant:
    """Spend a refresh token for the next pair.

    The client was authenticated (confidential) or identified (public) by the endpoint; its
    id goes to ``SessionService.refresh``, which refuses a refresh token issued to another
    client with ``invalid_grant`` without spending it (RFC 6749 6 and 10.4: "the refresh
    token is bound to the client to which it was issued").
    """

    grant_type = "refresh_token"

    def __init__(self, service: SessionService, *, audiences: tuple[str, ...] = ()) -> None:
        self.service = service
        self.audiences = audiences or service.config.audience

    async def exchange(self, request: TokenRequest) -> TokenResult:
        token = single_parameter(request.parameters, "refresh_token", max_length=256)
        client = request.client
        pair = await self.service.refresh(
            token,
            scope=request.parameters.get("scope"),
            client_id=client.client_id,
            # The client's own audiences and lifetimes, as at the session's start.
            limits=client_limits(client, self.audiences),
            session=request.session,  # read by the edge for cookie mode's CSRF check
        )
        return TokenResult(
            access_token=pair.access_token,
            expires_in=pair.expires_in,
            scope=pair.scope,
            refresh_token=pair.refresh_token,
            session_id=pair.session_id,
        )
