"""``CookieSealer``: seal a small JSON payload into a cookie value, and open it again.

AES-256-GCM through ``cryptography`` (``AESGCM``), one key per application secret derived
with HKDF-SHA256 (RFC 5869), so a secret is never used as a key directly and the same secret
can serve other purposes (the CSRF key) under another ``info``. Rotation as ``MultiFernet``
does it: the newest secret seals, any listed secret opens.

The cookie's **name** is the associated data (RFC 5116 2.1): a value sealed for the sign-in
cookie cannot be replayed as the session cookie. The **expiry** is inside the sealed payload,
so a browser that keeps a cookie past its ``Max-Age`` (or an attacker who copied it) gains
nothing. Every failure (a foreign value, a tampered byte, an old key, an expired payload) opens
as ``None``: a cookie the application did not seal is simply no session.

Wire form: ``v1.`` + base64url(nonce(12) || ciphertext || tag(16)).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .._jose.b64 import is_canonical
from ..clock import SYSTEM_CLOCK, Clock
from ..errors import SessionTooLargeError

__all__ = ["MAX_COOKIE_BYTES", "MIN_SECRET_BYTES", "CookieSealer", "derive_key"]

MIN_SECRET_BYTES = 32
# RFC 6265 6.1: browsers keep at least 4096 bytes per cookie, name and value together; a few
# bytes are left for the attributes some browsers count as well.
MAX_COOKIE_BYTES = 4000
_PREFIX = "v1."
_NONCE = 12
_INFO_SEAL = b"jwtwarden webapp cookie v1"
_TO_STANDARD = str.maketrans("-_", "+/")


def _secret_bytes(secret: str | bytes) -> bytes:
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not isinstance(raw, bytes):
        raise TypeError("a session secret is str or bytes")
    if len(raw) < MIN_SECRET_BYTES:
        raise ValueError(
            f"a session secret must be at least {MIN_SECRET_BYTES} bytes "
            "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return raw


def derive_key(secret: str | bytes, info: bytes) -> bytes:
    """A 32-byte key for one purpose (``info``) from an application secret (HKDF, RFC 5869).

    Raises:
        ValueError: the secret is shorter than 32 bytes.
    """
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
        _secret_bytes(secret)
    )


def _secrets(secrets: str | bytes | Sequence[str | bytes]) -> tuple[str | bytes, ...]:
    items = (secrets,) if isinstance(secrets, str | bytes) else tuple(secrets)
    if not items:
        raise ValueError("give at least one session secret")
    return items


class CookieSealer:
    """Seal and open cookie values with AES-GCM; the first secret seals, any secret opens.

    Parameters:
        secrets: the application secret (>= 32 bytes), or a list newest first for rotation.
        clock: "now" for the expiry inside each sealed value.

    Raises:
        ValueError, TypeError: a secret that is missing, too short, or not text or bytes.

    Example:
        >>> sealer = CookieSealer([new_secret, old_secret])  # doctest: +SKIP
        >>> value = sealer.seal("__Host-session", {"sub": "alice"}, max_age=3600)  # doctest: +SKIP
        >>> sealer.open("__Host-session", value)  # doctest: +SKIP
        {'sub': 'alice'}
    """

    __slots__ = ("_aeads", "_clock", "_secrets")

    def __init__(
        self, secrets: str | bytes | Sequence[str | bytes], *, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._secrets = _secrets(secrets)
        self._aeads = tuple(AESGCM(derive_key(s, _INFO_SEAL)) for s in self._secrets)
        self._clock = clock

    @property
    def secrets(self) -> tuple[str | bytes, ...]:
        """The secrets, newest first (for deriving the application's other keys)."""
        return self._secrets

    def seal(
        self,
        name: str,
        payload: Mapping[str, Any],
        *,
        max_age: float,
        max_bytes: int = MAX_COOKIE_BYTES,
    ) -> str:
        """The cookie value for ``payload`` under cookie ``name``, valid for ``max_age`` s.

        ``max_bytes``: the limit of name and value together (a cookie's by default; a
        server-side session store allows more).

        Raises:
            SessionTooLargeError: name and value would pass ``max_bytes``.
        """
        body = json.dumps(
            {"exp": self._clock.now() + max_age, "d": dict(payload)},
            separators=(",", ":"),
            ensure_ascii=True,
        ).encode("ascii")
        nonce = os.urandom(_NONCE)  # 96-bit random nonce: NIST SP 800-38D 8.2.2
        sealed = self._aeads[0].encrypt(nonce, body, _associated(name))
        value = _PREFIX + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        if len(name) + 1 + len(value) > max_bytes:
            if max_bytes == MAX_COOKIE_BYTES:
                raise SessionTooLargeError(
                    f"the sealed cookie {name!r} would be {len(value)} bytes; a browser keeps "
                    f"about {MAX_COOKIE_BYTES}: keep fewer claims or use a server-side session "
                    "store"
                )
            raise SessionTooLargeError(
                f"the sealed session would be {len(value)} bytes; the limit is {max_bytes}"
            )
        return value

    def open(
        self, name: str, value: str | None, *, max_bytes: int = MAX_COOKIE_BYTES
    ) -> dict[str, Any] | None:
        """The payload sealed under ``name``, or ``None`` (absent, foreign, tampered, expired)."""
        opened = self.open_until(name, value, max_bytes=max_bytes)
        return None if opened is None else opened[0]

    def open_until(
        self, name: str, value: str | None, *, max_bytes: int = MAX_COOKIE_BYTES
    ) -> tuple[dict[str, Any], float] | None:
        """Like ``open``, with the sealed expiry (epoch seconds) next to the payload: the
        session cache keeps an opened value no longer than that."""
        if not value or not value.startswith(_PREFIX) or len(value) > max_bytes:
            return None
        encoded = value[len(_PREFIX) :]
        # One canonical encoding per value (strict alphabet, zero unused bits), so a cookie
        # has no look-alike twin; the content itself is protected by the AEAD tag below.
        if "+" in encoded or "/" in encoded or "=" in encoded or not is_canonical(encoded):
            return None
        try:
            padded = encoded.translate(_TO_STANDARD) + "=" * (-len(encoded) % 4)
            raw = binascii.a2b_base64(padded, strict_mode=True)
        except (binascii.Error, ValueError):
            return None
        if len(raw) < _NONCE + 16:
            return None
        nonce, sealed = raw[:_NONCE], raw[_NONCE:]
        for aead in self._aeads:
            try:
                body = aead.decrypt(nonce, sealed, _associated(name))
            except InvalidTag:
                continue
            return self._payload(body)
        return None

    def _payload(self, body: bytes) -> tuple[dict[str, Any], float] | None:
        try:
            envelope = json.loads(body)
        except ValueError:  # pragma: no cover - we sealed it, it is our JSON
            return None
        exp, data = envelope.get("exp"), envelope.get("d")
        if not isinstance(exp, int | float) or not isinstance(data, dict):
            return None  # pragma: no cover - same
        if self._clock.now() >= exp:
            return None
        return data, float(exp)

    def __repr__(self) -> str:
        return f"CookieSealer(secrets={len(self._secrets)})"


def _associated(name: str) -> bytes:
    return b"jwtwarden.webapp.v1|" + name.encode("utf-8")
