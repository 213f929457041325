"""Cookie mode for browser apps, and its CSRF defence.

Design:
- Cookie mode is on for every login when ``JWTWARDEN_COOKIE_MODE=true`` (then a login can never
  put the refresh token in a body: an XSS cannot ask for it), or per request with
  ``POST /auth/login?mode=cookie`` when the server has ``allowed_origins``.
- The refresh token travels only in an ``HttpOnly; Secure; SameSite`` cookie, named with the
  ``__Host-`` prefix (``Path=/``, no ``Domain``: no subdomain can set or shadow it). Without
  the prefix (``cookie_host_prefix=false``) it is ``__Secure-`` and set twice, scoped to the
  two paths that read it, ``/oauth/token`` and ``/auth/logout``. Optionally the access token
  too (``cookie_access_token``), ``HttpOnly`` and ``Path=/``.
- CSRF: a state-changing request that authenticates with these cookies must (1) carry an
  ``Origin`` header naming an allowed origin, and (2) echo the CSRF token in an
  ``X-CSRF-Token`` header equal to the CSRF cookie (double submit). The CSRF token is returned
  in the login body and in a non-HttpOnly cookie. Refusals are 403 ``access_denied``.
- Cookie tossing: a request carrying one of these cookie names twice is refused (403). A
  sibling subdomain can plant a ``__Secure-`` cookie (not a ``__Host-`` one) next to ours;
  the server must not guess which of the two is the real one. The CSRF cookie must also have
  the exact shape the server mints, so it is never reflected into a ``Set-Cookie`` otherwise.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from .errors import AccessDenied

__all__ = ["CSRF_HEADER", "CookiePolicy"]

CSRF_HEADER = "x-csrf-token"
_REFRESH_PATHS = ("/oauth/token", "/auth/logout")
_CSRF_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


def _cookie(request: Request, name: str) -> str | None:
    """The one value of cookie ``name``; ``AccessDenied`` if the request carries it twice."""
    value = request.cookies.get(name)
    if value is None:
        return None
    seen = 0
    for header in request.headers.getlist("cookie"):
        for item in header.split(";"):
            if item.strip().partition("=")[0].strip() == name:
                seen += 1
    if seen > 1:
        raise AccessDenied(
            "the request carries a session cookie twice", log_detail="csrf: duplicate cookie"
        )
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class CookiePolicy:
    """How session cookies are named, scoped and checked."""

    host_prefix: bool = True
    samesite: str = "strict"
    access_cookie: bool = False
    allowed_origins: frozenset[str] = frozenset()

    @property
    def prefix(self) -> str:
        return "__Host-" if self.host_prefix else "__Secure-"

    @property
    def refresh_name(self) -> str:
        return self.prefix + "jwtwarden_refresh"

    @property
    def access_name(self) -> str:
        return self.prefix + "jwtwarden_access"

    @property
    def csrf_name(self) -> str:
        return self.prefix + "jwtwarden_csrf"

    def _set(
        self, response: Response, name: str, value: str, *, max_age: int, path: str, http_only: bool
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=path,
            secure=True,
            httponly=http_only,
            samesite=self.samesite,  # type: ignore[arg-type]
        )

    def set_session(
        self,
        response: Response,
        *,
        refresh_token: str,
        refresh_max_age: int,
        access_token: str | None,
        access_max_age: int,
        csrf_token: str,
    ) -> None:
        """Set the refresh (and access) cookie and the CSRF cookie on ``response``."""
        for path in ("/",) if self.host_prefix else _REFRESH_PATHS:
            self._set(
                response,
                self.refresh_name,
                refresh_token,
                max_age=refresh_max_age,
                path=path,
                http_only=True,
            )
        if self.access_cookie and access_token is not None:
            self._set(
                response,
                self.access_name,
                access_token,
                max_age=access_max_age,
                path="/",
                http_only=True,
            )
        # Readable by the page's script (same origin), so it can echo it in X-CSRF-Token.
        self._set(
            response,
            self.csrf_name,
            csrf_token,
            max_age=refresh_max_age,
            path="/",
            http_only=False,
        )

    def clear(self, response: Response) -> None:
        """Expire every session cookie."""
        for path in ("/",) if self.host_prefix else _REFRESH_PATHS:
            self._set(response, self.refresh_name, "", max_age=0, path=path, http_only=True)
        if self.access_cookie:
            self._set(response, self.access_name, "", max_age=0, path="/", http_only=True)
        self._set(response, self.csrf_name, "", max_age=0, path="/", http_only=False)

    @staticmethod
    def new_csrf_token() -> str:
        return secrets.token_urlsafe(32)

    def refresh_cookie(self, request: Request) -> str | None:
        return _cookie(request, self.refresh_name) or None

    def access_cookie_value(self, request: Request) -> str | None:
        return _cookie(request, self.access_name) or None if self.access_cookie else None

    def check_origin(self, request: Request) -> None:
        """Refuse unless ``Origin`` names an allowed origin (RFC 6454; OWASP CSRF cheat sheet)."""
        origin = request.headers.get("origin")
        if origin is None or origin.lower() not in self.allowed_origins:
            raise AccessDenied(
                "cookie requests need an Origin header naming an allowed origin",
                log_detail="csrf: origin refused",
            )

    def check_csrf(self, request: Request) -> None:
        """Origin check plus double submit: ``X-CSRF-Token`` equals the CSRF cookie."""
        self.check_origin(request)
        cookie = _cookie(request, self.csrf_name) or ""
        header = request.headers.get(CSRF_HEADER, "")
        if (
            not _CSRF_SHAPE.fullmatch(cookie)
            or not header
            or not hmac.compare_digest(cookie.encode(), header.encode())
        ):
            raise AccessDenied(
                "cookie requests need the X-CSRF-Token header matching the CSRF cookie",
                log_detail="csrf: token mismatch",
            )

    @staticmethod
    def enabled_for(origins: Collection[str]) -> bool:
        return bool(origins)
