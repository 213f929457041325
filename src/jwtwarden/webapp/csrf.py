"""CSRF defence for the application's own state-changing routes: Origin check plus a token.

Two independent checks, both required on every unsafe method (OWASP CSRF cheat sheet;
RFC 6454 for origins):

1. **Origin**: the request's ``Origin`` header must be this application's origin exactly;
   without ``Origin``, the ``Referer``'s origin must be. Neither, or ``Origin: null`` (a
   sandboxed frame, a ``data:`` page), is refused: every current browser sends ``Origin`` on
   a POST, so only a forged or privacy-stripped request lacks both.
2. **Token**: a form field ``csrf_token`` (or header ``X-CSRF-Token``) equal to
   HMAC-SHA256(key, session id), the key derived from the session secret (HKDF, its own
   ``info``). It needs no storage, changes with each session, and a page of another site
   cannot read it.

The session cookie's ``SameSite=Lax`` is a third layer, not relied on alone (it does not
cover same-site attackers such as a sibling subdomain).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import urlsplit

from ..errors import CSRFError
from .sealing import derive_key

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "CSRFProtection"]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_INFO = b"jwtwarden webapp csrf v1"


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class CSRFProtection:
    """Issue and check CSRF tokens bound to a session, and check the request's origin.

    Parameters:
        secrets: the session secrets, newest first (the newest issues, any checks).
        origin: this application's origin, e.g. ``https://app.example.com``.
    """

    __slots__ = ("_keys", "_origin")

    def __init__(self, secrets: Sequence[str | bytes], origin: str) -> None:
        self._keys = tuple(derive_key(s, _INFO) for s in secrets)
        self._origin = origin.lower()

    def token(self, session_id: str) -> str:
        """The CSRF token for the session ``session_id`` (put it in every form)."""
        return self._token(self._keys[0], session_id)

    @staticmethod
    def _token(key: bytes, session_id: str) -> str:
        mac = hmac.new(key, session_id.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def check_origin(self, origin: str | None, referer: str | None) -> None:
        """Raise ``CSRFError`` unless the request comes from this application's origin."""
        if origin is not None:
            if origin.lower() != self._origin:
                raise CSRFError("the request comes from another origin")
            return
        if referer is not None and _origin_of(referer) == self._origin:
            return
        raise CSRFError("the request carries neither Origin nor a same-origin Referer")

    def check(
        self, session_id: str | None, token: str | None, origin: str | None, referer: str | None
    ) -> None:
        """Both checks of the module docstring.

        Raises:
            CSRFError: another origin, no origin at all, or a token missing or wrong.
        """
        self.check_origin(origin, referer)
        if session_id is None or not token or len(token) > 128:
            raise CSRFError("the request has no valid CSRF token")
        for key in self._keys:
            if hmac.compare_digest(self._token(key, session_id), token):
                return
        raise CSRFError("the request has no valid CSRF token")

    def __repr__(self) -> str:
        return f"CSRFProtection(origin={self._origin!r})"
