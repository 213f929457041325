"""Client authentication at the token, revocation and introspection endpoints.

RFC 6749 2.3: a confidential client authenticates with the one method it registered:
``client_secret_basic`` (2.3.1, HTTP Basic, both the form-urlencoded and the raw encoding are
accepted, see ``server.parsing.BasicCredentials``), ``client_secret_post`` (2.3.1, form
members) or ``private_key_jwt`` (RFC 7523 2.2, a signed assertion). A public client only names
itself with ``client_id`` (2.3: it has no credential). Refused, with one ``invalid_client``:

- an unknown or disabled ``client_id``, a wrong or expired secret, a bad assertion;
- more than one method in one request (RFC 6749 2.3: "MUST NOT use more than one");
- a method other than the registered one (a downgrade from ``private_key_jwt`` to a secret);
- credentials sent for a public client (refused, not ignored: a client that believes it holds
  a secret is misconfigured, and ignoring it would hide that);
- a form ``client_id`` that differs from the authenticated one.

``InvalidClientError.header_used`` tells the edge to answer 401 with ``WWW-Authenticate``
(RFC 6749 5.2).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import unquote_plus

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import InvalidClientError
from .client_secrets import SecretHasher
from .clients import Client, ClientStore

__all__ = [
    "AUTHENTICATION_PARAMETERS",
    "JWT_BEARER_ASSERTION",
    "AuthenticatedClient",
    "ClientAssertionVerifier",
    "ClientAuthenticator",
]

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 2.2
AUTHENTICATION_PARAMETERS = frozenset(
    {"client_id", "client_secret", "client_assertion", "client_assertion_type"}
)
_MAX_ID = 128
_MAX_SECRET = 512
# Computed for an unknown client so that it costs what a known one does.
_DUMMY_SECRET = "x" * 43


@dataclass(frozen=True, kw_only=True, slots=True)
class AuthenticatedClient:
    """The client a request authenticated as, and how (``none`` for a public client)."""

    client: Client
    method: str


class ClientAssertionVerifier(Protocol):
    """``private_key_jwt`` (RFC 7523 3): implemented by ``client_assertions.AssertionVerifier``."""

    async def client_id_of(self, assertion: str) -> str:
        """The ``sub`` the assertion claims (a lookup key only, like a ``kid``).

        Raises:
            InvalidClientError: not a JWT with a string ``sub``.
        """
        ...

    async def verify(self, assertion: str, client: Client) -> None:
        """Verify the assertion for ``client``: signature by a key of the client's JWKS,
        ``iss`` = ``sub`` = client_id, ``aud`` the token endpoint or the issuer, short ``exp``,
        ``jti`` never seen before (recorded until ``exp``).

        Raises:
            InvalidClientError: any failure.
        """
        ...


class ClientAuthenticator:
    """Authenticates the client of a request.

    Parameters:
        clients: the client registry's store.
        secrets: the secret hasher (the server's pepper).
        assertions: ``private_key_jwt`` verification; ``None`` = the method is off.
        first_party: the built-in first-party client (``/auth/login``'s sessions), a public
            client used when a request names no client at all, or names its id.
        first_party_ids: more ids ``/auth/login`` accepts (``settings.client_ids``): each is
            the first-party client under that id.
        clock: time (a secret's overlap ends at its ``expires_at``).
    """

    def __init__(
        self,
        *,
        clients: ClientStore,
        secrets: SecretHasher,
        assertions: ClientAssertionVerifier | None = None,
        first_party: Client | None = None,
        first_party_ids: frozenset[str] = frozenset(),
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.clients = clients
        self.secrets = secrets
        self.assertions = assertions
        self.first_party = first_party
        self._first_party: dict[str, Client] = {}
        if first_party is not None:
            self._first_party = {
                client_id: replace(first_party, client_id=client_id)
                for client_id in first_party_ids
            }
            self._first_party[first_party.client_id] = first_party
        self.clock = clock

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods this server accepts (RFC 8414 ``token_endpoint_auth_methods_supported``)."""
        methods = ["client_secret_basic", "client_secret_post"]
        if self.assertions is not None:
            methods.append("private_key_jwt")
        return (*methods, "none")

    async def authenticate(
        self, *, authorization: str | None, form: Mapping[str, str], anonymous_ok: bool = False
    ) -> AuthenticatedClient:
        """The authenticated (or, public, identified) client of a request.

        ``authorization`` is the raw ``Authorization`` header, ``form`` the parsed body.
        ``anonymous_ok``: a request naming no client at all is the first-party client (the
        refresh and revocation endpoints, as before clients were registered).

        Raises:
            InvalidClientError: see the module docstring.
        """
        header_used = authorization is not None
        basic = _basic(authorization) if header_used else None
        form_id = _bounded(form.get("client_id"), _MAX_ID, header_used)
        secret = form.get("client_secret")
        assertion = form.get("client_assertion")
        assertion_type = form.get("client_assertion_type")
        used = [
            name
            for name, present in (
                ("client_secret_basic", basic is not None),
                ("client_secret_post", secret is not None),
                ("private_key_jwt", assertion is not None or assertion_type is not None),
            )
            if present
        ]
        if len(used) > 1:
            raise InvalidClientError(
                "use one client authentication method", header_used=header_used
            )
        method = used[0] if used else "none"
        if method == "client_secret_basic":
            assert basic is not None
            client_id, candidates = basic[0], basic[1]
            if form_id is not None and form_id not in (basic[0], basic[2]):
                raise InvalidClientError(
                    "client_id differs from the Basic user-id", header_used=True
                )
            client = await self._lookup(client_id, header_used, fallback_id=basic[2])
            return self._check_secret(client, method, candidates, header_used)
        if method == "client_secret_post":
            if form_id is None:
                raise InvalidClientError("client_id is required with client_secret")
            _bounded(secret, _MAX_SECRET, False)
            client = await self._lookup(form_id, False)
            return self._check_secret(client, method, (secret,), False)
        if method == "private_key_jwt":
            return await self._assertion(form_id, assertion, assertion_type)
        if form_id is None:
            if anonymous_ok and self.first_party is not None:
                return AuthenticatedClient(client=self.first_party, method="none")
            raise InvalidClientError("client authentication is required")
        client = await self._lookup(form_id, False)
        if not client.is_public:
            raise InvalidClientError("this client must authenticate")
        return AuthenticatedClient(client=client, method="none")

    async def _lookup(
        self, client_id: str, header_used: bool, *, fallback_id: str | None = None
    ) -> Client:
        first_party = self._first_party.get(client_id)
        if first_party is not None:
            return first_party
        client = await self.clients.get(client_id)
        if client is None and fallback_id is not None and fallback_id != client_id:
            client = await self.clients.get(fallback_id)  # RFC 6749 2.3.1 form-encoded id
        if client is None or client.disabled:
            self.secrets.digest(_DUMMY_SECRET)
            raise InvalidClientError("client authentication failed", header_used=header_used)
        return client

    def _check_secret(
        self, client: Client, method: str, candidates: tuple[str | None, ...], header_used: bool
    ) -> AuthenticatedClient:
        if client.is_public:
            raise InvalidClientError(
                "a public client has no secret: send client_id only", header_used=header_used
            )
        ok = self.secrets.matches(candidates, client.secret_hashes, self.clock.now())
        if not ok or client.token_endpoint_auth_method != method:
            raise InvalidClientError("client authentication failed", header_used=header_used)
        return AuthenticatedClient(client=client, method=method)

    async def _assertion(
        self, form_id: str | None, assertion: str | None, assertion_type: str | None
    ) -> AuthenticatedClient:
        if self.assertions is None:
            raise InvalidClientError("private_key_jwt is not enabled on this server")
        if assertion_type != JWT_BEARER_ASSERTION or not assertion or len(assertion) > 8192:
            raise InvalidClientError("client_assertion_type must be " + JWT_BEARER_ASSERTION)
        claimed = await self.assertions.client_id_of(assertion)
        if form_id is not None and form_id != claimed:
            raise InvalidClientError("client_id differs from the assertion's sub")
        client = await self._lookup(claimed, False)
        if client.is_public or client.token_endpoint_auth_method != "private_key_jwt":
            raise InvalidClientError("client authentication failed")
        await self.assertions.verify(assertion, client)
        return AuthenticatedClient(client=client, method="private_key_jwt")


def _bounded(value: str | None, limit: int, header_used: bool) -> str | None:
    if value is not None and (len(value) > limit or "\x00" in value):
        raise InvalidClientError("malformed client credentials", header_used=header_used)
    return value


def _basic(header: str | None) -> tuple[str, tuple[str | None, ...], str | None]:
    """(raw id, secret candidates raw and form-decoded, form-decoded id) of a Basic header.

    RFC 6749 2.3.1 form-urlencodes id and secret before the Basic encoding; most clients send
    them raw (RFC 7617). A ``+`` in a secret is a space once form-decoded: both forms are
    tried, each in constant time (``SecretHasher.matches``).
    """
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip() or len(encoded) > 1024:
        raise InvalidClientError("the Authorization header must be HTTP Basic", header_used=True)
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidClientError("malformed Basic credentials", header_used=True) from None
    client_id, sep, secret = decoded.partition(":")  # RFC 7617 2: the user-id has no colon
    if not sep or not client_id or not secret or len(client_id) > _MAX_ID or "\x00" in decoded:
        raise InvalidClientError("malformed Basic credentials", header_used=True)
    return client_id, (secret, _form_decoded(secret)), _form_decoded(client_id)


def _form_decoded(value: str) -> str | None:
    try:
        return unquote_plus(value, errors="strict")
    except UnicodeDecodeError:
        return None  # "%FF" is no UTF-8: never a U+FFFD that could equal another secret
