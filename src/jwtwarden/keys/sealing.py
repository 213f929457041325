"""Sealing private keys at rest under a key-encryption key (KEK), shared by the stores that
keep key material themselves (``DirectoryKeyStore`` files, ``SQLKeyStore`` rows).

A record's JWK is encrypted with AES-256-GCM (``cryptography``'s ``AESGCM``; never our own
cryptography) under the 32-byte KEK, with a random 96-bit nonce per write (NIST SP 800-38D
section 8.2.2: random nonces are safe far beyond the number of writes a key ring makes). The
associated data is the record's whole lifecycle metadata (kid, alg, use, environment, state,
dates) plus a format label, so editing any of it in the file or row, or moving a sealed key
next to another key's metadata, makes the record undecryptable instead of silently changing
which key signs or verifies.

The associated data and the kek id are part of every existing file and row: changing how
they are built makes every stored key unreadable, so they are fixed here in one place.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .._jose.b64 import b64url_decode_checked, b64url_encode
from ..errors import JWTWardenError, KeyStoreError
from .key import Key, import_jwk
from .records import KeyRecord

__all__ = ["KEK_BYTES", "METADATA", "KeySealer", "decode_kek"]

KEK_BYTES = 32
"""The length of a key-encryption key (AES-256)."""

METADATA = (
    "kid",
    "alg",
    "token_use",
    "environment",
    "state",
    "publish_at",
    "activate_at",
    "retire_at",
    "remove_at",
    "revoked",
)
"""The metadata members that are authenticated with the sealed key, in a stable order."""

# The label inside the associated data (both stores use this value: existing files and rows
# were sealed with it).
_ASSOCIATED_FORMAT = "jwtwarden-key/1"
_NONCE_BYTES = 12


def _dumps(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def decode_kek(encoded: str, where: str = "$JWTWARDEN_KEK") -> bytes:
    """The 32 KEK bytes from their base64url form.

    Parameters:
        encoded: the base64url text (surrounding white space is ignored).
        where: where the value came from, for the error message.

    Raises:
        KeyStoreError: not the base64url encoding of 32 bytes (the value is never quoted).

    Example:
        >>> len(decode_kek("A" * 43))
        32
    """
    try:
        raw = b64url_decode_checked(encoded.strip())
    except ValueError:
        raw = b""
    if len(raw) != KEK_BYTES:
        raise KeyStoreError(f"{where} must be the base64url encoding of {KEK_BYTES} bytes")
    return raw


class KeySealer:
    """Seals and opens key records under one KEK.

    Parameters:
        kek: the 32-byte key-encryption key.
        medium: what holds a sealed record (``"file"``, ``"row"``), for error messages.
        malformed: the error wording for an unreadable nonce or sealed key.

    Raises:
        ValueError: ``kek`` is not 32 bytes.

    Example:
        >>> sealer = KeySealer(bytes(32), medium="file")
        >>> len(sealer.kek_id)
        16
    """

    __slots__ = ("_aead", "_malformed", "_medium", "kek_id")

    def __init__(self, kek: bytes, *, medium: str, malformed: str = "is malformed") -> None:
        if not isinstance(kek, bytes) or len(kek) != KEK_BYTES:
            raise ValueError(f"kek must be {KEK_BYTES} random bytes")
        self._aead = AESGCM(kek)
        # A keyed, one-way label of the KEK: says "which KEK" in errors without revealing it.
        self.kek_id: str = hmac.new(kek, b"jwtwarden kek id", hashlib.sha256).hexdigest()[:16]
        self._medium = medium
        self._malformed = malformed

    def seal(self, record: KeyRecord) -> tuple[dict[str, Any], str, str]:
        """Seal a record's key (private JWK if it has one, else public).

        Returns:
            ``(metadata, nonce, sealed)``: ``record.to_metadata()`` and the base64url nonce
            and ciphertext to store beside it (with ``kek_id``).

        Example:
            >>> metadata, nonce, sealed = sealer.seal(record)  # doctest: +SKIP
        """
        metadata = record.to_metadata()
        key = record.key
        jwk = key.export_private_jwk() if key.is_private else key.public_jwk()
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, _dumps(jwk), _associated_data(metadata))
        return metadata, b64url_encode(nonce), b64url_encode(sealed)

    def open(
        self,
        label: str,
        metadata: Mapping[str, Any],
        nonce: object,
        sealed: object,
        *,
        environment: str,
    ) -> KeyRecord:
        """Decrypt a sealed key and rebuild its record (strength floors re-checked).

        Parameters:
            label: names the record in errors (``"key 'kid'"``).
            metadata: the stored metadata (every member of ``METADATA``).
            nonce: the stored base64url nonce.
            sealed: the stored base64url ciphertext.
            environment: the store's environment (the rebuilt key is pinned to it).

        Raises:
            KeyStoreError: modified metadata or ciphertext, a wrong KEK, malformed fields, or
                a key refused on import. Messages name the record, never the material.

        Example:
            >>> record = sealer.open("key 'k1'", metadata, nonce, sealed,  # doctest: +SKIP
            ...                      environment="production")
        """
        try:
            if not isinstance(nonce, str) or not isinstance(sealed, str):
                raise TypeError("nonce and sealed are base64url text")
            plain = self._aead.decrypt(
                b64url_decode_checked(nonce),
                b64url_decode_checked(sealed),
                _associated_data(metadata),
            )
        except InvalidTag:
            raise KeyStoreError(
                f"{label} cannot be decrypted: the {self._medium} was modified or the KEK is wrong"
            ) from None
        except (KeyError, TypeError, ValueError):
            raise KeyStoreError(f"{label} {self._malformed}") from None
        try:
            key: Key = import_jwk(
                plain,
                algorithm=metadata["alg"],
                token_use=metadata["token_use"],
                environment=environment,
            )
            return KeyRecord.from_metadata(key, metadata)
        except JWTWardenError as exc:
            # Import errors name the member or floor, never the material.
            raise KeyStoreError(f"{label} is refused: {exc.detail}") from None
        except (TypeError, ValueError) as exc:
            raise KeyStoreError(f"{label} has an invalid record: {exc}") from None

    def __repr__(self) -> str:
        return f"KeySealer(kek_id={self.kek_id!r}, medium={self._medium!r})"


def _associated_data(metadata: Mapping[str, Any]) -> bytes:
    return _dumps({"format": _ASSOCIATED_FORMAT, **{name: metadata[name] for name in METADATA}})
