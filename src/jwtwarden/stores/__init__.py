"""Storage adapters: the one home of every implementation of a storage port. The ports stay
beside their consumers (``keys.records.KeyStore``, ``sessions.ports``,
``revocation.denylist``, ``server.ratelimit.RateLimiter``).

- ``jwtwarden.stores.memory``: in-memory reference adapters of every port.
- ``jwtwarden.stores.sql``: SQLAlchemy Core (async) on SQLite and PostgreSQL: users,
  sessions, the denylist, leases and the shared ``SQLKeyStore``.
- ``jwtwarden.stores.redis``: the Redis denylist and rate-limit counters.
- ``jwtwarden.stores.files``: ``DirectoryKeyStore``, sealed key files in a directory.
- ``jwtwarden.stores.env``: ``EnvKeyStore``, a read-only JWK Set from the environment.

Import the module you need; each pulls in only its own drivers. Every adapter turns its
driver's failures into ``jwtwarden.errors`` types, so nothing above this package imports a
driver.
"""

from __future__ import annotations

__all__: list[str] = []
