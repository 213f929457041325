"""``ClientRegistry``: registering and managing clients, the one implementation behind the
CLI (``jwtwarden clients ...``) and the admin API (``/admin/clients``).

Registration is validated against the server: scopes it offers (plus the identity scopes),
audiences it serves, lifetimes within its own. A confidential client's secret is generated
here, returned once, and stored only as its keyed hash.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import ClientNotFoundError, KeyRejectedError
from ..keys.keyset import KeySet
from ._codec import registration_of
from .client_assertions import ASSERTION_ALGORITHMS
from .client_secrets import SecretHasher
from .clients import (
    IDENTITY_SCOPES,
    SECRET_AUTH_METHODS,
    Client,
    ClientSecretHash,
    ClientStore,
    ClientType,
    validate_redirect_uri,
    validate_redirect_uris,
)

__all__ = ["DEFAULT_SECRET_OVERLAP", "ClientRegistry", "RegisteredClient", "ServerLimits"]

DEFAULT_SECRET_OVERLAP = 24 * 3600.0  # a day to roll the new secret out everywhere
MAX_SECRET_OVERLAP = 30 * 86400.0


@dataclass(frozen=True, kw_only=True, slots=True)
class ServerLimits:
    """What the server offers, which a registration must stay within.

    ``reserved_ids`` are the first-party client ids (``settings.client_id`` and the names
    ``/auth/login`` accepts); no registered client may take one.
    """

    scopes: frozenset[str]
    audiences: tuple[str, ...]
    access_token_ttl: int
    refresh_idle_ttl: int
    refresh_absolute_ttl: int
    reserved_ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, kw_only=True, slots=True)
class RegisteredClient:
    """A new client and, for a confidential one with a secret, the secret: shown once."""

    client: Client
    client_secret: str | None = field(default=None, repr=False)


class ClientRegistry:
    """Client management over a ``ClientStore``.

    Example:
        >>> registry = ClientRegistry(store, hasher, limits)  # doctest: +SKIP
        >>> new = await registry.create(name="Billing", grant_types=["client_credentials"])
    """

    def __init__(
        self,
        store: ClientStore,
        hasher: SecretHasher,
        limits: ServerLimits,
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.store = store
        self.hasher = hasher
        self.limits = limits
        self.clock = clock

    async def create(
        self,
        *,
        name: str,
        type: ClientType | str = ClientType.CONFIDENTIAL,
        redirect_uris: Iterable[str] = (),
        post_logout_redirect_uris: Iterable[str] = (),
        grant_types: Iterable[str] | None = None,
        scopes: Iterable[str] = (),
        audiences: Iterable[str] = (),
        token_endpoint_auth_method: str | None = None,
        jwks: Mapping[str, Any] | None = None,
        jwks_uri: str | None = None,
        access_token_ttl: int | None = None,
        refresh_idle_ttl: int | None = None,
        refresh_absolute_ttl: int | None = None,
    ) -> RegisteredClient:
        """Register a client. Defaults: confidential; grants ``authorization_code`` and
        ``refresh_token`` with redirect URIs, else ``client_credentials``; auth method
        ``client_secret_basic``, or ``private_key_jwt`` when keys are given.

        Raises:
            ValueError: an invalid registration (the message says which rule).
        """
        client_type = ClientType(type)
        uris = validate_redirect_uris(redirect_uris)
        logout_uris = validate_redirect_uris(post_logout_redirect_uris)
        grants = frozenset(grant_types) if grant_types is not None else _default_grants(uris)
        if jwks_uri is not None:
            validate_redirect_uri(jwks_uri)  # https (or loopback in development), no userinfo
        if token_endpoint_auth_method is None:
            token_endpoint_auth_method = _default_method(client_type, jwks, jwks_uri)
        if jwks is not None:
            _check_jwks(jwks)
        now = self.clock.now()
        secret: str | None = None
        hashes: tuple[ClientSecretHash, ...] = ()
        if token_endpoint_auth_method in SECRET_AUTH_METHODS:
            secret, record = self.hasher.new_secret(now)
            hashes = (record,)
        client = Client(
            client_id=self._new_id(),
            name=name,
            type=client_type,
            redirect_uris=uris,
            post_logout_redirect_uris=logout_uris,
            grant_types=grants,
            scopes=self._scopes(scopes),
            audiences=self._audiences(audiences),
            access_token_ttl=access_token_ttl,
            refresh_idle_ttl=refresh_idle_ttl,
            refresh_absolute_ttl=refresh_absolute_ttl,
            token_endpoint_auth_method=token_endpoint_auth_method,
            jwks=dict(jwks) if jwks is not None else None,
            jwks_uri=jwks_uri,
            created_at=now,
            secret_hashes=hashes,
        )
        self._check_lifetimes(client)
        await self.store.create(client)
        return RegisteredClient(client=client, client_secret=secret)

    async def get(self, client_id: str) -> Client:
        """The client.

        Raises:
            ClientNotFoundError: no such client.
        """
        client = await self.store.get(client_id)
        if client is None:
            raise ClientNotFoundError("no such client")
        return client

    async def list(self, *, limit: int = 100, after: str | None = None) -> list[Client]:
        """A page of clients in registration order."""
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be between 1 and 1000")
        return await self.store.list(limit=limit, after=after)

    async def set_disabled(self, client_id: str, disabled: bool) -> Client:
        """Disable (no authentication, no new flow) or enable a client.

        Raises:
            ClientNotFoundError: no such client.
        """
        if not await self.store.set_disabled(client_id, disabled):
            raise ClientNotFoundError("no such client")
        return await self.get(client_id)

    async def rotate_secret(self, client_id: str, *, overlap: float | None = None) -> str:
        """A new secret for a confidential client, returned once; the previous one keeps
        working for ``overlap`` seconds (default a day; 0 ends it at once).

        Raises:
            ClientNotFoundError: no such client.
            ValueError: the client has no secret (public or ``private_key_jwt``), or an
                overlap outside 0..30 days.
        """
        overlap = DEFAULT_SECRET_OVERLAP if overlap is None else float(overlap)
        if not 0 <= overlap <= MAX_SECRET_OVERLAP:
            raise ValueError("the overlap must be between 0 and 30 days")
        client = await self.get(client_id)
        if client.token_endpoint_auth_method not in SECRET_AUTH_METHODS:
            raise ValueError("this client authenticates without a secret")
        now = self.clock.now()
        secret, record = self.hasher.new_secret(now)
        if not await self.store.rotate_secret(
            client_id, record, previous_expires_at=now + overlap, now=now
        ):
            raise ClientNotFoundError("no such client")
        return secret

    async def delete(self, client_id: str) -> None:
        """Remove a client. Its refresh tokens stop working at once (the client can no
        longer authenticate); its access tokens live out their few minutes.

        Raises:
            ClientNotFoundError: no such client.
        """
        if not await self.store.delete(client_id):
            raise ClientNotFoundError("no such client")

    @staticmethod
    def view(client: Client) -> dict[str, Any]:
        """The client as shown by ``show``, ``list`` and the admin API: never a secret,
        only how many secrets are live and until when the rotated-out one works."""
        body: dict[str, Any] = {
            "client_id": client.client_id,
            "client_name": client.name,
            "client_type": client.type.value,
            "token_endpoint_auth_method": client.token_endpoint_auth_method,
            "disabled": client.disabled,
            "created_at": client.created_at,
        }
        body.update(registration_of(client))
        if client.jwks is not None:
            body["jwks"] = client.jwks  # public keys only (checked at registration)
        previous = [r.expires_at for r in client.secret_hashes if r.expires_at is not None]
        if client.token_endpoint_auth_method in SECRET_AUTH_METHODS:
            body["previous_secret_expires_at"] = max(previous) if previous else None
        return body

    def _new_id(self) -> str:
        while True:
            client_id = secrets.token_urlsafe(18)  # 144 bits: unguessable, URL-safe
            if client_id not in self.limits.reserved_ids:
                return client_id

    def _scopes(self, scopes: Iterable[str]) -> frozenset[str]:
        wanted = frozenset(scopes)
        unknown = wanted - self.limits.scopes - IDENTITY_SCOPES
        if unknown:
            raise ValueError(f"scopes the server does not offer: {', '.join(sorted(unknown))}")
        return wanted

    def _audiences(self, audiences: Iterable[str]) -> tuple[str, ...]:
        wanted = tuple(dict.fromkeys(audiences))
        unknown = [aud for aud in wanted if aud not in self.limits.audiences]
        if unknown:
            raise ValueError(f"audiences the server does not serve: {', '.join(unknown)}")
        return wanted

    def _check_lifetimes(self, client: Client) -> None:
        limits = self.limits
        if client.access_token_ttl is not None and not (
            300 <= client.access_token_ttl <= limits.access_token_ttl
        ):
            raise ValueError(f"access_token_ttl must be 300..{limits.access_token_ttl} s")
        idle = client.refresh_idle_ttl or limits.refresh_idle_ttl
        absolute = client.refresh_absolute_ttl or limits.refresh_absolute_ttl
        if not 60 <= idle <= min(limits.refresh_idle_ttl, absolute):
            raise ValueError("refresh_idle_ttl must be 60 s .. the server's and the absolute one")
        if absolute > limits.refresh_absolute_ttl:
            raise ValueError(f"refresh_absolute_ttl must be at most {limits.refresh_absolute_ttl}")

    async def update(self, client: Client) -> Client:
        """Replace a client's registration (not its secrets), validated like ``create``.

        Raises:
            ClientNotFoundError: no such client.
            ValueError: an invalid registration.
        """
        checked = replace(
            client,
            redirect_uris=validate_redirect_uris(client.redirect_uris),
            post_logout_redirect_uris=validate_redirect_uris(client.post_logout_redirect_uris),
            scopes=self._scopes(client.scopes),
            audiences=self._audiences(client.audiences),
        )
        self._check_lifetimes(checked)
        if not await self.store.update(checked):
            raise ClientNotFoundError("no such client")
        return await self.get(client.client_id)


def _default_grants(redirect_uris: tuple[str, ...]) -> frozenset[str]:
    if redirect_uris:
        return frozenset({"authorization_code", "refresh_token"})
    return frozenset({"client_credentials"})


def _default_method(
    client_type: ClientType, jwks: Mapping[str, Any] | None, jwks_uri: str | None
) -> str:
    if client_type is ClientType.PUBLIC:
        return "none"
    if jwks is not None or jwks_uri is not None:
        return "private_key_jwt"
    return "client_secret_basic"


def _check_jwks(jwks: Mapping[str, Any]) -> None:
    # Public, asymmetric keys only: a private key pasted by mistake is refused, not stored.
    try:
        keys = KeySet.from_jwks(jwks)
    except KeyRejectedError as exc:
        raise ValueError(f"the JWKS is refused: {exc.detail}") from None
    for key in keys:
        if key.alg not in ASSERTION_ALGORITHMS:
            raise ValueError("private_key_jwt keys must be asymmetric (no HMAC secrets)")
        if key.is_private:
            raise ValueError("register the public keys only (this JWKS holds a private key)")
