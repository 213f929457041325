"""Key records and the ``KeyStore`` port: what every key store (directory, environment,
SQL, a secrets manager) stores and how it is asked.

Lifecycle of a signing key (see ``keys.rotation``)::

    pending  -> published in the JWKS, not yet signing, so verifiers' caches learn it first
    active   -> signs new tokens (one active key per token use)
    retiring -> no longer signs; still published until every token it signed has expired
    retired  -> gone from the JWKS and from every verification key set

``revoke`` (an emergency) moves a key straight to ``retired``.

The adapters live in ``jwtwarden.stores``: ``files.DirectoryKeyStore``, ``env.EnvKeyStore``,
``memory.MemoryKeyStore`` (the reference) and ``sql.SQLKeyStore``; the sealing of private
keys at rest they share is ``jwtwarden.keys.sealing``.

Writing another store (HashiCorp Vault, AWS Secrets Manager / KMS, Google Secret Manager)
---------------------------------------------------------------------------------------
Implement the ``KeyStore`` protocol of ``jwtwarden.keys.records``; nothing else changes:

- ``environment``: the environment the store serves. Keep one secret path or secret per
  environment (``secret/jwtwarden/production/keys/<kid>``), with an access policy that only the
  issuer of that environment can read.
- ``save(record)``: refuse a record whose ``record.key.environment`` is not ``environment``
  (``KeyEnvironmentError``). Store ``record.to_metadata()`` and
  ``record.key.export_private_jwk()`` as one secret version, so an update replaces both at once
  (Vault KV v2 versions, Secrets Manager ``PutSecretValue``): that is the atomicity contract.
  Let the secrets manager encrypt at rest (Vault's barrier, KMS envelope encryption).
- ``load()``: read every record of the environment, rebuild each key with
  ``import_jwk(jwk, token_use=..., environment=...)`` (which re-checks the strength floors) and
  ``KeyRecord.from_metadata(key, metadata)``. Any failure is a ``KeyStoreError`` naming the kid
  and never quoting the secret (not even a fragment of a parse error).
- ``delete(kid)``: destroy the secret (Vault ``metadata delete``, Secrets Manager
  ``DeleteSecret`` without a recovery window) so a retired private key is really gone.
- optionally ``lock()``: a context manager holding an exclusive lock while ``KeyRing``
  reloads, decides and saves (Vault KV v2 check-and-set, a DynamoDB conditional write, a
  PostgreSQL advisory lock); without it, two processes ticking at the same moment may both
  create the next key (harmless: the later one simply activates later).

A KMS that signs without ever releasing the private key needs a different ``Key`` (signing
inside the KMS); that is outside this port.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

from .key import Key

__all__ = ["KeyRecord", "KeyState", "KeyStore", "LockableKeyStore"]


class KeyState(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


def _time(value: object, name: str, *, optional: bool = False) -> float | None:
    if value is None and optional:
        return None
    if type(value) not in (int, float) or not math.isfinite(value):  # type: ignore[arg-type]
        raise ValueError(f"{name} must be a finite number of seconds since the epoch")
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyRecord:
    """One key and its lifecycle. Times are seconds since the epoch.

    ``publish_at``: when it entered the JWKS (pending). ``activate_at``: when it starts or
    started signing. ``retire_at``: when it stopped signing (``None`` while it may still sign).
    ``remove_at``: when it leaves the JWKS for good (``retire_at`` plus the longest lifetime of
    a token it can have signed, plus leeway). ``revoked``: removed at once, in an emergency.

    Raises:
        ValueError: a time is not a finite number, or ``state`` is not a ``KeyState``.
    """

    key: Key
    state: KeyState
    publish_at: float
    activate_at: float
    retire_at: float | None = None
    remove_at: float | None = None
    revoked: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.key, Key):
            raise TypeError("KeyRecord.key must be a Key")
        object.__setattr__(self, "state", KeyState(self.state))
        _time(self.publish_at, "publish_at")
        _time(self.activate_at, "activate_at")
        _time(self.retire_at, "retire_at", optional=True)
        _time(self.remove_at, "remove_at", optional=True)
        if type(self.revoked) is not bool:
            raise ValueError("revoked must be a boolean")

    @property
    def kid(self) -> str:
        return self.key.kid

    def moved(self, **changes: object) -> KeyRecord:
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_metadata(self) -> dict[str, Any]:
        """Everything but the key material, as JSON-safe values (for a store's row or file).

        Example:
            >>> record.to_metadata()["state"]  # doctest: +SKIP
            'active'
        """
        return {
            "kid": self.kid,
            "alg": self.key.alg,
            "token_use": self.key.token_use,
            "environment": self.key.environment,
            "state": self.state.value,
            "publish_at": self.publish_at,
            "activate_at": self.activate_at,
            "retire_at": self.retire_at,
            "remove_at": self.remove_at,
            "revoked": self.revoked,
        }

    @classmethod
    def from_metadata(cls, key: Key, data: Mapping[str, Any]) -> KeyRecord:
        """Rebuild a record from ``to_metadata()`` output and its key.

        Raises:
            ValueError: the metadata is malformed or disagrees with the key (kid, alg, use,
                environment): a store must not pair a key with another key's lifecycle.
        """
        for name, own in (
            ("kid", key.kid),
            ("alg", key.alg),
            ("token_use", key.token_use),
            ("environment", key.environment),
        ):
            if name in data and data[name] != own:
                raise ValueError(f"the record's {name} does not match its key")
        try:
            state = KeyState(data["state"])
        except (KeyError, ValueError):
            raise ValueError("the record has no valid 'state'") from None
        return cls(
            key=key,
            state=state,
            publish_at=data.get("publish_at"),  # type: ignore[arg-type]
            activate_at=data.get("activate_at"),  # type: ignore[arg-type]
            retire_at=data.get("retire_at"),
            remove_at=data.get("remove_at"),
            revoked=data.get("revoked", False),
        )

    def __repr__(self) -> str:
        return (
            f"KeyRecord(kid={self.kid!r}, alg={self.key.alg!r}, use={self.key.token_use!r}, "
            f"state={self.state.value!r})"
        )


@runtime_checkable
class KeyStore(Protocol):
    """Where key records live. Implementations: ``DirectoryKeyStore``, ``EnvKeyStore``,
    ``MemoryKeyStore`` (the reference), the server's SQL store. A Vault or KMS store implements
    the same three methods and one attribute (see this module's docstring).

    Contract:
      - ``load`` returns every record, private keys included, of this store's environment.
        A store never returns a key recorded for another environment (``KeyEnvironmentError``).
      - ``save`` writes one record (insert or replace by ``kid``) atomically: after a crash the
        store holds either the old record or the new one, never a torn one.
      - ``delete`` removes a record; deleting an absent ``kid`` is not an error.
      - ``environment`` names the environment the store serves (``production``, ...).
      - Private key material is encrypted at rest where the medium allows it, and never
        appears in an exception message, a log line or ``repr``.
      - Failures raise ``KeyStoreError`` (naming the ``kid`` where there is one); a read-only
        store raises it from ``save`` and ``delete``.
    """

    environment: str

    def load(self) -> list[KeyRecord]: ...

    def save(self, record: KeyRecord) -> None: ...

    def delete(self, kid: str) -> None: ...


@runtime_checkable
class LockableKeyStore(KeyStore, Protocol):
    """A store several processes share, with an exclusive lock for read-modify-write.

    ``KeyRing`` holds ``lock()`` around every change (reload, decide, save), so two processes
    ticking at once do not both create the next key. Blocking; released on exit.
    """

    def lock(self) -> AbstractContextManager[None]: ...
