"""The ``client_credentials`` grant (RFC 6749 4.4) with RFC 9068 access tokens.

For confidential clients only (4.4: "MUST only be used by confidential clients"); the token's
``sub`` and ``client_id`` are the client's id (RFC 9068 2.2), its scope and audience within
the client's registration, and there is no refresh token (4.4.3).
"""

from __future__ import annotations

from collections.abc import Collection

from ...errors import InvalidClientError, InvalidTargetError, UnauthorizedClientError
from ...sessions.service import AccessTokenMinter
from ..scopes import client_audiences, granted_scope
from . import TokenRequest, TokenResult

__all__ = ["ClientCredentialsGrant"]


class ClientCredentialsGrant:
    """Issue an access token to the client itself.

    Parameters:
        minter: the issuer (``Issuer.mint_with_claims``).
        scopes: the server's scopes (a client gets at most its own within these).
        audiences: the server's audiences (a client without its own gets these).
        access_token_ttl: the server's lifetime (a client's own may only be shorter).
    """

    grant_type = "client_credentials"

    def __init__(
        self,
        *,
        minter: AccessTokenMinter,
        scopes: Collection[str],
        audiences: tuple[str, ...],
        access_token_ttl: int,
    ) -> None:
        self.minter = minter
        self.scopes = frozenset(scopes)
        self.audiences = audiences
        self.access_token_ttl = access_token_ttl

    async def exchange(self, request: TokenRequest) -> TokenResult:
        client = request.client
        if client.is_public:
            raise UnauthorizedClientError("client_credentials is for confidential clients only")
        if request.authentication_method == "none":  # never, but a grant checks its own rule
            raise InvalidClientError("client_credentials needs client authentication")
        scope = granted_scope(
            request.parameters.get("scope"), client, server_scopes=self.scopes, with_identity=False
        )
        audience = client_audiences(client, self.audiences)
        resource = request.parameters.get("resource")
        if resource is not None:
            # RFC 8707 2: one target resource; it must be one the client may address.
            if resource not in audience:
                raise InvalidTargetError("the resource is not one this client may use")
            audience = (resource,)
        ttl = min(client.access_token_ttl or self.access_token_ttl, self.access_token_ttl)
        claims: dict[str, object] = {"client_id": client.client_id}
        if scope:
            claims["scope"] = scope
        token, _ = self.minter.mint_with_claims(
            "access", sub=client.client_id, audience=list(audience), claims=claims, ttl=ttl
        )
        return TokenResult(access_token=token, expires_in=ttl, scope=scope)
