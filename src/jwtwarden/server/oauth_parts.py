"""The OAuth components of the ``Runtime``, built from ``Settings``: the client store and
registry, client authentication (secrets with the server's pepper, ``private_key_jwt`` with
the replay store), the first-party client, and the access-token check that tells user tokens
from client tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..errors import MissingClaimError, RevokedTokenError
from ..jwks.guard import SSRFGuard
from ..oauth.authentication import ClientAuthenticator
from ..oauth.client_assertions import AssertionVerifier
from ..oauth.client_secrets import SecretHasher, load_pepper
from ..oauth.clients import Client, ClientStore, ClientType
from ..oauth.registry import ClientRegistry, ServerLimits
from ..revocation.checks import AUTH_VERSION_CLAIM
from .settings import Settings

if TYPE_CHECKING:
    from ..verify import VerifiedToken

__all__ = [
    "ClientTokenCheck",
    "assertion_verifier",
    "client_authenticator",
    "client_registry",
    "first_party_client",
    "secret_hasher",
    "token_endpoint",
]

Hook = Callable[["VerifiedToken"], Awaitable[None] | None]


def token_endpoint(settings: Settings) -> str:
    """The token endpoint URL (``aud`` of ``private_key_jwt`` assertions, RFC 7523 3)."""
    return settings.issuer_url.rstrip("/") + "/oauth/token"


def first_party_client(settings: Settings) -> Client:
    """The built-in public client of ``POST /auth/login`` sessions (``settings.client_id``):
    it refreshes, and nothing else; it is not in the registry."""
    return Client(
        client_id=settings.client_id,
        name="first-party",
        type=ClientType.PUBLIC,
        grant_types=frozenset({"refresh_token"}),
    )


def secret_hasher(settings: Settings) -> SecretHasher:
    """The secret hasher over the pepper (from the KEK, or the data directory's file)."""
    return SecretHasher(load_pepper(settings.kek_bytes, settings.data_dir))


def assertion_verifier(settings: Settings, replay: Any, clock: Any) -> AssertionVerifier:
    """``private_key_jwt`` verification; ``jwks_uri`` fetches through a guard of its own
    (loopback allowed in development only, as for the resource-server side)."""
    return AssertionVerifier(
        audiences=(token_endpoint(settings), settings.issuer_url),
        replay=replay,
        guard=SSRFGuard(allow_loopback_http=settings.is_development),
        clock=clock,
    )


def client_authenticator(
    settings: Settings,
    clients: ClientStore,
    hasher: SecretHasher,
    assertions: AssertionVerifier,
    clock: Any,
) -> ClientAuthenticator:
    return ClientAuthenticator(
        clients=clients,
        secrets=hasher,
        assertions=assertions,
        first_party=first_party_client(settings),
        first_party_ids=frozenset(settings.client_ids),
        clock=clock,
    )


def client_registry(
    settings: Settings, clients: ClientStore, hasher: SecretHasher, clock: Any
) -> ClientRegistry:
    return ClientRegistry(
        clients,
        hasher,
        ServerLimits(
            scopes=frozenset(settings.scopes),
            audiences=settings.audiences,
            access_token_ttl=settings.access_token_ttl,
            refresh_idle_ttl=settings.refresh_idle_ttl,
            refresh_absolute_ttl=settings.refresh_absolute_ttl,
            reserved_ids=frozenset({settings.client_id, *settings.client_ids}),
        ),
        clock=clock,
    )


class ClientTokenCheck:
    """The account check of the server's own verifier, for both kinds of access token.

    A user's token (``auth_version`` present) goes to ``AuthVersionCheck``, as before. A
    ``client_credentials`` token (RFC 9068 2.2: ``sub`` = ``client_id``, no ``sid``) is live
    only while its client is registered, enabled and allowed that grant: disabling or deleting
    a client ends its tokens at introspection at once. Anything else is refused.
    """

    __slots__ = ("_clients", "_user_check")

    def __init__(self, clients: ClientStore, user_check: Hook) -> None:
        self._clients = clients
        self._user_check = user_check

    def __call__(self, token: VerifiedToken) -> Awaitable[None] | None:
        claims = token.claims
        if AUTH_VERSION_CLAIM in claims or "sid" in claims:
            return self._user_check(token)
        sub, client_id = claims.get("sub"), claims.get("client_id")
        if type(sub) is not str or sub != client_id:
            raise MissingClaimError(
                f"the token has no {AUTH_VERSION_CLAIM!r}",
                claim=AUTH_VERSION_CLAIM,
                reason="missing",
            )
        return self._check_client(sub)

    async def _check_client(self, client_id: str) -> None:
        client = await self._clients.get(client_id)
        if client is None or client.disabled or not client.allows_grant("client_credentials"):
            raise RevokedTokenError("the client of this token is disabled or gone")

    def __repr__(self) -> str:
        return "ClientTokenCheck()"
