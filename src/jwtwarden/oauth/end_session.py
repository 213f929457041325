"""OpenID Connect RP-Initiated Logout 1.0: what a logout request asks for, decided once and
framework-free; the HTTP edge (``server/routes/end_session.py``) renders and performs it.

- ``id_token_hint`` (section 2) must be an ID token this server signed (the ``id`` profile:
  its ``typ``, key and issuer), for a registered, enabled client. An expired hint is accepted
  (section 4: the RP's session "had a recent session", even when ``exp`` has passed) for at
  most ``max_hint_age`` after its ``iat``: the signature and every claim are checked as at the
  token's own issue time, then its age is bounded.
- ``client_id`` given with a hint must be the hint's audience (section 2: "MUST verify").
- ``post_logout_redirect_uri`` must exactly match one the client registered (section 3: "MUST
  NOT perform post-logout redirection" otherwise); without a client to check it against, or
  when it does not match, the answer is an error page, never a redirect (no open redirector).
- ``state`` is echoed on the redirect, untouched.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

from ..clock import Clock, FixedClock
from ..errors import ExpiredTokenError, InvalidTokenError, MalformedTokenError
from ..keys.keyset import KeySet
from ..verify import JWSVerifier, Verifier
from .clients import Client, ClientStore

__all__ = ["EndSessionRequest", "LogoutPlan", "LogoutRefused", "plan_logout", "verify_hint"]

_MAX_PARAMETER = 8192


class _IDPolicies(Protocol):
    def verification_policy(
        self, profile: str = ..., *, audience: Any, **overrides: Any
    ) -> Any: ...


class _IDKeys(Protocol):
    def verification_keys(self, token_use: str | None = None) -> KeySet: ...


class LogoutRefused(Exception):
    """A logout request the server answers with an error page (never a redirect).

    ``code`` is stable (``invalid_request``, ``invalid_id_token_hint``, ``unknown_client``,
    ``unregistered_post_logout_redirect_uri``); ``description`` is safe to show.
    """

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True, kw_only=True, slots=True)
class EndSessionRequest:
    """The parameters of section 2 that this server reads (``logout_hint`` and
    ``ui_locales`` are optional hints it does not use)."""

    id_token_hint: str | None = field(default=None, repr=False)
    client_id: str | None = None
    post_logout_redirect_uri: str | None = None
    state: str | None = None

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str]) -> EndSessionRequest:
        """From a query string or form (``LogoutRefused`` for an oversized parameter)."""
        for name in ("id_token_hint", "client_id", "post_logout_redirect_uri", "state"):
            if len(parameters.get(name, "")) > _MAX_PARAMETER:
                raise LogoutRefused("invalid_request", f"{name} is too long")
        return cls(
            id_token_hint=parameters.get("id_token_hint") or None,
            client_id=parameters.get("client_id") or None,
            post_logout_redirect_uri=parameters.get("post_logout_redirect_uri") or None,
            state=parameters.get("state") or None,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class LogoutPlan:
    """What to do: end the hinted session (``sid`` of a valid hint) without asking, or ask
    first (no valid hint); then redirect to ``redirect_to`` (with ``state``) or show the
    signed-out page."""

    client: Client | None
    subject: str | None = None
    sid: str | None = None
    redirect_to: str | None = None

    @property
    def hinted(self) -> bool:
        return self.subject is not None


def verify_hint(
    hint: str,
    *,
    client_id: str | None,
    issuer: _IDPolicies,
    keys: _IDKeys,
    clock: Clock,
    max_hint_age: float,
) -> dict[str, Any]:
    """The claims of a valid ``id_token_hint``; ``LogoutRefused`` otherwise.

    The signature first (the ``id`` use's keys), which makes the payload ours to read; then
    the whole ID-token profile as at the token's ``iat`` (so an expired hint passes), with the
    audience ``client_id`` when given, else the token's own; then its age.
    """
    refused = LogoutRefused("invalid_id_token_hint", "the id_token_hint is not a valid ID token")
    try:
        published = keys.verification_keys("id")
        if not len(published):
            raise refused
        jws = JWSVerifier(keys=published, algorithms=sorted(published.algorithms)).verify(hint)
        payload = json.loads(jws.payload)
        iat = payload.get("iat") if isinstance(payload, dict) else None
        if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
            raise MalformedTokenError("the hint has no iat")
        now = clock.now()
        if iat > now + 30 or now - iat > max_hint_age:
            raise ExpiredTokenError(
                "the hint is older than any session it could name", claim="iat", reason="too_old"
            )
        audience = client_id if client_id is not None else _own_audience(payload)
        policy = issuer.verification_policy(
            "id", audience=audience, expect_nonce=False, clock=FixedClock(float(iat))
        )
        claims: dict[str, Any] = dict(Verifier(policy).verify(hint).claims)
    except InvalidTokenError:
        raise refused from None
    except (ValueError, TypeError):
        raise refused from None
    return claims


def _own_audience(payload: Mapping[str, Any]) -> str:
    aud = payload.get("aud")
    if isinstance(aud, str) and aud:
        return aud
    azp = payload.get("azp")
    if isinstance(azp, str) and azp:
        return azp  # Core 2: the party the token was issued to when aud lists several
    raise MalformedTokenError("the hint names no client")


async def plan_logout(
    request: EndSessionRequest,
    *,
    clients: ClientStore,
    hint_claims: Mapping[str, Any] | None,
) -> LogoutPlan:
    """Decide a logout request whose hint (if any) ``verify_hint`` accepted.

    Raises:
        LogoutRefused: an unknown or disabled client, a ``client_id`` that is not the hint's,
            a ``post_logout_redirect_uri`` that is not registered or has no client to check.
    """
    client_id = request.client_id
    if hint_claims is not None:
        client_id = client_id or _own_audience(hint_claims)
    client = await clients.get(client_id) if client_id is not None else None
    if client_id is not None and (client is None or client.disabled):
        raise LogoutRefused("unknown_client", "the client of this logout is not registered")
    redirect_to = None
    uri = request.post_logout_redirect_uri
    if uri is not None:
        if client is None:
            raise LogoutRefused(
                "invalid_request",
                "post_logout_redirect_uri needs client_id or id_token_hint to check it against",
            )
        if not client.post_logout_redirect_uri_allowed(uri):
            raise LogoutRefused(
                "unregistered_post_logout_redirect_uri",
                "the post_logout_redirect_uri is not one this client registered",
            )
        redirect_to = _with_state(uri, request.state)
    subject = sid = None
    if hint_claims is not None:
        subject = str(hint_claims["sub"])
        sid_claim = hint_claims.get("sid")
        sid = sid_claim if isinstance(sid_claim, str) else None
    return LogoutPlan(client=client, subject=subject, sid=sid, redirect_to=redirect_to)


def _with_state(uri: str, state: str | None) -> str:
    if state is None:
        return uri
    parts = urlsplit(uri)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=query + urlencode({"state": state})))
