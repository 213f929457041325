"""In-memory adapters, one process only: the reference implementation of every port (tests,
embedding, the single-process server's defaults). Every other adapter of a port is tested
against the same contract as these.

- ``MemoryUserStore``, ``MemorySessionStore``: the session ports (``jwtwarden.sessions.ports``);
- ``MemoryRoleStore``: the ``RoleStore`` port (``jwtwarden.accounts.roles``);
- ``MemoryKeyStore``: the ``KeyStore`` port (``jwtwarden.keys.records``);
- ``MemoryDenylist``: the ``Denylist``/``SyncDenylist`` ports (``jwtwarden.revocation.denylist``);
- ``MemoryRateLimiter``: the ``RateLimiter`` port (``jwtwarden.server.ratelimit``);
- ``MemoryClientStore``, ``MemoryAssertionReplayStore``: the OAuth ports
  (``jwtwarden.oauth.clients``, ``jwtwarden.oauth.client_assertions``);
- ``MemoryAuthorizationStore``: authorization codes and sign-in sessions
  (``jwtwarden.oauth.codes``, ``jwtwarden.oauth.signin``);
- ``MemorySignInLinkStore``: the refresh sessions of each sign-in
  (``jwtwarden.oauth.signin_links``);
- ``MemoryWebSessionStore``, ``SyncMemoryWebSessionStore``: the web-app SDK's server-side
  session store ports (``jwtwarden.webapp.store``).
"""

from __future__ import annotations

from .authorization import MemoryAuthorizationStore
from .clients import MemoryAssertionReplayStore, MemoryClientStore
from .denylist import MemoryDenylist
from .keys import MemoryKeyStore
from .ratelimit import MemoryRateLimiter
from .roles import MemoryRoleStore
from .sessions import MemorySessionStore, MemoryUserStore
from .signin_links import MemorySignInLinkStore
from .websessions import MemoryWebSessionStore, SyncMemoryWebSessionStore

__all__ = [
    "MemoryAssertionReplayStore",
    "MemoryAuthorizationStore",
    "MemoryClientStore",
    "MemoryDenylist",
    "MemoryKeyStore",
    "MemoryRateLimiter",
    "MemoryRoleStore",
    "MemorySessionStore",
    "MemorySignInLinkStore",
    "MemoryUserStore",
    "MemoryWebSessionStore",
    "SyncMemoryWebSessionStore",
]
