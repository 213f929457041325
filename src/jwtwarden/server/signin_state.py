"""What the hosted sign-in keeps between requests, and its CSRF defence.

- The pending authorization request, between ``GET /oauth/authorize`` and ``POST /signin``,
  is sealed (AES-256-GCM from ``cryptography``, a random 96-bit nonce each time, a fixed
  associated-data label) into the form's ``request`` field, with an expiry (10 minutes) and
  the hash of the browser's pre-session cookie. Nothing in the form is trusted unsealed: the
  redirect URI, the PKCE challenge and the scope come only from the sealed value, and the
  client and redirect URI are checked against the registry again when it is opened.
- Login CSRF (a cross-site page signing the victim in as the attacker): the form's
  ``csrf_token`` is HMAC-SHA256 of the pre-session cookie (``__Host-jwtwarden-presignin``,
  random, set with the form), so only a page that can read this browser's cookie can compute
  it (a signed double submit, OWASP CSRF cheat sheet); and the ``Origin`` header must be the
  issuer's origin (RFC 6454). The same HMAC of the sign-in session's id guards the sign-out
  and account forms.
- The sign-in session cookie ``__Host-jwtwarden-signin`` (HttpOnly, Secure, SameSite=Lax,
  Path=/): Lax, because ``GET /oauth/authorize`` arrives as a cross-site top-level navigation
  from the client's site and must see it. In development over ``http://127.0.0.1`` the cookies
  keep ``Secure`` and ``__Host-``, as ``server/cookies.py`` does: browsers treat loopback
  origins as secure contexts and accept them there (Chromium, Firefox); a client whose cookie
  jar does not (Python's ``http.cookiejar``) must send them as a browser would.

Keys: HKDF-SHA256 of the KEK with their own ``info``, so every process seals and opens alike;
in development without a KEK, of ``DATA_DIR/signin.key`` (32 random bytes, ``0600``), like
the other development keys (``_files.random_key_file``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import Response

from .._files import private_directory, random_key_file
from ..oauth.authorize import AuthorizationRequest

__all__ = [
    "PENDING_TTL",
    "PRESIGNIN_COOKIE",
    "SIGNIN_COOKIE",
    "SignInState",
    "origin_of",
    "signin_key",
]

SIGNIN_COOKIE = "__Host-jwtwarden-signin"
PRESIGNIN_COOKIE = "__Host-jwtwarden-presignin"
PENDING_TTL = 600.0  # seconds a sign-in form stays usable
KEY_FILE = "signin.key"
_INFO = b"jwtwarden/server/signin/v1"
_AAD = b"jwtwarden/authorize/pending/v1"
_PRESIGNIN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
_MAX_SEALED = 8192


def signin_key(kek: bytes | None, data_dir: Path) -> bytes:
    """64 bytes of key: the AEAD key, then the CSRF MAC key (RFC 5869, own ``info``)."""
    if kek is None:
        private_directory(data_dir, what="data directory (JWTWARDEN_DATA_DIR)")
        kek = random_key_file(data_dir / KEY_FILE, size=32, what="sign-in key")
    return HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=_INFO).derive(kek)


def origin_of(url: str) -> str:
    """The ASCII origin (RFC 6454 6.2) of an absolute URL: ``scheme://host[:port]``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class SignInState:
    """Sealing, CSRF tokens and cookies of the hosted sign-in (``issuer``: its origin is the
    one a form may be posted from)."""

    key: bytes = field(repr=False)
    issuer: str

    @property
    def _aead(self) -> AESGCM:
        return AESGCM(self.key[:32])

    def _mac(self, label: bytes, value: str) -> str:
        digest = hmac.new(self.key[32:], label + b"\x00" + value.encode(), hashlib.sha256)
        return _b64(digest.digest())

    # --- the pending request ------------------------------------------------------------

    def seal(self, request: AuthorizationRequest, *, presignin: str, now: float) -> str:
        """The sealed form of ``request``, bound to this browser's pre-session cookie."""
        payload: dict[str, Any] = {
            "c": request.client_id,
            "r": request.redirect_uri,
            "ri": request.redirect_uri_in_request,
            "s": request.state,
            "sc": request.scope,
            "cc": request.code_challenge,
            "n": request.nonce,
            "p": sorted(request.prompt),
            "m": request.max_age,
            "exp": now + PENDING_TTL,
            "b": self._mac(b"bind", presignin),
        }
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, json.dumps(payload).encode(), _AAD)
        return _b64(nonce + sealed)

    def open(self, sealed: str, *, presignin: str, now: float) -> dict[str, Any]:
        """The request's members, if ``sealed`` is ours, unexpired and of this browser.

        Raises:
            ValueError: anything else (one error: tampered, expired, another browser's).
        """
        try:
            raw = _unb64(sealed) if len(sealed) <= _MAX_SEALED else b""
            payload = json.loads(self._aead.decrypt(raw[:12], raw[12:], _AAD))
        except (InvalidTag, ValueError):
            raise ValueError("the sign-in form is not valid") from None
        if not isinstance(payload, dict) or not payload.get("exp", 0) > now:
            raise ValueError("the sign-in form has expired")
        if not hmac.compare_digest(str(payload.get("b")), self._mac(b"bind", presignin)):
            raise ValueError("the sign-in form belongs to another browser")
        return payload

    # --- CSRF ---------------------------------------------------------------------------

    def presignin_csrf(self, presignin: str) -> str:
        return self._mac(b"signin-csrf", presignin)

    def session_csrf(self, signin_session_id: str) -> str:
        return self._mac(b"session-csrf", signin_session_id)

    def check_origin(self, request: Request) -> bool:
        """The form was posted from this server's own pages (``Origin``, RFC 6454)."""
        origin = request.headers.get("origin")
        return origin is not None and origin.lower() == origin_of(self.issuer)

    @staticmethod
    def csrf_matches(presented: object, expected: str) -> bool:
        return isinstance(presented, str) and hmac.compare_digest(
            presented.encode("utf-8", "replace"), expected.encode()
        )

    # --- cookies ------------------------------------------------------------------------

    @staticmethod
    def presignin(request: Request) -> str | None:
        value = request.cookies.get(PRESIGNIN_COOKIE)
        return value if value is not None and _PRESIGNIN_SHAPE.fullmatch(value) else None

    @staticmethod
    def new_presignin() -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def set_cookie(response: Response, name: str, value: str, *, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax"
        )
