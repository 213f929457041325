"""SQL adapters (SQLAlchemy Core, async): SQLite through ``aiosqlite`` for the embedded default,
PostgreSQL through ``asyncpg`` in production.

    >>> engine = create_engine("postgresql://app@db/auth")          # doctest: +SKIP
    >>> users, sessions = SQLUserStore(engine), SQLSessionStore(engine)  # doctest: +SKIP

One module per concern, none importing another but ``engine``, ``schema`` and ``driver``:

- ``engine``: ``async_url``, ``create_engine``, ``prepare_sqlite_file``;
- ``schema``: the tables (``metadata``, what the migrations create);
- ``driver``: the hot paths' own asyncpg pool, under SQLAlchemy's;
- ``users``, ``roles``, ``sessions``, ``denylist``, ``leases``, ``keys``: one adapter each;
- ``clients``: the OAuth client registry and the ``private_key_jwt`` replay store;
- ``authorization``: authorization codes and the hosted pages' sign-in sessions;
- ``signin_links``: the refresh sessions each sign-in started (OpenID Connect logout).
"""

from __future__ import annotations

from .authorization import SQLAuthorizationStore
from .clients import SQLAssertionReplayStore, SQLClientStore
from .denylist import SQLDenylist
from .engine import async_url, create_engine, prepare_sqlite_file
from .keys import SQLKeyStore
from .leases import SQLLease
from .roles import SQLRoleStore
from .schema import metadata
from .sessions import SQLSessionStore
from .signin_links import SQLSignInLinkStore
from .users import SQLUserStore

__all__ = [
    "SQLAssertionReplayStore",
    "SQLAuthorizationStore",
    "SQLClientStore",
    "SQLDenylist",
    "SQLKeyStore",
    "SQLLease",
    "SQLRoleStore",
    "SQLSessionStore",
    "SQLSignInLinkStore",
    "SQLUserStore",
    "async_url",
    "create_engine",
    "metadata",
    "prepare_sqlite_file",
]
