"""The OAuth 2 authorization server's framework-free core (issue 14).

- ``clients``: the registered ``Client``, the ``ClientStore`` port, redirect URI rules.
- ``client_secrets``: server-generated secrets, stored as a keyed hash (HMAC-SHA256).
- ``registry``: ``ClientRegistry``, the operations the CLI and the admin API share.
- ``authentication``: client authentication at the token, revocation and introspection
  endpoints (RFC 6749 2.3, RFC 7523 ``private_key_jwt``).
- ``grants``: the token endpoint's grant seam, one module per grant type.
- ``metadata``: the RFC 8414 authorization server metadata document.

Nothing here imports a web framework; ``jwtwarden.server`` is the HTTP edge over it.
"""

from __future__ import annotations

__all__: list[str] = []
