"""The access-token denylist: ``jti`` entries and whole sessions (``sid``), each with an expiry.

An access token cannot be recalled once issued; the denylist holds the few revoked ones until
they would have expired anyway, so it stays small:

- ``deny_token(jti, until=exp + leeway)``: one token (RFC 7009 revocation).
- ``deny_session(sid, until=now + longest access-token lifetime + leeway)``: every live access
  token of a session (logout, refresh-token reuse, password change).

Adapters (``jwtwarden.stores``): ``memory.MemoryDenylist`` (one process), ``redis.RedisDenylist``
(``SET key 1 PXAT <until>``, shared by every process), ``sql.SQLDenylist``.
A backend that cannot answer raises ``RevocationUnavailableError``; ``DenylistCheck`` refuses
the token then (fail closed) unless built with ``fail_open=True``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Denylist", "SyncDenylist"]


@runtime_checkable
class Denylist(Protocol):
    """Async denylist port.

    Contract: after ``deny_token(jti, until=t)`` returns, ``is_denied(jti=jti, ...)`` is true
    in every process sharing the backend until ``t`` (seconds since the epoch), and may be
    false after. Same for ``deny_session`` and ``sid``. Denying twice keeps the later expiry.
    A ``until`` in the past is a no-op. Backend failures raise ``RevocationUnavailableError``.
    """

    async def deny_token(self, jti: str, *, until: float) -> None:
        """Deny the access token with this ``jti`` until ``until``."""
        ...

    async def deny_session(self, sid: str, *, until: float) -> None:
        """Deny every access token carrying ``sid`` until ``until``."""
        ...

    async def is_denied(self, *, jti: str | None, sid: str | None) -> bool:
        """Whether the token's ``jti`` or its ``sid`` is denied now (one round trip)."""
        ...


@runtime_checkable
class SyncDenylist(Protocol):
    """The synchronous read side, for ``Verifier.verify`` in synchronous frameworks."""

    def contains(self, *, jti: str | None, sid: str | None) -> bool:
        """Whether the token's ``jti`` or its ``sid`` is denied now."""
        ...
