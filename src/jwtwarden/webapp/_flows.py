"""The relying party's flows, written once for sync and async callers.

Each flow is a generator that *yields effects* (discover the provider, POST to an endpoint,
verify a token, refresh a session) and receives their results; ``client.RelyingParty`` runs it
with a sync driver (Flask) or an async one (Starlette, FastAPI). The rules of the standards
live here, once:

- sign-in: authorization code with PKCE S256 (RFC 7636 4.2), ``state`` (RFC 6749 10.12) and
  ``nonce`` (OpenID Connect Core 3.1.2.1), all three kept in a short-lived sealed cookie named
  after the ``state`` (so two tabs can sign in at once);
- callback: ``state`` first, then RFC 9207's ``iss`` (mix-up defence), then the code exchange,
  the ID token through the verifier's ID-token profile with this sign-in's nonce, ``azp`` and
  ``at_hash`` (Core 3.1.3.7-8), the access token through the access-token profile;
- refresh: RFC 6749 6, the rotated refresh token kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Generator, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlencode

import httpx

from ..cache import CachedVerifier
from ..errors import (
    InvalidTokenError,
    ProviderUnavailableError,
    SessionEndedError,
    SignInError,
    WebSessionError,
)
from ..verify import VerifiedToken, Verifier
from .provider import Provider
from .sealing import CookieSealer
from .session import WebSession
from .settings import WebAppSettings

__all__ = [
    "SIGN_IN_COOKIE_PREFIX",
    "Discover",
    "Post",
    "Refresh",
    "SignInResult",
    "SignInStart",
    "UserInfo",
    "Verify",
    "begin_sign_in",
    "current_session",
    "finish_sign_in",
    "no_longer_valid",
    "refresh_session",
    "safe_return_path",
    "sign_in_cookie_name",
]

SIGN_IN_COOKIE_PREFIX = "__Host-jwtwarden-signin-"
_MAX_PARAM = 4096


class Discover(NamedTuple):
    """Effect: the discovered ``Provider``."""


class Post(NamedTuple):
    """Effect: POST ``form`` to ``url`` (guarded, client-authenticated when ``authenticate``)."""

    url: str
    form: dict[str, str]
    authenticate: bool = True


class UserInfo(NamedTuple):
    """Effect: GET the userinfo endpoint with the access token (Core 5.3.1); the JSON object."""

    url: str
    access_token: str


class Verify(NamedTuple):
    """Effect: ``verifier.verify(token)`` (or its async twin); failures are thrown back."""

    verifier: Verifier | CachedVerifier
    token: str


class Refresh(NamedTuple):
    """Effect: the session refreshed, once per refresh token however many requests ask."""

    session: WebSession


Flow = Generator[Any, Any, Any]


class SignInStart(NamedTuple):
    """Where to send the browser, and the sign-in cookie to set first."""

    url: str
    cookie_name: str
    cookie_value: str
    max_age: int


class SignInResult(NamedTuple):
    """A completed sign-in: the new session, where to go, and the sign-in cookie to clear."""

    session: WebSession
    return_to: str
    cookie_name: str


def safe_return_path(value: str | None) -> str:
    """``value`` if it is a path on this site, else ``/`` (no open redirect, RFC 9700 4.11)."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(c in value for c in "\\\r\n\t")
        or len(value) > 2048
    ):
        return "/"
    return value


def sign_in_cookie_name(state: str) -> str:
    """The sign-in cookie's name for ``state`` (a digest: the name never shows the state)."""
    return SIGN_IN_COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def begin_sign_in(settings: WebAppSettings, sealer: CookieSealer, return_to: str | None) -> Flow:
    provider: Provider = yield Discover()
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)  # RFC 7636 4.1: 43 to 128 unreserved characters
    params = {
        "response_type": "code",
        "client_id": settings.client_id,
        "redirect_uri": settings.redirect_uri,
        "scope": " ".join(settings.scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": _b64(hashlib.sha256(verifier.encode("ascii")).digest()),
        "code_challenge_method": "S256",
    }
    endpoint = provider.metadata.authorization_endpoint
    url = endpoint + ("&" if "?" in endpoint else "?") + urlencode(params)
    name = sign_in_cookie_name(state)
    pending = {"s": state, "n": nonce, "v": verifier, "r": safe_return_path(return_to)}
    lifetime = int(settings.sign_in_lifetime)
    return SignInStart(url, name, sealer.seal(name, pending, max_age=lifetime), lifetime)


def _param(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > _MAX_PARAM:
        raise SignInError(f"the {name} parameter of the authorization response is refused")
    return value


def finish_sign_in(
    settings: WebAppSettings,
    sealer: CookieSealer,
    params: Mapping[str, str],
    cookie: Callable[[str], str | None],
    now: float,
) -> Flow:
    state = _param(params, "state")
    if not state:
        raise SignInError("the authorization response has no state")
    name = sign_in_cookie_name(state)
    pending = sealer.open(name, cookie(name))
    if pending is None or not hmac.compare_digest(str(pending.get("s", "")), state):
        # RFC 6749 10.12: a response this browser did not ask for (login CSRF), or too late.
        raise SignInError("this sign-in is unknown or has expired; please sign in again")
    provider: Provider = yield Discover()
    iss = _param(params, "iss")
    if iss is None and provider.metadata.iss_parameter_supported:
        raise SignInError("the authorization response has no iss (RFC 9207 2.4)")
    if iss is not None and iss != settings.issuer:
        # RFC 9207 2.4: the response came from another provider (mix-up attack).
        raise SignInError("the authorization response comes from another issuer")
    error = _param(params, "error")
    if error is not None:
        raise SignInError(f"the provider refused the sign-in ({error[:64]})")
    code = _param(params, "code")
    if not code:
        raise SignInError("the authorization response has no code")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": settings.redirect_uri,
        "code_verifier": str(pending["v"]),
    }
    response = yield Post(provider.metadata.token_endpoint, form)
    data = token_data(response, refused=SignInError)
    id_token = data.get("id_token")
    if not isinstance(id_token, str):
        raise SignInError("the token response has no id_token (was openid asked for?)")
    try:
        verified: VerifiedToken = yield Verify(
            provider.id_token_verifier(str(pending["n"])), id_token
        )
    except InvalidTokenError as exc:
        raise SignInError(f"the ID token is refused: {exc.detail} [{exc.code}]") from None
    _check_id_token(settings, verified, data["access_token"])
    expires_at = yield from _access_expiry(provider, settings, data, now)
    claims = {k: verified.claims[k] for k in settings.user_claims if k in verified.claims}
    missing = [k for k in settings.user_claims if k not in claims]
    endpoint = provider.metadata.userinfo_endpoint
    if missing and endpoint is not None:
        # Core 5.4: with the code flow, the claims of the profile and email scopes come from
        # the UserInfo endpoint, not the ID token.
        info: dict[str, Any] = yield UserInfo(endpoint, data["access_token"])
        if info.get("sub") != verified.claims["sub"]:
            # Core 5.3.4: the sub of the UserInfo response MUST equal the ID token's.
            raise SignInError("the userinfo response is about another user (Core 5.3.4)")
        claims.update({k: info[k] for k in missing if k in info})
    refresh = data.get("refresh_token")
    session = WebSession.new(
        claims=claims,
        access_token=data["access_token"],
        access_expires_at=expires_at,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        id_token=id_token if settings.keep_id_token else None,
        now=now,
    )
    return SignInResult(session, safe_return_path(str(pending.get("r"))), name)


_AT_HASH = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def _check_id_token(settings: WebAppSettings, verified: VerifiedToken, access: str) -> None:
    claims = verified.claims
    aud = claims.get("aud")
    azp = claims.get("azp")
    if isinstance(aud, list) and len(aud) > 1 and azp is None:
        raise SignInError("the ID token has several audiences and no azp (Core 3.1.3.7)")
    if azp is not None and azp != settings.client_id:
        raise SignInError("the ID token was issued to another client (azp)")
    at_hash = claims.get("at_hash")
    if at_hash is not None:
        # Core 3.1.3.8 / 3.3.2.11: the left half of the hash of the access token, with the
        # hash of the ID token's algorithm (EdDSA: SHA-512, OpenID errata).
        alg = str(verified.header.get("alg", ""))
        digest = _AT_HASH.get("512" if alg == "EdDSA" else alg[-3:])
        if digest is None:
            raise SignInError(f"at_hash cannot be checked for {alg[:16]!r}")
        full = digest(access.encode("ascii")).digest()
        expected = _b64(full[: len(full) // 2])
        if not isinstance(at_hash, str) or not hmac.compare_digest(at_hash, expected):
            raise SignInError("the ID token's at_hash does not match the access token")


def _access_expiry(
    provider: Provider, settings: WebAppSettings, data: Mapping[str, Any], now: float
) -> Flow:
    access = data["access_token"]
    if provider.access_verifier is not None:
        try:
            verified: VerifiedToken = yield Verify(provider.access_verifier, access)
        except InvalidTokenError as exc:
            raise ProviderUnavailableError(
                f"the provider's access token is refused: {exc.detail} [{exc.code}]"
            ) from None
        client_id = verified.claims.get("client_id")
        if client_id is not None and client_id != settings.client_id:
            raise ProviderUnavailableError("the access token was issued to another client")
        return float(verified.claims["exp"])
    expires_in = data.get("expires_in")
    if type(expires_in) is int and expires_in > 0:
        return now + expires_in
    return None


def token_data(response: httpx.Response, *, refused: type[WebSessionError]) -> dict[str, Any]:
    """The token endpoint's answer (RFC 6749 5.1), or the error it stands for (5.2).

    ``invalid_grant`` raises ``refused`` (a sign-in that failed, or a session that ended);
    everything else the provider cannot be used for now: ``ProviderUnavailableError``.
    """
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ProviderUnavailableError(
            f"the token endpoint answered HTTP {response.status_code} without a JSON object"
        )
    error = data.get("error")
    if response.status_code != 200 or error is not None:
        code = error[:40] if isinstance(error, str) else "unknown"
        if code == "invalid_grant":
            raise refused("the provider refused the grant (invalid_grant)")
        raise ProviderUnavailableError(
            f"the token endpoint answered HTTP {response.status_code} ({code})"
        )
    access = data.get("access_token")
    token_type = data.get("token_type")
    if not isinstance(access, str) or not access:
        raise ProviderUnavailableError("the token response has no access_token")
    if not isinstance(token_type, str) or token_type.lower() not in ("bearer", "dpop"):
        raise ProviderUnavailableError("the token response's token_type is not Bearer")
    return data


def refresh_session(session: WebSession, settings: WebAppSettings, now: float) -> Flow:
    if session.refresh_token is None:
        raise SessionEndedError("the access token expired and the session has no refresh token")
    provider: Provider = yield Discover()
    form = {"grant_type": "refresh_token", "refresh_token": session.refresh_token}
    response = yield Post(provider.metadata.token_endpoint, form)
    data = token_data(response, refused=SessionEndedError)
    expires_at = yield from _access_expiry(provider, settings, data, now)
    refresh = data.get("refresh_token")
    # Core 12.2: a refreshed ID token may come back; the session keeps the claims verified at
    # sign-in (a refresh response's ID token has no nonce to bind it to this sign-in).
    return session.refreshed(
        access_token=data["access_token"],
        access_expires_at=expires_at,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
    )


def no_longer_valid(exc: InvalidTokenError) -> SessionEndedError:
    """What a live session's access token refused by the verifier means: the provider no
    longer vouches for it (its key withdrawn, the token revoked by a hook): the session ends."""
    return SessionEndedError(f"the session's access token is no longer valid [{exc.code}]")


def current_session(session: WebSession, settings: WebAppSettings, now: float) -> Flow:
    """The per-request check: refresh when due (RFC 6749 6), then the access token through
    the cached verifier. ``RelyingParty.authenticate`` runs the same check without the flow
    for a live session of a known provider (the hot path)."""
    if session.due(now, settings.refresh_margin):
        session = yield Refresh(session)
    provider: Provider = yield Discover()
    if provider.access_verifier is not None:
        try:
            yield Verify(provider.access_verifier, session.access_token)
        except InvalidTokenError as exc:
            raise no_longer_valid(exc) from None
    return session
