"""Keys: import with strength floors, pinning to one algorithm, key sets, generation."""

from __future__ import annotations

from .generate import DEFAULT_ALGORITHM, generate_key
from .key import Key, import_jwk, import_pem
from .keyset import KeySet

__all__ = ["DEFAULT_ALGORITHM", "Key", "KeySet", "generate_key", "import_jwk", "import_pem"]
