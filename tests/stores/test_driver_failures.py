"""The SQL adapters translate their drivers' failures (issue 12 item 6): a database that
cannot answer now is ``StoreUnavailableError`` (503 at the edge); a driver error that is a bug
passes unchanged (500); our own errors pass unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
import sqlalchemy.exc

from jwtwarden.errors import StoreUnavailableError, UserExistsError
from jwtwarden.stores.sql.failures import translates_driver_errors, unavailable

UNAVAILABLE = [
    (
        asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle of operation"),
        "ConnectionDoesNotExistError",
    ),
    (asyncpg.exceptions.InternalClientError("cannot switch to state 15"), "InternalClientError"),
    (asyncpg.exceptions.AdminShutdownError("terminating connection"), "AdminShutdownError"),
    (
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        "CannotConnectNowError",
    ),
    (asyncpg.exceptions.TooManyConnectionsError("too many clients"), "TooManyConnectionsError"),
    (asyncpg.exceptions.InterfaceError("connection is closed"), "InterfaceError"),
    (
        asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout"),
        "LockNotAvailableError",
    ),
    (
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        "QueryCanceledError",
    ),
    (ConnectionRefusedError(111, "refused"), "ConnectionRefusedError"),
    (TimeoutError(), "TimeoutError"),
    (
        sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked")),
        "OperationalError",
    ),
    (sqlalchemy.exc.TimeoutError("QueuePool limit of size 10 overflow 0 reached"), "TimeoutError"),
]
BUGS = [
    asyncpg.exceptions.UndefinedColumnError("no such column"),
    asyncpg.exceptions._base.DataError("invalid input for query argument $1"),
    asyncpg.exceptions.OutdatedSchemaCacheError("cached statement plan is invalid"),
    asyncpg.exceptions.ForeignKeyViolationError("violates foreign key constraint"),
    KeyError("row"),
]


@pytest.mark.parametrize(("exc", "name"), UNAVAILABLE, ids=[name for _, name in UNAVAILABLE])
def test_should_translate_a_lost_refused_or_stalled_database_to_store_unavailable(
    exc: Exception, name: str
) -> None:
    mapped = unavailable(exc)
    assert isinstance(mapped, StoreUnavailableError)
    assert mapped.code == "store_unavailable"
    assert mapped.driver_error == name


@pytest.mark.parametrize("exc", BUGS, ids=lambda e: type(e).__name__)
def test_should_leave_a_driver_error_that_is_a_bug_untranslated(exc: Exception) -> None:
    assert unavailable(exc) is None


@translates_driver_errors
class _Adapter:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    async def method(self) -> None:
        raise self.exc

    async def entries(self) -> AsyncIterator[int]:
        yield 1
        raise self.exc


async def test_should_raise_store_unavailable_from_an_adapter_without_the_message() -> None:
    secret = "hash=deadbeef"
    adapter = _Adapter(asyncpg.exceptions.AdminShutdownError(secret))
    with pytest.raises(StoreUnavailableError) as caught:
        await adapter.method()
    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


async def test_should_translate_inside_an_async_generator_after_what_it_yielded() -> None:
    adapter = _Adapter(ConnectionResetError(104, "reset"))
    seen = []
    with pytest.raises(StoreUnavailableError):
        async for item in adapter.entries():
            seen.append(item)
    assert seen == [1]


@pytest.mark.parametrize(
    "exc", [UserExistsError("taken"), asyncpg.exceptions.UndefinedColumnError("x")]
)
async def test_should_let_our_errors_and_driver_bugs_through_unchanged(exc: Exception) -> None:
    with pytest.raises(type(exc)) as caught:
        await _Adapter(exc).method()
    assert caught.value is exc
