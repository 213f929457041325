"""Registered OAuth clients: the ``Client`` record, the ``ClientStore`` port and the redirect
URI rules (validation at registration, exact matching at the authorization endpoint).

A client is *public* (a browser or native app: no secret, PKCE required, RFC 6749 2.1) or
*confidential* (a server-side app or a service that can keep a credential). Its redirect URIs
are exact strings compared as strings (RFC 9700 2.1, 4.1.3), with one exception: a public
client's loopback redirect URI matches on any port (RFC 8252 7.3), since a native app listens
on a port the operating system picks.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "AUTH_METHODS",
    "CLIENT_ID_SHAPE",
    "GRANT_TYPES",
    "IDENTITY_SCOPES",
    "SECRET_AUTH_METHODS",
    "Client",
    "ClientSecretHash",
    "ClientStore",
    "ClientType",
    "match_redirect_uri",
    "validate_redirect_uri",
    "validate_redirect_uris",
]

# RFC 6749 4.1, 6 and 4.4; OAuth 2.1 drops implicit and password.
GRANT_TYPES = frozenset({"authorization_code", "refresh_token", "client_credentials"})
# RFC 6749 2.3.1 (basic, post), RFC 7523 2.2 (private_key_jwt), RFC 7591 2 ("none": public).
SECRET_AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
AUTH_METHODS = SECRET_AUTH_METHODS | {"private_key_jwt", "none"}
# OpenID Connect Core 5.4: available to a client registered without scopes (issue 14), once
# the server offers them (issue 15); never the server's other scopes.
IDENTITY_SCOPES = frozenset({"openid", "profile", "email"})

MAX_REDIRECT_URIS = 20
MAX_URI_LENGTH = 2000
# RFC 3986 unreserved: safe in a path
CLIENT_ID_SHAPE = re.compile(r"[A-Za-z0-9._~-]{1,64}")
# RFC 6749 3.3 scope-token: %x21 / %x23-5B / %x5D-7E.
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,128}")
# A loopback redirect URI, parsed by one strict pattern (no urlsplit: one reading, the same
# one the match uses). RFC 8252 7.3: the IP literals only; "localhost" is refused (8.3: it may
# resolve elsewhere, or be served by another listener).
_LOOPBACK = re.compile(
    r"http://(?P<host>127\.0\.0\.1|\[::1\])(?::(?P<port>[1-9][0-9]{0,4}))?(?P<rest>[/?][^#]*)?"
)
# https://host[:port]path?query: no userinfo ("@" before the path), no fragment, ASCII only.
_HTTPS = re.compile(r"https://(?P<authority>[A-Za-z0-9.\-]+(?::[0-9]{1,5})?)(?P<rest>[/?][^#]*)?")


class ClientType(enum.StrEnum):
    """RFC 6749 2.1 client types."""

    PUBLIC = "public"
    CONFIDENTIAL = "confidential"


@dataclass(frozen=True, kw_only=True, slots=True)
class ClientSecretHash:
    """One stored secret: its keyed hash (``client_secrets.SecretHasher``), never the secret.

    ``expires_at`` is ``None`` for the current secret; a rotated-out secret keeps working
    until its ``expires_at`` (the rotation overlap), then is refused and purged.
    """

    digest: bytes = field(repr=False)
    created_at: float
    expires_at: float | None = None

    def live(self, now: float) -> bool:
        """Whether this secret is accepted at ``now``."""
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True, kw_only=True, slots=True)
class Client:
    """A registered client. Built by ``ClientRegistry`` (validated there against the
    server's scopes, audiences and lifetime caps) and by the stores from their rows.

    Parameters:
        client_id: server-generated, unreserved characters only (safe in a URL path).
        name: a display name (the consent and sign-in pages show it).
        type: public or confidential.
        redirect_uris: exact strings (``validate_redirect_uri``).
        post_logout_redirect_uris: exact strings (OpenID Connect RP-Initiated Logout 3).
        grant_types: a subset of ``GRANT_TYPES``; ``client_credentials`` confidential only.
        scopes: the server scopes the client may ask for; empty = identity scopes only.
        audiences: the ``aud`` values its access tokens may carry; empty = the server's.
        access_token_ttl, refresh_idle_ttl, refresh_absolute_ttl: per-client lifetimes
            (``None`` = the server's), never above the server's caps.
        token_endpoint_auth_method: ``none`` for public clients; else
            ``client_secret_basic``, ``client_secret_post`` or ``private_key_jwt``.
        jwks, jwks_uri: the client's public keys for ``private_key_jwt`` (exactly one).
        disabled: a disabled client cannot authenticate or start a flow.
        secret_hashes: the current secret (``expires_at`` None) and a rotated-out one
            during its overlap; never in ``repr``, never returned by list or show.
    """

    client_id: str
    name: str
    type: ClientType
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    grant_types: frozenset[str] = frozenset({"authorization_code", "refresh_token"})
    scopes: frozenset[str] = frozenset()
    audiences: tuple[str, ...] = ()
    access_token_ttl: int | None = None
    refresh_idle_ttl: int | None = None
    refresh_absolute_ttl: int | None = None
    token_endpoint_auth_method: str = "none"
    jwks: dict[str, Any] | None = field(default=None, hash=False, repr=False)
    jwks_uri: str | None = None
    disabled: bool = False
    created_at: float = 0.0
    secret_hashes: tuple[ClientSecretHash, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        problems = _client_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def is_public(self) -> bool:
        return self.type is ClientType.PUBLIC

    def allows_grant(self, grant_type: str) -> bool:
        """Whether the client is registered for ``grant_type``."""
        return grant_type in self.grant_types

    def requestable_scopes(self, *, with_identity: bool) -> frozenset[str]:
        """The scopes it may ask for: its own, plus the identity scopes for user flows
        (``with_identity``; a ``client_credentials`` token has no user to describe)."""
        return self.scopes | IDENTITY_SCOPES if with_identity else self.scopes

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Exact match against ``redirect_uris`` (loopback any-port for public clients)."""
        return match_redirect_uri(self.redirect_uris, uri, loopback_any_port=self.is_public)

    def post_logout_redirect_uri_allowed(self, uri: str) -> bool:
        """Exact match against ``post_logout_redirect_uris`` (same rules)."""
        return match_redirect_uri(
            self.post_logout_redirect_uris, uri, loopback_any_port=self.is_public
        )


def _client_problems(client: Client) -> list[str]:
    problems: list[str] = []
    if not CLIENT_ID_SHAPE.fullmatch(client.client_id):
        problems.append("client_id must be 1-64 unreserved characters")
    if not client.name or len(client.name) > 200 or not client.name.isprintable():
        problems.append("name must be 1-200 printable characters")
    unknown = client.grant_types - GRANT_TYPES
    if unknown or not client.grant_types:
        problems.append(f"grant_types must be a non-empty subset of {sorted(GRANT_TYPES)}")
    if any(not _SCOPE_TOKEN.fullmatch(scope) for scope in client.scopes):
        problems.append("each scope must be an RFC 6749 3.3 scope-token")
    method = client.token_endpoint_auth_method
    if client.is_public:
        if method != "none":
            problems.append("a public client authenticates with 'none' (it has no credential)")
        if "client_credentials" in client.grant_types:
            # RFC 6749 4.4: the client credentials grant is for confidential clients only.
            problems.append("client_credentials is for confidential clients only")
        if client.secret_hashes or client.jwks is not None or client.jwks_uri is not None:
            problems.append("a public client has no secret and no keys")
    elif method not in AUTH_METHODS - {"none"}:
        problems.append("a confidential client needs client_secret_basic, _post or private_key_jwt")
    if method == "private_key_jwt" and (client.jwks is None) == (client.jwks_uri is None):
        problems.append("private_key_jwt needs exactly one of jwks and jwks_uri")
    if "authorization_code" in client.grant_types and not client.redirect_uris:
        problems.append("authorization_code needs at least one redirect URI")
    return problems


def validate_redirect_uri(uri: str) -> str:
    """Check a redirect URI (or post-logout redirect URI) for registration and return it.

    Accepted: ``https://`` URIs, and ``http://127.0.0.1`` / ``http://[::1]`` (loopback, RFC
    8252 7.3), with any path and query. Refused: other schemes and plain ``http`` (RFC 9700
    2.6 and 4.1), ``localhost`` (RFC 8252 8.3), a fragment (RFC 6749 3.1.2), userinfo (an
    ``@`` authority hides the real host), wildcards and patterns (RFC 9700 4.1.3: exact
    strings only), whitespace, non-ASCII and over-long URIs.

    Raises:
        ValueError: the URI cannot be registered (the message says why).
    """
    if not isinstance(uri, str) or not uri:
        raise ValueError("a redirect URI must be a non-empty string")
    if len(uri) > MAX_URI_LENGTH or not uri.isascii() or not uri.isprintable() or " " in uri:
        raise ValueError("a redirect URI is printable ASCII without spaces, at most 2000 long")
    if "#" in uri:
        raise ValueError("a redirect URI must not have a fragment (RFC 6749 3.1.2)")
    if "*" in uri:
        raise ValueError("a redirect URI is an exact string: no wildcards (RFC 9700 4.1.3)")
    loopback = _LOOPBACK.fullmatch(uri)
    if loopback is not None:
        if loopback["port"] is not None and int(loopback["port"]) > 65535:
            raise ValueError("the port is out of range")
        return uri
    match = _HTTPS.fullmatch(uri)
    if match is None:
        raise ValueError(
            "a redirect URI must be https://host/... or http://127.0.0.1 / http://[::1] "
            "(no userinfo, no 'localhost')"
        )
    host, _, port_text = match["authority"].partition(":")
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        raise ValueError("use http://127.0.0.1 or http://[::1], not localhost (RFC 8252 8.3)")
    if port_text and not 0 < int(port_text) <= 65535:
        raise ValueError("the port is out of range")
    return uri


def validate_redirect_uris(uris: Iterable[str]) -> tuple[str, ...]:
    """``validate_redirect_uri`` on each, duplicates refused, at most 20."""
    out = tuple(validate_redirect_uri(uri) for uri in uris)
    if len(set(out)) != len(out):
        raise ValueError("a redirect URI is listed twice")
    if len(out) > MAX_REDIRECT_URIS:
        raise ValueError(f"at most {MAX_REDIRECT_URIS} redirect URIs")
    return out


def match_redirect_uri(
    registered: Sequence[str], presented: str, *, loopback_any_port: bool
) -> bool:
    """Whether ``presented`` equals one of the ``registered`` redirect URIs.

    An exact, case-sensitive string comparison (RFC 9700 2.1 and 4.1.3; RFC 6749 3.1.2.3): no
    normalisation of case, trailing slash, percent-encoding or default port. With
    ``loopback_any_port`` (public clients only, RFC 8252 7.3) a loopback IP literal URI
    matches a registered one that differs only in its port.
    """
    if not isinstance(presented, str):
        return False
    if presented in registered:
        return True
    if not loopback_any_port:
        return False
    portless = _without_loopback_port(presented)
    return portless is not None and any(
        _without_loopback_port(uri) == portless for uri in registered
    )


def _without_loopback_port(uri: str) -> str | None:
    match = _LOOPBACK.fullmatch(uri)
    if match is None or (match["port"] is not None and int(match["port"]) > 65535):
        return None
    return f"http://{match['host']}{match['rest'] or ''}"


@runtime_checkable
class ClientStore(Protocol):
    """The client registry's storage port. Adapters: ``stores.memory.MemoryClientStore`` (the
    reference) and the SQL store. ``Client`` records are stored whole; secrets only as their
    hashes. Every method may raise the adapter's ``StoreUnavailable`` (a 503 at the edge).
    """

    async def get(self, client_id: str) -> Client | None:
        """The client, with its secret hashes, or ``None`` (disabled clients included)."""
        ...

    async def create(self, client: Client) -> None:
        """Store a new client.

        Raises:
            ValueError: a client with this ``client_id`` exists (ids are server-generated
                and random, so this means a bug or a replayed create).
        """
        ...

    async def list(self, *, limit: int = 100, after: str | None = None) -> list[Client]:
        """Clients ordered by ``(created_at, client_id)``, ``limit`` at most, starting after
        the client ``after`` (a page cursor)."""
        ...

    async def update(self, client: Client) -> bool:
        """Replace the registration of ``client.client_id`` (every field but ``created_at``
        and ``secret_hashes``, which have their own operations). ``False`` if unknown."""
        ...

    async def set_disabled(self, client_id: str, disabled: bool) -> bool:
        """Disable or enable; ``False`` if unknown. Idempotent."""
        ...

    async def rotate_secret(
        self, client_id: str, new: ClientSecretHash, *, previous_expires_at: float, now: float
    ) -> bool:
        """In one step: the current secret gets ``expires_at = previous_expires_at`` (the
        overlap; ``now`` ends it at once), any older secret is dropped, and ``new`` becomes the
        current one. ``False`` if unknown. Two concurrent rotations leave exactly one current
        secret."""
        ...

    async def delete(self, client_id: str) -> bool:
        """Remove the client and its secrets; ``False`` if unknown. Tokens already issued to
        it are not touched here (``ClientRegistry.delete`` ends its sessions)."""
        ...
