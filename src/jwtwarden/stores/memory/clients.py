"""In-memory reference adapters of the OAuth ports: ``MemoryClientStore`` (``ClientStore``)
and ``MemoryAssertionReplayStore`` (single use of ``private_key_jwt`` assertions).

One process only (tests, embedding); every other adapter passes the same contract tests.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from ...oauth.clients import Client, ClientSecretHash

__all__ = ["MemoryAssertionReplayStore", "MemoryClientStore"]


class MemoryClientStore:
    """``ClientStore`` in a dict."""

    def __init__(self) -> None:
        self._clients: dict[str, Client] = {}
        self._lock = asyncio.Lock()

    async def get(self, client_id: str) -> Client | None:
        return self._clients.get(client_id)

    async def create(self, client: Client) -> None:
        async with self._lock:
            if client.client_id in self._clients:
                raise ValueError("a client with this client_id exists")
            self._clients[client.client_id] = client

    async def list(self, *, limit: int = 100, after: str | None = None) -> list[Client]:
        ordered = sorted(self._clients.values(), key=lambda c: (c.created_at, c.client_id))
        if after is not None:
            cursor = self._clients.get(after)
            if cursor is None:
                return []
            key = (cursor.created_at, cursor.client_id)
            ordered = [c for c in ordered if (c.created_at, c.client_id) > key]
        return ordered[:limit]

    async def update(self, client: Client) -> bool:
        async with self._lock:
            current = self._clients.get(client.client_id)
            if current is None:
                return False
            self._clients[client.client_id] = replace(
                client, created_at=current.created_at, secret_hashes=current.secret_hashes
            )
            return True

    async def set_disabled(self, client_id: str, disabled: bool) -> bool:
        async with self._lock:
            current = self._clients.get(client_id)
            if current is None:
                return False
            self._clients[client_id] = replace(current, disabled=disabled)
            return True

    async def rotate_secret(
        self, client_id: str, new: ClientSecretHash, *, previous_expires_at: float, now: float
    ) -> bool:
        async with self._lock:
            current = self._clients.get(client_id)
            if current is None:
                return False
            kept = tuple(
                replace(record, expires_at=max(now, previous_expires_at))
                for record in current.secret_hashes
                if record.expires_at is None
            )
            self._clients[client_id] = replace(current, secret_hashes=(*kept, new))
            return True

    async def delete(self, client_id: str) -> bool:
        async with self._lock:
            return self._clients.pop(client_id, None) is not None

    async def purge_expired_secrets(self, now: float) -> int:
        """Drop rotated-out secrets whose overlap ended."""
        purged = 0
        async with self._lock:
            for client_id, client in list(self._clients.items()):
                live = tuple(record for record in client.secret_hashes if record.live(now))
                purged += len(client.secret_hashes) - len(live)
                self._clients[client_id] = replace(client, secret_hashes=live)
        return purged


class MemoryAssertionReplayStore:
    """``AssertionReplayStore`` in a dict of expiry times."""

    def __init__(self) -> None:
        self._seen: dict[bytes, float] = {}

    async def use_once(self, key: bytes, *, expires_at: float, now: float) -> bool:
        # No await between the check and the set: atomic on one event loop.
        seen = self._seen.get(key)
        if seen is not None and seen > now:
            return False
        self._seen[key] = expires_at
        return True

    async def purge(self, now: float) -> int:
        """Forget markers whose assertion has expired."""
        expired = [key for key, until in self._seen.items() if until <= now]
        for key in expired:
            del self._seen[key]
        return len(expired)
