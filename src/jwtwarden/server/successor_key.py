"""The key the session service derives refresh-token successors with
(``sessions.rotation.successor_of``): the same in every process of a deployment, so a retried
refresh gets the same successor whichever worker serves it.

- With a KEK (required outside development): HKDF-SHA256 of the KEK with its own ``info``
  (``sessions.rotation.derive_successor_key``); nothing to store or back up.
- Development without a KEK: 32 random bytes in ``DATA_DIR/refresh-successor.key`` (``0600``
  in a ``0700`` directory), made once and shared by the workers and restarts.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from .._files import check_private_file, private_directory
from ..sessions.rotation import SUCCESSOR_KEY_BYTES, derive_successor_key

__all__ = ["KEY_FILE", "successor_key"]

KEY_FILE = "refresh-successor.key"


def successor_key(kek: bytes | None, data_dir: Path) -> bytes:
    """The successor key: derived from ``kek``, else the development key file in ``data_dir``.

    Raises:
        ValueError: the data directory or the key file is open to others, or the file is not
            a key (wrong length).
    """
    if kek is not None:
        return derive_successor_key(kek)
    private_directory(data_dir, what="data directory (JWTWARDEN_DATA_DIR)")
    path = data_dir / KEY_FILE
    if not check_private_file(path, what="refresh successor key"):
        _create(path)
    check_private_file(path, what="refresh successor key")
    key = path.read_bytes()
    if len(key) != SUCCESSOR_KEY_BYTES:
        raise ValueError(f"{str(path)!r} is not a {SUCCESSOR_KEY_BYTES}-byte key")
    return key


def _create(path: Path) -> None:
    """Write the key to a private temporary file, then link it into place: the file appears
    whole or not at all, and of several workers starting at once the first link wins."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(secrets.token_bytes(SUCCESSOR_KEY_BYTES))
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
