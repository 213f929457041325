"""The SQL drivers' failures, translated where the drivers are used (the shape of httpx's
``map_exceptions``): a database that cannot answer now becomes ``StoreUnavailableError``;
every other error passes unchanged (ours, and the driver errors that are bugs, which stay a
500 at the HTTP edge).

``@translates_driver_errors`` on an adapter class wraps each public coroutine method and
async generator; the layers above never import SQLAlchemy or asyncpg to judge an error.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ...errors import JWTWardenError, StoreUnavailableError

__all__ = ["translates_driver_errors", "unavailable"]

C = TypeVar("C", bound=type)

try:
    from asyncpg import exceptions as _pg
except ImportError:  # pragma: no cover - PostgreSQL not installed
    _LOST: tuple[type[BaseException], ...] = ()
    _UNAVAILABLE: tuple[type[BaseException], ...] = ()
else:
    # Exactly these two (their subclasses are bugs: bad query arguments, client configuration,
    # a schema cache out of date): the connection is closed or the pool is closing; and what a
    # pooled connection raises on first use after the server ended it while it sat idle (the
    # FATAL arrived between two queries; the pool drops it).
    _LOST = (_pg.InterfaceError, _pg.InternalClientError)
    _UNAVAILABLE = (
        _pg.PostgresConnectionError,  # lost mid-query, refused, too many connections
        _pg.OperatorInterventionError,  # admin shutdown, cancelled by the operator
        _pg.InsufficientResourcesError,
        # lock_timeout (55P03); statement_timeout is QueryCanceledError (57014), an operator
        # intervention: a stalled database, worth a retry (JWTWARDEN_DATABASE_*).
        _pg.LockNotAvailableError,
    )


def unavailable(exc: BaseException) -> StoreUnavailableError | None:
    """The ``StoreUnavailableError`` for a driver failure that means "not now", else ``None``.

    SQLAlchemy's DBAPI errors and pool timeouts, socket errors and timeouts (``OSError``:
    refused, reset, ``TimeoutError``), and on the hot paths (raw asyncpg, ``driver``) a lost
    connection, a server shutting down or out of resources, a lock timeout.
    """
    if isinstance(exc, JWTWardenError):
        return None
    if (
        isinstance(exc, DBAPIError | PoolTimeout | OSError)
        or type(exc) in _LOST
        or isinstance(exc, _UNAVAILABLE)
    ):
        return StoreUnavailableError(
            f"the database cannot answer: {type(exc).__name__}", driver_error=type(exc).__name__
        )
    return None


def _coroutine(method: Callable[..., Coroutine[Any, Any, Any]]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def translated(*args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except Exception as exc:
            mapped = unavailable(exc)
            if mapped is None:
                raise
            # from None: a driver's message may quote the statement's parameters (hashes).
            raise mapped from None

    return translated


def _generator(method: Callable[..., AsyncIterator[Any]]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def translated(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        try:
            async for item in method(*args, **kwargs):
                yield item
        except Exception as exc:
            mapped = unavailable(exc)
            if mapped is None:
                raise
            raise mapped from None

    return translated


def translates_driver_errors(cls: C) -> C:
    """Class decorator: every public ``async def`` (and async generator) of ``cls`` raises
    ``StoreUnavailableError`` in place of a driver failure that ``unavailable`` recognises."""
    for name, value in list(vars(cls).items()):
        if name.startswith("_"):
            continue
        if inspect.iscoroutinefunction(value):
            setattr(cls, name, _coroutine(value))
        elif inspect.isasyncgenfunction(value):
            setattr(cls, name, _generator(value))
    return cls
