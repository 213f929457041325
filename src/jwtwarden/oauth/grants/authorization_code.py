"""The ``authorization_code`` grant (RFC 6749 4.1.3, OAuth 2.1 4.1.3, RFC 7636 4.5-4.6).

In this order, each refusal ``invalid_grant`` (RFC 6749 5.2) unless said otherwise:

1. The code is spent first, atomically (``AuthorizationCodeStore.redeem_code``), with the id
   of the refresh session it is about to start. A code that cannot be spent is unknown,
   expired, or *replayed*: a replay marks the code and revokes the session of its first
   exchange, refresh tokens and access tokens (RFC 6749 4.1.2, RFC 9700 4.5).
2. Only then the bindings: the same client (RFC 6749 4.1.3, 10.5), the same ``redirect_uri``
   when the request had one (4.1.3), and the PKCE verifier (RFC 7636 4.6, constant time). A
   failure leaves the code spent: whoever presents a stolen code gets no second try.
3. A session is started for the user (still enabled) through the session service, bound to
   the client and carrying its audiences and lifetimes (RFC 9068 2.2, 3).
4. If a replay arrived while the session was being created, it is revoked here, so the race
   never leaves tokens of a replayed code alive.

The redeemed ``AuthorizationCode`` (``nonce``, ``auth_time``, ``signin_session_id``) goes to
the optional ``extra_members`` hook, whose members join the response (an OpenID Connect
``id_token``).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ...clock import SYSTEM_CLOCK, Clock
from ...errors import InvalidGrantError
from ...sessions.config import SessionLimits, TokenPair
from ...sessions.service import SessionService
from ..clients import Client
from ..codes import AuthorizationCode, AuthorizationCodeStore, code_hash, verifier_matches
from ..scopes import client_audiences
from . import TokenRequest, TokenResult, single_parameter

__all__ = ["AuthorizationCodeGrant", "ExtraMembers", "client_limits"]

ExtraMembers = Callable[[AuthorizationCode, TokenPair, Client], Awaitable[Mapping[str, Any]]]


def client_limits(client: Client, server_audiences: tuple[str, ...]) -> SessionLimits:
    """A client's audiences and lifetimes for its sessions (within the server's caps)."""
    return SessionLimits(
        audience=client_audiences(client, server_audiences),
        access_token_ttl=client.access_token_ttl,
        refresh_idle_ttl=client.refresh_idle_ttl,
        refresh_absolute_ttl=client.refresh_absolute_ttl,
    )


class AuthorizationCodeGrant:
    """Exchange a code (with its PKCE verifier) for an access token and a refresh token.

    Parameters:
        codes: the code store.
        service: the session service (sessions, rotation, revocation).
        audiences: the server's audiences (a client without its own gets these).
        clock: time.
        extra_members: builds more response members from the redeemed code (the ID token).
    """

    grant_type = "authorization_code"

    def __init__(
        self,
        *,
        codes: AuthorizationCodeStore,
        service: SessionService,
        audiences: tuple[str, ...],
        clock: Clock = SYSTEM_CLOCK,
        extra_members: ExtraMembers | None = None,
    ) -> None:
        self.codes = codes
        self.service = service
        self.audiences = audiences
        self.clock = clock
        self.extra_members = extra_members

    async def exchange(self, request: TokenRequest) -> TokenResult:
        parameters, client = request.parameters, request.client
        digest = code_hash(single_parameter(parameters, "code", max_length=128))
        if digest is None:
            raise InvalidGrantError("the code is not one this server issued")
        session_id = secrets.token_urlsafe(16)
        code = await self.codes.redeem_code(digest, now=self.clock.now(), session_id=session_id)
        if code is None:
            await self._replayed(digest)
            raise InvalidGrantError("the code is unknown, expired or already used")
        _check_bindings(code, client, parameters)
        user = await self.service.users.user_by_id(code.user_id)
        if user is None or user.disabled:
            raise InvalidGrantError("the account is disabled or gone")
        # Requested ∩ the client's (checked at the authorization request) ∩ the account's
        # roles now (issue 15). RFC 6749 3.3 lets the server grant less than was asked; the
        # token response's ``scope`` then says what was granted (RFC 6749 5.1).
        allowed = await self.service.user_scopes.allowed(user.id, client_id=client.client_id)
        scope = " ".join(name for name in code.scope.split() if name in allowed)
        pair = await self.service.start_session(
            user,
            client_id=client.client_id,
            scope=scope,
            session_id=session_id,
            limits=client_limits(client, self.audiences),
        )
        if await self.codes.code_replayed(digest):
            await self.service.logout(session_id=session_id, reason="code_replay")
            raise InvalidGrantError("the code was used twice; its tokens are revoked")
        members: Mapping[str, Any] = {}
        if self.extra_members is not None:
            members = await self.extra_members(code, pair, client)
        return TokenResult(
            access_token=pair.access_token,
            expires_in=pair.expires_in,
            scope=pair.scope,
            # RFC 6749 4.1.4: a refresh token only for a client registered for that grant.
            refresh_token=pair.refresh_token if client.allows_grant("refresh_token") else None,
            session_id=pair.session_id,
            extra=members,
        )

    async def _replayed(self, digest: bytes) -> None:
        # RFC 6749 4.1.2: deny, and revoke what the first exchange issued.
        replayed = await self.codes.mark_replayed(digest, now=self.clock.now())
        if replayed is not None and replayed.session_id is not None:
            await self.service.logout(session_id=replayed.session_id, reason="code_replay")


def _check_bindings(code: AuthorizationCode, client: Client, parameters: Mapping[str, str]) -> None:
    if code.client_id != client.client_id:
        raise InvalidGrantError("the code was issued to another client")
    redirect_uri = parameters.get("redirect_uri")
    # RFC 6749 4.1.3: "identical", a string comparison, no normalisation.
    if (code.redirect_uri_in_request or redirect_uri is not None) and (
        redirect_uri != code.redirect_uri
    ):
        raise InvalidGrantError("redirect_uri differs from the authorization request's")
    if not verifier_matches(parameters.get("code_verifier"), code.code_challenge):
        raise InvalidGrantError("the code_verifier does not match the code_challenge")
