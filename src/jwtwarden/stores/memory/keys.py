"""``MemoryKeyStore``: the reference ``KeyStore``, in memory, for tests and one-off tools."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from ...keys._store_rules import check_environment_name, check_record_environment
from ...keys.records import KeyRecord

__all__ = ["MemoryKeyStore"]


class MemoryKeyStore:
    """Records in a dict. Nothing is persisted; nothing is encrypted (it never leaves memory).

    Example:
        >>> store = MemoryKeyStore(environment="development")
    """

    __slots__ = ("_lock", "_records", "environment")

    def __init__(self, *, environment: str, records: Iterable[KeyRecord] = ()) -> None:
        self.environment = check_environment_name(environment)
        self._records: dict[str, KeyRecord] = {}
        self._lock = threading.RLock()
        for record in records:
            self.save(record)

    def load(self) -> list[KeyRecord]:
        """Every record (a copy of the list; records themselves are immutable)."""
        with self._lock:
            return list(self._records.values())

    def save(self, record: KeyRecord) -> None:
        """Insert or replace a record by kid.

        Raises:
            KeyEnvironmentError: the record's key belongs to another environment.
        """
        if not isinstance(record, KeyRecord):
            raise TypeError("save takes a KeyRecord")
        check_record_environment(record, self.environment)
        with self._lock:
            self._records[record.kid] = record

    def delete(self, kid: str) -> None:
        """Remove a record; an absent kid is not an error."""
        with self._lock:
            self._records.pop(kid, None)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's lock (re-entrant within a thread)."""
        with self._lock:
            yield

    def __repr__(self) -> str:
        return f"MemoryKeyStore(environment={self.environment!r}, keys={len(self._records)})"
