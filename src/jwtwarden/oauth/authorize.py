"""The authorization endpoint's core (RFC 6749 4.1.1-4.1.2, OAuth 2.1 4.1, RFC 7636 4.3,
RFC 9207, RFC 9700 2.1 and 4.1-4.2): validating an authorization request, and issuing a code
for a signed-in user. Framework-free; the hosted pages (``server/pages``) and the route
(``server/routes/authorize.py``) sit on top, so another UI can replace them.

Validation order (RFC 6749 4.1.2.1): the client and the redirect URI first. If either is
missing, unknown, repeated or not registered, ``AuthorizeError`` carries no redirect URI: the
edge shows an error page and never redirects (no open redirector, RFC 9700 4.11). Every later
error carries the registered redirect URI, ``state`` and the issuer (RFC 9207 2), and the edge
redirects there with ``error`` and ``error_description``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from ..errors import InvalidScopeError
from .clients import IDENTITY_SCOPES, Client, ClientStore
from .codes import CODE_TTL, AuthorizationCode, AuthorizationCodeStore, new_code, valid_challenge
from .scopes import granted_scope

__all__ = [
    "PROMPTS",
    "AuthorizationRequest",
    "AuthorizeError",
    "authorization_response",
    "issue_code",
    "validate_request",
]

# OpenID Connect Core 3.1.2.1 prompt values. "consent" and "select_account" are accepted and
# need nothing more here: the server has no third-party consent screen (its clients are
# registered by the deployment's administrators) and one account per browser.
PROMPTS = frozenset({"none", "login", "consent", "select_account"})
_MAX_STATE = 1024
_MAX_NONCE = 512
_MAX_AGE_LIMIT = 10 * 365 * 86400
_MAX_PARAMETER = 4096
_DIGITS = re.compile(r"[0-9]{1,10}")


class AuthorizeError(Exception):
    """A refused authorization request.

    ``redirect_uri`` is ``None`` when the client or the redirect URI cannot be trusted: then
    the user sees an error page, never a redirect. Otherwise the edge redirects to it with
    ``error``, ``error_description``, ``state`` and ``iss``.
    """

    def __init__(
        self,
        error: str,
        description: str,
        *,
        redirect_uri: str | None = None,
        state: str | None = None,
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state


@dataclass(frozen=True, kw_only=True, slots=True)
class AuthorizationRequest:
    """A validated authorization request (what a code will be bound to)."""

    client_id: str
    client_name: str
    redirect_uri: str
    redirect_uri_in_request: bool
    state: str | None = field(default=None, repr=False)
    scope: str
    code_challenge: str
    nonce: str | None = field(default=None, repr=False)
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None

    def error(self, error: str, description: str) -> AuthorizeError:
        """An error that goes back to the client's redirect URI."""
        return AuthorizeError(error, description, redirect_uri=self.redirect_uri, state=self.state)


def _single(values: Mapping[str, list[str]], name: str) -> str | None:
    found = [value for value in values.get(name, ()) if value != ""]
    if len(found) > 1:
        raise ValueError(f"{name} is repeated")
    if found and ("\x00" in found[0] or len(found[0]) > _MAX_PARAMETER):
        # No parameter has a NUL (PostgreSQL text cannot hold one) or needs 4 KiB.
        raise ValueError(f"{name} is malformed")
    return found[0] if found else None


async def validate_request(
    params: Mapping[str, list[str]], *, clients: ClientStore, server_scopes: Collection[str]
) -> AuthorizationRequest:
    """Check an authorization request (query or form parameters, each a list of values).

    Raises:
        AuthorizeError: refused; see the module docstring for page versus redirect.
    """
    try:
        client_id = _single(params, "client_id")
        uri = _single(params, "redirect_uri")
    except ValueError as exc:
        raise AuthorizeError("invalid_request", str(exc)) from None
    if client_id is None:
        raise AuthorizeError("invalid_request", "client_id is required")
    client = await clients.get(client_id) if len(client_id) <= 64 else None
    if client is None or client.disabled:
        raise AuthorizeError("invalid_client", "this client is unknown or disabled")
    redirect_uri = _redirect_uri(client, uri)
    try:
        state = _single(params, "state")
    except ValueError as exc:
        raise AuthorizeError("invalid_request", str(exc), redirect_uri=redirect_uri) from None
    if state is not None and len(state) > _MAX_STATE:
        # Not echoed: an over-long state would make the redirect unusable.
        raise AuthorizeError("invalid_request", "state is too long", redirect_uri=redirect_uri)
    base = AuthorizationRequest(
        client_id=client.client_id,
        client_name=client.name,
        redirect_uri=redirect_uri,
        redirect_uri_in_request=uri is not None,
        state=state,
        scope="",
        code_challenge="",
    )
    return _checked(params, client, base, server_scopes)


def _redirect_uri(client: Client, uri: str | None) -> str:
    if uri is None:
        # RFC 6749 3.1.2.3 / OAuth 2.1 2.3.2: optional only with exactly one registered URI.
        if len(client.redirect_uris) == 1:
            return client.redirect_uris[0]
        raise AuthorizeError("invalid_request", "redirect_uri is required for this client")
    if not client.redirect_uri_allowed(uri):
        # RFC 9700 4.1.3: exact comparison; a mismatch is never redirected to.
        raise AuthorizeError("invalid_request", "redirect_uri is not registered for this client")
    return uri


def _checked(
    params: Mapping[str, list[str]],
    client: Client,
    base: AuthorizationRequest,
    server_scopes: Collection[str],
) -> AuthorizationRequest:
    try:
        values = {
            name: _single(params, name)
            for name in (
                "response_type",
                "response_mode",
                "scope",
                "code_challenge",
                "code_challenge_method",
                "nonce",
                "prompt",
                "max_age",
                "request",
                "request_uri",
            )
        }
    except ValueError as exc:
        raise base.error("invalid_request", str(exc)) from None
    if values["request"] is not None or values["request_uri"] is not None:
        raise base.error("request_not_supported", "request objects are not supported")
    response_type = values["response_type"]
    if response_type is None:
        raise base.error("invalid_request", "response_type is required")
    if response_type != "code":
        # OAuth 2.1 4.1.1: the code flow only (no implicit, no hybrid).
        raise base.error("unsupported_response_type", "only response_type=code is supported")
    if values["response_mode"] not in (None, "query"):
        raise base.error("invalid_request", "only response_mode=query is supported")
    if not client.allows_grant("authorization_code"):
        raise base.error("unauthorized_client", "this client may not use the code flow")
    challenge, method = values["code_challenge"], values["code_challenge_method"]
    # RFC 7636 4.3 and OAuth 2.1 4.1.1: PKCE for every client; S256 only (a missing method
    # means "plain", RFC 7636 4.3, which RFC 9700 2.1.1 tells servers to refuse).
    if challenge is None:
        raise base.error("invalid_request", "code_challenge is required (PKCE, S256)")
    if method != "S256":
        raise base.error("invalid_request", "code_challenge_method must be S256")
    if not valid_challenge(challenge):
        raise base.error("invalid_request", "code_challenge is not an S256 challenge")
    try:
        # Without a scope parameter, the client's default (RFC 6749 3.3) leaves out the
        # identity scopes: an OpenID Connect request names openid itself (Core 3.1.2.1).
        offered = (
            server_scopes
            if values["scope"] is not None
            else (frozenset(server_scopes) - IDENTITY_SCOPES)
        )
        scope = granted_scope(values["scope"], client, server_scopes=offered, with_identity=True)
    except InvalidScopeError as exc:
        raise base.error("invalid_scope", exc.detail) from None
    nonce = values["nonce"]
    if nonce is not None and len(nonce) > _MAX_NONCE:
        raise base.error("invalid_request", "nonce is too long")
    if nonce is None and client.is_public and "openid" in scope.split(" "):
        # OpenID Connect Core 3.1.2.1 leaves nonce OPTIONAL in the code flow; this server
        # requires it of public clients (issue 15): with no secret, the nonce is what binds the
        # ID token to the browser session that asked for it (Core 15.5.2, 3.1.3.7 step 11).
        raise base.error("invalid_request", "a public client's openid request needs a nonce")
    prompt = frozenset((values["prompt"] or "").split())
    if not prompt <= PROMPTS or ("none" in prompt and len(prompt) > 1):
        raise base.error("invalid_request", "prompt is not understood")
    max_age = None
    if values["max_age"] is not None:
        if not _DIGITS.fullmatch(values["max_age"]):
            raise base.error("invalid_request", "max_age must be a number of seconds")
        max_age = min(int(values["max_age"]), _MAX_AGE_LIMIT)
    # The client, redirect URI and state are base's, checked first (RFC 6749 4.1.2.1).
    return replace(
        base, scope=scope, code_challenge=challenge, nonce=nonce, prompt=prompt, max_age=max_age
    )


async def issue_code(
    request: AuthorizationRequest,
    *,
    codes: AuthorizationCodeStore,
    user_id: str,
    auth_time: float,
    signin_session_id: str | None,
    now: float,
) -> str:
    """Store a code for ``request`` and ``user_id`` and return it (the only time it exists)."""
    code, digest = new_code()
    await codes.create_code(
        AuthorizationCode(
            code_hash=digest,
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            redirect_uri_in_request=request.redirect_uri_in_request,
            code_challenge=request.code_challenge,
            scope=request.scope,
            user_id=user_id,
            auth_time=auth_time,
            nonce=request.nonce,
            signin_session_id=signin_session_id,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    return code


def authorization_response(redirect_uri: str, issuer: str, **members: str | None) -> str:
    """The redirect URI with the response's members added to its query (RFC 6749 4.1.2 and
    3.1.2: a query of the registered URI is kept) and ``iss`` always (RFC 9207 2)."""
    items = [(name, value) for name, value in members.items() if value is not None]
    items.append(("iss", issuer))
    separator = "&" if "?" in redirect_uri else "?"
    return redirect_uri + separator + urlencode(items)
