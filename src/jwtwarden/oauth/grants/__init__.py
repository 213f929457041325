"""The token endpoint's grant seam: one module per grant type, dispatched by ``grant_type``.

The endpoint (``server/routes/oauth.py``) does what every grant shares, in this order:

1. parse the form strictly (a repeated parameter is ``invalid_request``);
2. find the grant in the ``GrantRegistry`` (``unsupported_grant_type`` if none);
3. authenticate the client (``authentication.ClientAuthenticator``: ``invalid_client``);
4. refuse a client not registered for the grant type (``unauthorized_client``);
5. call ``grant.exchange(TokenRequest(...))`` and render its ``TokenResult`` (RFC 6749 5.1).

A grant therefore sees an authenticated (or, for a public client, identified) ``Client`` and
only the grant's own parameters; it raises ``jwtwarden.errors`` (``InvalidGrantError``,
``InvalidScopeError``, ``InvalidOAuthRequestError``, ...) which the edge renders per RFC 6749
5.2. Adding a grant is one module here and one line where the server builds its registry
(``server/runtime.py``, ``Runtime._grants``); the metadata's ``grant_types_supported`` is
read from the registry, so it lists only what is enabled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ...errors import InvalidOAuthRequestError
from ...sessions.ports import SessionRecord
from ..clients import Client

__all__ = ["Grant", "GrantRegistry", "TokenRequest", "TokenResult", "single_parameter"]


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenRequest:
    """One token request, after client authentication.

    Parameters:
        grant_type: the ``grant_type`` parameter (the one this grant is registered for).
        parameters: the form without the client authentication members (``client_id``,
            ``client_secret``, ``client_assertion``, ``client_assertion_type``) and without
            ``grant_type``; never logged (it may hold a code or a refresh token).
        client: the client, authenticated (confidential) or identified by ``client_id``
            (public).
        authentication_method: how it authenticated (``none`` for a public client).
        from_cookie: the refresh token came from the first-party session cookie (the edge
            checked Origin and CSRF); the result is then rendered into cookies.
        session: the refresh token's session, when the edge read it for that CSRF check
            (``SessionService.session_for``); the refresh does not read it again.
    """

    grant_type: str
    parameters: Mapping[str, str] = field(repr=False)
    client: Client
    authentication_method: str
    from_cookie: bool = False
    session: SessionRecord | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenResult:
    """What a grant issues: the RFC 6749 5.1 response members.

    ``refresh_token`` and ``session_id`` are ``None`` for ``client_credentials`` (RFC 6749
    4.4.3: no refresh token). ``extra`` holds further members of the body (``id_token`` once
    OpenID Connect exists); it cannot override the standard ones.
    """

    access_token: str = field(repr=False)
    expires_in: int
    scope: str
    refresh_token: str | None = field(default=None, repr=False)
    session_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)


@runtime_checkable
class Grant(Protocol):
    """A grant type of the token endpoint (RFC 6749 4 and 6)."""

    @property
    def grant_type(self) -> str:
        """The ``grant_type`` value it answers (``refresh_token``, ``authorization_code``, ...)."""
        ...

    async def exchange(self, request: TokenRequest) -> TokenResult:
        """Issue tokens for ``request`` or raise a ``jwtwarden.errors`` error
        (``InvalidGrantError``, ``InvalidScopeError``, ``InvalidOAuthRequestError``, ...)."""
        ...


class GrantRegistry:
    """The enabled grants, by ``grant_type``. Built once per process; read-only after.

    Example:
        >>> registry = GrantRegistry([RefreshTokenGrant(service)])  # doctest: +SKIP
        >>> registry.get("refresh_token")  # doctest: +SKIP
    """

    def __init__(self, grants: Iterable[Grant] = ()) -> None:
        self._grants: dict[str, Grant] = {}
        for grant in grants:
            self.register(grant)

    def register(self, grant: Grant) -> None:
        """Add ``grant``.

        Raises:
            ValueError: a grant for the same ``grant_type`` is registered already.
        """
        if grant.grant_type in self._grants:
            raise ValueError(f"a grant for {grant.grant_type!r} is registered already")
        self._grants[grant.grant_type] = grant

    def get(self, grant_type: str) -> Grant | None:
        """The grant for ``grant_type``, or ``None`` (``unsupported_grant_type``)."""
        return self._grants.get(grant_type)

    @property
    def grant_types(self) -> tuple[str, ...]:
        """The enabled grant types, sorted (RFC 8414 ``grant_types_supported``)."""
        return tuple(sorted(self._grants))


def single_parameter(parameters: Mapping[str, str], name: str, *, max_length: int = 4096) -> str:
    """A required parameter of a grant (the form parser already refused repeats).

    Raises:
        InvalidOAuthRequestError: missing, empty or too long.
    """
    value = parameters.get(name)
    if not value:
        raise InvalidOAuthRequestError(f"{name} is required")
    if len(value) > max_length or "\x00" in value:
        raise InvalidOAuthRequestError(f"{name} is malformed")
    return value
