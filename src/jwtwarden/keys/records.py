"""Key records and the ``KeyStore`` port: what every key store (directory, environment,
SQL, a secrets manager) stores and how it is asked.

Lifecycle of a signing key (see ``keys.rotation``)::

    pending  -> published in the JWKS, not yet signing, so verifiers' caches learn it first
    active   -> signs new tokens (one active key per token use)
    retiring -> no longer signs; still published until every token it signed has expired
    retired  -> gone from the JWKS and from every verification key set

``revoke`` (an emergency) moves a key straight to ``retired``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from .key import Key

__all__ = ["KeyRecord", "KeyState", "KeyStore"]


class KeyState(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyRecord:
    """One key and its lifecycle. Times are seconds since the epoch.

    ``publish_at``: when it entered the JWKS (pending). ``activate_at``: when it starts or
    started signing. ``retire_at``: when it stopped signing (``None`` while it may still sign).
    ``remove_at``: when it leaves the JWKS for good (``retire_at`` plus the longest lifetime of
    a token it can have signed, plus leeway). ``revoked``: removed at once, in an emergency.
    """

    key: Key
    state: KeyState
    publish_at: float
    activate_at: float
    retire_at: float | None = None
    remove_at: float | None = None
    revoked: bool = False

    @property
    def kid(self) -> str:
        return self.key.kid

    def moved(self, **changes: object) -> KeyRecord:
        return replace(self, **changes)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return (
            f"KeyRecord(kid={self.kid!r}, alg={self.key.alg!r}, use={self.key.token_use!r}, "
            f"state={self.state.value!r})"
        )


@runtime_checkable
class KeyStore(Protocol):
    """Where key records live. Implementations: ``DirectoryKeyStore``, ``EnvKeyStore``,
    the server's SQL store. A Vault or KMS store implements the same four methods.

    Contract:
      - ``load`` returns every record, private keys included, of this store's environment.
        A store never returns a key recorded for another environment (``KeyEnvironmentError``).
      - ``save`` writes one record (insert or replace by ``kid``) atomically: after a crash the
        store holds either the old record or the new one, never a torn one.
      - ``delete`` removes a record; deleting an absent ``kid`` is not an error.
      - ``environment`` names the environment the store serves (``production``, ...).
      - Private key material is encrypted at rest where the medium allows it, and never
        appears in an exception message, a log line or ``repr``.
    """

    environment: str

    def load(self) -> list[KeyRecord]: ...

    def save(self, record: KeyRecord) -> None: ...

    def delete(self, kid: str) -> None: ...
