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
  ``X-CSRF-Token`` header equal to the CSRF cookie (double submit), and (3) that token must be
  the session's own: HMAC-SHA256 of the session id (the ``sid`` claim) under a key derived
  from the KEK (OWASP CSRF cheat sheet, "signed double-submit cookie"). A well-formed value
  an attacker planted, or the token of another session (the attacker's own login), is refused.
  The session is read from the credential the request authenticates with (the access token's
  ``sid``; for the refresh cookie, the session the token belongs to, looked up before it is
  spent). The CSRF token is returned in the login body and in a non-HttpOnly cookie; it stays
  the same across refreshes (the session does). Refusals are 403 ``access_denied``.
- Cookie tossing: a request carrying one of these cookie names twice is refused (403). A
  sibling subdomain can plant a ``__Secure-`` cookie (not a ``__Host-`` one) next to ours;
  the server must not guess which of the two is the real one. The CSRF cookie must also have
  the exact shape the server mints, so it is never reflected into a ``Set-Cookie`` otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import Response

from .errors import AccessDenied

__all__ = ["CSRF_HEADER", "CookiePolicy", "csrf_key"]

CSRF_HEADER = "x-csrf-token"
_REFRESH_PATHS = ("/oauth/token", "/auth/logout")
_CSRF_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # unpadded base64url of an HMAC-SHA256
_CSRF_KEY_BYTES = 32
# RFC 5869 3.2: a distinct ``info`` per use, so the CSRF key and the KEK's other uses (sealing
# signing keys) never share a key, and a CSRF token says nothing about the KEK.
_CSRF_INFO = b"jwtwarden/server/csrf/v1"


def csrf_key(kek: bytes | None) -> bytes:
    """The CSRF MAC key: HKDF-SHA256 of the KEK, so every process of a deployment computes
    the same tokens. Without a KEK (development only: production refuses to start without
    one) it is random per process: cookie sessions then need the CSRF token of the process
    that minted it, and do not survive a restart."""
    if kek is None:
        return secrets.token_bytes(_CSRF_KEY_BYTES)
    hkdf = HKDF(algorithm=hashes.SHA256(), length=_CSRF_KEY_BYTES, salt=None, info=_CSRF_INFO)
    return hkdf.derive(kek)


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
    csrf_key: bytes = field(default_factory=lambda: csrf_key(None), repr=False)

    def __post_init__(self) -> None:
        if len(self.csrf_key) < _CSRF_KEY_BYTES:
            raise ValueError(f"csrf_key must be at least {_CSRF_KEY_BYTES} bytes")

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

    def csrf_token(self, session_id: str) -> str:
        """The CSRF token of session ``session_id``: unpadded base64url of
        HMAC-SHA256(csrf_key, "csrf" NUL sid)."""
        mac = hmac.new(self.csrf_key, b"csrf\x00" + session_id.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")

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

    def check_csrf(self, request: Request, session_id: str | None) -> None:
        """Origin check, double submit (``X-CSRF-Token`` equals the CSRF cookie), and the
        token is the one of ``session_id``, the session the request's cookie authenticates
        (``None``: no such session, refused)."""
        self.check_origin(request)
        cookie = _cookie(request, self.csrf_name) or ""
        # latin-1: a header is bytes; a non-ASCII one must be a 403, not a TypeError.
        header = request.headers.get(CSRF_HEADER, "").encode("latin-1", "replace")
        if (
            not _CSRF_SHAPE.fullmatch(cookie)
            or not header
            or not hmac.compare_digest(cookie.encode(), header)
        ):
            raise AccessDenied(
                "cookie requests need the X-CSRF-Token header matching the CSRF cookie",
                log_detail="csrf: token mismatch",
            )
        # Evaluated even without a session, so both refusals cost the same.
        expected = self.csrf_token(session_id if session_id is not None else "")
        bound = hmac.compare_digest(expected.encode(), header)
        if session_id is None or not bound:
            raise AccessDenied(
                "the CSRF token does not belong to this session",
                log_detail="csrf: token of another session",
            )
