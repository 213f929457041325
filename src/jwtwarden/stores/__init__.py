"""Storage adapters for the session, revocation and key ports.

- ``jwtwarden.stores.memory``: in-memory reference adapters.
- ``jwtwarden.stores.sql``: SQLAlchemy Core (async) on SQLite and PostgreSQL, including the
  shared ``SQLKeyStore``.
- ``jwtwarden.stores.redis``: the Redis denylist and rate-limit counters.

Import the module you need; each pulls in only its own drivers.
"""

from __future__ import annotations

__all__: list[str] = []
