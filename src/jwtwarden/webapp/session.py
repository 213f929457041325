"""``WebSession`` (what the sealed cookie holds) and ``WebUser`` (what a handler sees).

The session holds only what the application needs: the user's chosen ID token claims, the
access token and its expiry, the refresh token, and (for RP-initiated logout) the ID token.
It travels sealed (``sealing.CookieSealer``), so the browser can neither read nor use any of
it elsewhere; its ``repr`` never shows a token.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

__all__ = ["WebSession", "WebUser", "has_containers", "readonly_claims"]


def _str_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, str) and bool(value))


def _copy_json(value: Any) -> Any:
    kind = type(value)
    if kind is dict or kind is MappingProxyType:
        return {name: _copy_json(item) for name, item in value.items()}
    if kind is list:
        return [_copy_json(item) for item in value]
    return value


def readonly_claims(claims: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only view of a private deep copy of ``claims`` (a session's claims are shared by
    every request of the session: no handler may change them for the next one)."""
    return MappingProxyType(_copy_json(claims))


def has_containers(claims: Mapping[str, Any]) -> bool:
    """Whether a claim holds a list or an object (a read-only view does not cover those)."""
    return any(type(v) is dict or type(v) is list for v in claims.values())


def _time_or_none(value: Any) -> bool:
    return value is None or (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class WebUser:
    """The signed-in user: ``sub`` and the ID token claims the settings keep.

    Duck-types Starlette's ``BaseUser`` (``is_authenticated``, ``display_name``,
    ``identity``), so ``request.user`` works in templates and ``requires``.
    """

    sub: str
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def email(self) -> str | None:
        value = self.claims.get("email")
        return value if isinstance(value, str) else None

    @property
    def name(self) -> str | None:
        value = self.claims.get("name")
        return value if isinstance(value, str) else None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.name or self.email or self.sub

    @property
    def identity(self) -> str:
        return self.sub


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSession:
    """One signed-in browser session (sealed into the session cookie).

    ``sid`` is this application's own random session id (never the provider's): it keys the
    single refresh in flight, the CSRF token and, with a server-side store, the stored record.
    ``claims`` is read-only.
    """

    sid: str
    sub: str
    claims: Mapping[str, Any]
    access_token: str
    access_expires_at: float | None
    refresh_token: str | None
    id_token: str | None
    created_at: float

    @classmethod
    def new(
        cls,
        *,
        claims: Mapping[str, Any],
        access_token: str,
        access_expires_at: float | None,
        refresh_token: str | None,
        id_token: str | None,
        now: float,
    ) -> WebSession:
        """A fresh session with a new random ``sid``."""
        return cls(
            sid=secrets.token_urlsafe(16),
            sub=str(claims["sub"]),
            claims=readonly_claims(claims),
            access_token=access_token,
            access_expires_at=access_expires_at,
            refresh_token=refresh_token,
            id_token=id_token,
            created_at=now,
        )

    @property
    def user(self) -> WebUser:
        return WebUser(sub=self.sub, claims=self.claims)

    def refreshed(
        self, *, access_token: str, access_expires_at: float | None, refresh_token: str | None
    ) -> WebSession:
        """The same session with the tokens of a refresh (RFC 6749 6: keep the old refresh
        token when the provider sends no new one)."""
        return replace(
            self,
            access_token=access_token,
            access_expires_at=access_expires_at,
            refresh_token=refresh_token or self.refresh_token,
        )

    def copy(self) -> WebSession:
        """This session with its own copy of any list or object among the claims (a cached
        session is handed to many requests; the rest of it is immutable)."""
        if not has_containers(self.claims):
            return self
        return replace(self, claims=readonly_claims(self.claims))

    def due(self, now: float, margin: float) -> bool:
        """Whether the access token is expired or within ``margin`` seconds of it."""
        return self.access_expires_at is not None and now >= self.access_expires_at - margin

    def to_payload(self) -> dict[str, Any]:
        """The compact form sealed into the cookie (short keys: a cookie has 4 KB)."""
        payload: dict[str, Any] = {
            "i": self.sid,
            "u": dict(self.claims),
            "a": self.access_token,
            "e": self.access_expires_at,
            "c": self.created_at,
        }
        if self.refresh_token is not None:
            payload["r"] = self.refresh_token
        if self.id_token is not None:
            payload["t"] = self.id_token
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> WebSession | None:
        """The session from ``to_payload``'s form, or ``None`` if it is not one."""
        sid, claims, access = payload.get("i"), payload.get("u"), payload.get("a")
        refresh, id_token = payload.get("r"), payload.get("t")
        expires, created = payload.get("e"), payload.get("c")
        if not (
            isinstance(sid, str)
            and isinstance(claims, dict)
            and isinstance(claims.get("sub"), str)
            and isinstance(access, str)
            and _str_or_none(refresh)
            and _str_or_none(id_token)
            and _time_or_none(expires)
            and isinstance(created, int | float)
        ):
            return None
        return cls(
            sid=sid,
            sub=claims["sub"],
            claims=MappingProxyType(claims),  # a fresh dict from JSON: ours alone
            access_token=access,
            access_expires_at=expires,
            refresh_token=refresh,
            id_token=id_token,
            created_at=float(created),
        )

    def __repr__(self) -> str:
        return (
            f"WebSession(sid=..., sub={self.sub!r}, access_expires_at={self.access_expires_at!r},"
            f" refresh_token={'...' if self.refresh_token else None})"
        )
