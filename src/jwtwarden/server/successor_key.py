"""The key the session service derives refresh-token successors with
(``sessions.rotation.successor_of``): the same in every process of a deployment, so a retried
refresh gets the same successor whichever worker serves it.

- With a KEK (required outside development): HKDF-SHA256 of the KEK with its own ``info``
  (``sessions.rotation.derive_successor_key``); nothing to store or back up.
- Development without a KEK: 32 random bytes in ``DATA_DIR/refresh-successor.key`` (``0600``
  in a ``0700`` directory), made once and shared by the workers and restarts.
"""

from __future__ import annotations

from pathlib import Path

from .._files import private_directory, random_key_file
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
    return random_key_file(
        data_dir / KEY_FILE, size=SUCCESSOR_KEY_BYTES, what="refresh successor key"
    )
