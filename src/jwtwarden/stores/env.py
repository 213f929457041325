"""``EnvKeyStore``: keys from an environment variable holding a private JWK Set; read-only.

The variable (default ``JWTWARDEN_KEYS``) holds ``{"keys": [...]}``; each JWK carries its
``alg`` and a ``token_use`` member (``access``, ``id``, ...), and may carry::

    "environment": "production"        refused unless it is the store's environment
    "state": "active"                  pending | active | retiring (default active)
    "activate_at", "publish_at", "retire_at", "remove_at": seconds since the epoch

Rotation with this store means changing the variable (publish the new key as ``pending``
first, then make it ``active`` and the old one ``retiring``) and restarting or calling
``KeyRing.reload()``. ``save`` and ``delete`` raise ``KeyStoreError``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from ..errors import KeyEnvironmentError, KeyRejectedError, KeyStoreError
from ..keys._store_rules import check_environment_name
from ..keys.key import import_jwk
from ..keys.records import KeyRecord, KeyState

__all__ = ["EnvKeyStore"]

_TIMES = ("publish_at", "activate_at", "retire_at", "remove_at")


class EnvKeyStore:
    """A read-only store over ``$var``.

    Parameters:
        var: the variable's name (default ``JWTWARDEN_KEYS``).
        environment: the environment this store serves.
        environ: where to read ``var`` (default ``os.environ``), read again on every ``load``.

    Example:
        >>> store = EnvKeyStore(environment="production")  # doctest: +SKIP
    """

    __slots__ = ("_cache", "_environ", "environment", "var")

    def __init__(
        self,
        var: str = "JWTWARDEN_KEYS",
        *,
        environment: str,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        if not isinstance(var, str) or not var:
            raise ValueError("var must name an environment variable")
        self.var = var
        self.environment = check_environment_name(environment)
        self._environ = os.environ if environ is None else environ
        self._cache: tuple[bytes, list[KeyRecord]] | None = None

    def load(self) -> list[KeyRecord]:
        """Parse the variable into records.

        Raises:
            KeyStoreError: the variable is missing or malformed, or a key is refused.
            KeyEnvironmentError: a key says it belongs to another environment.
        """
        raw = self._environ.get(self.var)
        if not raw:
            raise KeyStoreError(f"${self.var} is not set; it must hold a private JWK Set")
        digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).digest()
        if self._cache is not None and self._cache[0] == digest:
            return list(self._cache[1])
        try:
            document = json.loads(raw)
        except ValueError:
            # Never echo the parse error: it quotes the text around the fault (key material).
            raise KeyStoreError(f"${self.var} is not valid JSON") from None
        items = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(items, list) or not items:
            raise KeyStoreError(f'${self.var} must be a JWK Set: {{"keys": [ ... ]}}')
        records = [self._record(i, item) for i, item in enumerate(items)]
        kids = [r.kid for r in records]
        if len(set(kids)) != len(kids):
            raise KeyStoreError(f"${self.var} holds two keys with the same kid")
        self._cache = (digest, records)
        return list(records)

    def _record(self, index: int, item: Any) -> KeyRecord:
        where = f"key #{index} in ${self.var}"
        if not isinstance(item, dict):
            raise KeyStoreError(f"{where} is not a JSON object")
        kid = item.get("kid")
        if isinstance(kid, str):
            where = f"key {kid[:64]!r} in ${self.var}"
        theirs = item.get("environment", self.environment)
        if theirs != self.environment:
            raise KeyEnvironmentError(
                f"{where} is for environment {str(theirs)[:32]!r}, not {self.environment!r}"
            )
        use = item.get("token_use")
        if not isinstance(use, str) or not use:
            raise KeyStoreError(f"{where} has no 'token_use' (access, id, reset, ...)")
        try:
            key = import_jwk(item, token_use=use, environment=self.environment)
        except KeyRejectedError as exc:
            raise KeyStoreError(f"{where} is refused: {exc.detail}") from None
        try:
            state = KeyState(item.get("state", KeyState.ACTIVE.value))
            times = {name: item.get(name) for name in _TIMES}
            activate_at = 0.0 if times["activate_at"] is None else times["activate_at"]
            publish_at = 0.0 if times["publish_at"] is None else times["publish_at"]
            return KeyRecord(
                key=key,
                state=state,
                publish_at=publish_at,
                activate_at=activate_at,
                retire_at=times["retire_at"],
                remove_at=times["remove_at"],
            )
        except ValueError as exc:
            raise KeyStoreError(f"{where} has invalid lifecycle members: {exc}") from None

    def save(self, record: KeyRecord) -> None:
        """Always refused: this store is read-only."""
        raise KeyStoreError(self._read_only(f"save key {record.kid[:64]!r}"))

    def delete(self, kid: str) -> None:
        """Always refused: this store is read-only."""
        raise KeyStoreError(self._read_only(f"delete key {kid[:64]!r}"))

    def _read_only(self, action: str) -> str:
        return (
            f"cannot {action}: EnvKeyStore is read-only (keys come from ${self.var}); change "
            "the variable, or use a DirectoryKeyStore to generate, rotate and revoke keys"
        )

    def __repr__(self) -> str:
        return f"EnvKeyStore({self.var!r}, environment={self.environment!r})"
