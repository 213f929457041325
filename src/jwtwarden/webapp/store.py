"""The server-side session store ports: sessions too large for a cookie, or revocable.

With a store, the session cookie carries only a sealed random session id; the session itself
is kept in the store, **sealed** as well (AES-GCM under the same secrets, its store key as the
associated data, so a record cannot be moved to another key), under the SHA-256 of the id.
Whoever reads the store gets neither a usable token nor a cookie; deleting a record ends that
session at its next request, in every process (``RelyingParty.delete_session``).

A refresh only **replaces** a record (``replace``), never creates one: a session signed out
while this process was refreshing it (its record deleted by another tab, another process or
the provider's back-channel logout) stays signed out, and the request that refreshed it finds
no session. ``save`` (which creates) is for a new sign-in only. ``replace`` must be one atomic
step in the store (Redis: ``SET key value XX PXAT ms``; memory: under its lock): a read and a
write would let the sign-out fall between them. A store without ``replace`` is refused when
the ``RelyingParty`` is built (``TypeError``), rather than refreshed with ``save``, which
would undo such sign-outs.

A store only keeps opaque strings until a time; the rules (what is sealed, when a session
ends) stay in ``webapp.jar``. ``WebSessionStore`` is awaited (Starlette, FastAPI),
``SyncWebSessionStore`` called (Flask). Adapters: ``jwtwarden.stores.memory.websessions``
(the reference, one process) and ``jwtwarden.stores.redis_websessions`` (shared).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["MAX_STORED_BYTES", "SyncWebSessionStore", "WebSessionStore"]

# A stored session may be far larger than a cookie, not unbounded.
MAX_STORED_BYTES = 64 * 1024


@runtime_checkable
class WebSessionStore(Protocol):
    """Sealed sessions by key, each until its expiry (async).

    Every method raises ``StoreUnavailableError`` when the store cannot answer (the SDK
    answers 503 and keeps the cookie), never a driver's error.
    """

    async def load(self, key: str) -> str | None:
        """The value saved under ``key``, or ``None`` if there is none or it has expired."""
        ...

    async def save(self, key: str, value: str, *, until: float) -> None:
        """Keep ``value`` under ``key`` (replacing any) until ``until`` (epoch seconds)."""
        ...

    async def replace(self, key: str, value: str, *, until: float) -> bool:
        """Keep ``value`` under ``key`` until ``until`` only if a live value is there now, in
        one atomic step; ``False`` (nothing written) if there is none, or it has expired."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key``; nothing happens if it is not there."""
        ...


@runtime_checkable
class SyncWebSessionStore(Protocol):
    """The same contract, called synchronously (Flask and other WSGI apps)."""

    def load(self, key: str) -> str | None:
        """The value saved under ``key``, or ``None`` if there is none or it has expired."""
        ...

    def save(self, key: str, value: str, *, until: float) -> None:
        """Keep ``value`` under ``key`` (replacing any) until ``until`` (epoch seconds)."""
        ...

    def replace(self, key: str, value: str, *, until: float) -> bool:
        """Keep ``value`` under ``key`` until ``until`` only if a live value is there now, in
        one atomic step; ``False`` (nothing written) if there is none, or it has expired."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key``; nothing happens if it is not there."""
        ...
