"""Framework integrations, each behind its own extra, none imported by the core.

- ``jwtwarden.integrations.starlette``: ``BearerTokenBackend``, ``BearerAuthMiddleware``
  (``jwtwarden[fastapi]``)
- ``jwtwarden.integrations.fastapi``: ``require_token`` dependency (``jwtwarden[fastapi]``)
- ``jwtwarden.integrations.flask``: ``JWTWarden`` extension, ``require_token`` decorator
  (``jwtwarden[flask]``)
- ``jwtwarden.integrations.httpx_auth``: ``RefreshingAuth`` for clients (``jwtwarden[remote]``)

Import the module you need; this package imports none of them.
"""

from __future__ import annotations

__all__: list[str] = []
