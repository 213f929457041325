"""The web-app SDK: sign-in with any OpenID provider, sessions in sealed cookies, transparent
refresh. Needs the ``webapp`` extra (Starlette/FastAPI or Flask, and ``httpx``).

    >>> from jwtwarden.webapp import WebAppSettings                  # doctest: +SKIP
    >>> from jwtwarden.webapp.starlette import WebApp, require_user  # doctest: +SKIP
    >>> WebApp(WebAppSettings(issuer=..., client_id=..., client_secret=...,  # doctest: +SKIP
    ...        base_url="https://app.example.com", session_secrets=[secret])).install(app)

The pieces: ``settings`` (``WebAppSettings``), ``sealing`` (``CookieSealer``: AES-GCM cookies),
``session`` (``WebSession``, ``WebUser``), ``client`` (``RelyingParty``: discovery, sign-in,
callback, refresh, sign-out), ``csrf`` (``CSRFProtection``), and the framework edges
``starlette`` and ``flask``. See docs/webapp.md.
"""

from __future__ import annotations

from .client import SESSION_COOKIE, RelyingParty
from .csrf import CSRFProtection
from .sealing import CookieSealer
from .session import WebSession, WebUser
from .settings import WebAppSettings

__all__ = [
    "SESSION_COOKIE",
    "CSRFProtection",
    "CookieSealer",
    "RelyingParty",
    "WebAppSettings",
    "WebSession",
    "WebUser",
]
