"""Key stores: where signing keys and their lifecycle records live, behind ``KeyStore``.

- ``DirectoryKeyStore``: one file per key, private keys encrypted at rest (AES-256-GCM from
  ``cryptography``) under a key-encryption key (KEK) from ``$JWTWARDEN_KEK``; files ``0600`` in
  a ``0700`` directory, written atomically. Safe for several processes on one host (a lock
  file serialises changes).
- ``EnvKeyStore``: a private JWK Set in an environment variable; read-only.
- ``MemoryKeyStore``: the reference implementation, for tests and single-process tools.

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

from .directory import DirectoryKeyStore
from .env import EnvKeyStore
from .memory import MemoryKeyStore

__all__ = ["DirectoryKeyStore", "EnvKeyStore", "MemoryKeyStore"]
