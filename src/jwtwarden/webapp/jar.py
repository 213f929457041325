"""``SessionJar``: where a session is kept between requests, and how it comes back.

Two modes, one interface (``open``/``aopen``, ``save``/``asave``,
``save_refreshed``/``asave_refreshed``, ``delete``/``adelete``):

- **in the cookie** (the default): the whole session sealed into ``__Host-jwtwarden-session``
  (``sealing.CookieSealer``, under 4 KB). Opened values are cached by the digest of the value
  until their sealed expiry (``_opened.OpenedCookies``), so a live session costs a hash and a
  lookup per request.
- **in a server-side store** (``store=``, see ``webapp.store``): the cookie holds only the
  sealed random session id (``{"k": sid}``); the session is sealed again under its store key
  (``webapp-session|`` + SHA-256 of the id, the associated data of the record) and kept in the
  store until the session's absolute end. Deleting the record ends the session everywhere.
  A refreshed session only replaces its record (the store's ``replace``): if the record is
  gone, the session was signed out during the refresh, and ``save_refreshed`` gives ``None``
  instead of bringing it back. Nothing is cached in this mode: every request asks the store,
  so a revocation is seen at once.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

from ..clock import Clock
from ._opened import OpenedCookies
from .sealing import CookieSealer
from .session import WebSession
from .store import MAX_STORED_BYTES, SyncWebSessionStore, WebSessionStore

__all__ = ["SESSION_COOKIE", "SessionJar", "is_async_store", "store_key"]

SESSION_COOKIE = "__Host-jwtwarden-session"
_RECORD = "webapp-session|"


def store_key(sid: str) -> str:
    """The store key of session ``sid`` (a digest: the store never sees the id itself)."""
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def is_async_store(store: object) -> bool:
    """Whether ``store`` is awaited (``WebSessionStore``) rather than called."""
    return inspect.iscoroutinefunction(getattr(store, "load", None))


class SessionJar:
    """Opens and saves the sessions of one application (see the module docstring).

    Parameters:
        sealer: the application's ``CookieSealer``.
        lifetime: the absolute lifetime of a session, in seconds.
        clock: "now" for the remaining lifetime.
        store: a ``WebSessionStore`` or ``SyncWebSessionStore``; ``None`` keeps sessions in
            the cookie.
        cache_entries: how many opened cookies are kept (cookie mode).

    Raises:
        TypeError: ``store`` has not the port's methods (``replace`` included: without it a
            refresh could only re-create a record, undoing a sign-out made meanwhile).
    """

    __slots__ = ("_lifetime", "_opened", "clock", "sealer", "store", "store_is_async")

    def __init__(
        self,
        sealer: CookieSealer,
        *,
        lifetime: float,
        clock: Clock,
        store: WebSessionStore | SyncWebSessionStore | None = None,
        cache_entries: int = 10_000,
    ) -> None:
        if store is not None and not all(
            callable(getattr(store, name, None)) for name in ("load", "save", "delete")
        ):
            raise TypeError("store must be a WebSessionStore or a SyncWebSessionStore")
        if store is not None and not callable(getattr(store, "replace", None)):
            raise TypeError(
                "the session store has no replace(key, value, *, until) (webapp.store): a"
                " refresh must only replace a record, never re-create a signed-out session"
            )
        self.sealer = sealer
        self.clock = clock
        self.store = store
        self.store_is_async = store is not None and is_async_store(store)
        self._lifetime = lifetime
        self._opened = OpenedCookies(clock, max_entries=cache_entries)

    # --- in the cookie ----------------------------------------------------------------------

    def _open_cookie(self, value: str) -> WebSession | None:
        key = OpenedCookies.key(value)
        session = self._opened.get(key)
        if session is not None:
            return session
        opened = self.sealer.open_until(SESSION_COOKIE, value)
        if opened is None:
            return None
        session = WebSession.from_payload(opened[0])
        if session is not None:
            self._opened.put(key, session, opened[1])
        return session

    def _left(self, session: WebSession) -> int:
        return max(1, int(session.created_at + self._lifetime - self.clock.now()))

    # --- the pieces both drivers share --------------------------------------------------------

    def _locate(self, value: str | None) -> WebSession | tuple[str, str] | None:
        """In cookie mode, the session itself; with a store, the session id and its store key
        (the record is the caller's to load, sync or async); ``None``: no session."""
        if not value:
            return None
        if self.store is None:
            return self._open_cookie(value)
        payload = self.sealer.open(SESSION_COOKIE, value)
        sid = None if payload is None else payload.get("k")
        return (sid, store_key(sid)) if isinstance(sid, str) and sid else None

    def _record_session(self, sid: str, key: str, record: str | None) -> WebSession | None:
        data = self.sealer.open(_RECORD + key, record, max_bytes=MAX_STORED_BYTES)
        session = None if data is None else WebSession.from_payload(data)
        # The record's associated data names its key already; the id inside must agree too.
        return session if session is not None and session.sid == sid else None

    def _record(self, session: WebSession, left: int) -> tuple[str, str]:
        key = store_key(session.sid)
        record = self.sealer.seal(
            _RECORD + key, session.to_payload(), max_age=left, max_bytes=MAX_STORED_BYTES
        )
        return key, record

    def _sync_store(self) -> Any:
        if self.store_is_async:
            raise TypeError("this application's session store is async: use the async calls")
        return self.store

    def _async_store(self) -> Any:
        if not self.store_is_async:
            raise TypeError("this application's session store is sync: use the sync calls")
        return self.store

    # --- sync ---------------------------------------------------------------------------------

    def open(self, value: str | None) -> WebSession | None:
        """The session the cookie value stands for, or ``None``.

        Raises:
            StoreUnavailableError: the store cannot answer.
        """
        found = self._locate(value)
        if not isinstance(found, tuple):
            return found
        sid, key = found
        return self._record_session(sid, key, self._sync_store().load(key))

    def save(self, session: WebSession) -> tuple[str, int]:
        """The cookie value and ``Max-Age`` for ``session`` (stored first, with a store).

        Raises:
            SessionTooLargeError: the session does not fit the cookie (or the store's limit).
            StoreUnavailableError: the store cannot answer.
        """
        left = self._left(session)
        if self.store is None:
            return self.sealer.seal(SESSION_COOKIE, session.to_payload(), max_age=left), left
        key, record = self._record(session, left)
        self._sync_store().save(key, record, until=self.clock.now() + left)
        return self._id_cookie(session, left), left

    def save_refreshed(self, session: WebSession) -> tuple[str, int] | None:
        """As ``save``, for a refreshed session: with a store, it only replaces the record;
        ``None`` if the record is gone (signed out during the refresh: it stays gone).

        Raises:
            SessionTooLargeError: the session does not fit the cookie (or the store's limit).
            StoreUnavailableError: the store cannot answer.
        """
        left = self._left(session)
        if self.store is None:
            return self.sealer.seal(SESSION_COOKIE, session.to_payload(), max_age=left), left
        key, record = self._record(session, left)
        if not self._sync_store().replace(key, record, until=self.clock.now() + left):
            return None
        return self._id_cookie(session, left), left

    def delete(self, sid: str) -> None:
        """End session ``sid`` in the store (nothing to do in cookie mode).

        Raises:
            StoreUnavailableError: the store cannot answer.
        """
        if self.store is not None:
            self._sync_store().delete(store_key(sid))

    # --- async --------------------------------------------------------------------------------

    async def aopen(self, value: str | None) -> WebSession | None:
        """The async twin of ``open``."""
        found = self._locate(value)
        if not isinstance(found, tuple):
            return found
        sid, key = found
        return self._record_session(sid, key, await self._async_store().load(key))

    async def asave(self, session: WebSession) -> tuple[str, int]:
        """The async twin of ``save``."""
        left = self._left(session)
        if self.store is None:
            return self.sealer.seal(SESSION_COOKIE, session.to_payload(), max_age=left), left
        key, record = self._record(session, left)
        await self._async_store().save(key, record, until=self.clock.now() + left)
        return self._id_cookie(session, left), left

    async def asave_refreshed(self, session: WebSession) -> tuple[str, int] | None:
        """The async twin of ``save_refreshed``."""
        left = self._left(session)
        if self.store is None:
            return self.sealer.seal(SESSION_COOKIE, session.to_payload(), max_age=left), left
        key, record = self._record(session, left)
        if not await self._async_store().replace(key, record, until=self.clock.now() + left):
            return None
        return self._id_cookie(session, left), left

    async def adelete(self, sid: str) -> None:
        """The async twin of ``delete``."""
        if self.store is not None:
            await self._async_store().delete(store_key(sid))

    def _id_cookie(self, session: WebSession, left: int) -> str:
        return self.sealer.seal(SESSION_COOKIE, {"k": session.sid}, max_age=left)

    def __repr__(self) -> str:
        mode = "cookie" if self.store is None else type(self.store).__name__
        return f"SessionJar(mode={mode})"
