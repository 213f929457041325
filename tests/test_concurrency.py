"""``SingleFlight``: one operation in flight, shared by threads and tasks alike."""

from __future__ import annotations

import asyncio
import threading

import pytest

from jwtwarden._concurrency import SingleFlight


def test_should_make_the_first_caller_the_owner_and_every_later_one_a_joiner():
    flights: SingleFlight[str] = SingleFlight()
    first = flights.claim()
    second = flights.claim()
    assert first is not None and second is not None
    assert (first.owner, second.owner) == (True, False)
    assert second.future is first.future
    assert (flights.started, flights.joined) == (1, 1)


def test_should_hand_the_owners_result_to_every_waiting_thread():
    flights: SingleFlight[str] = SingleFlight()
    owner = flights.claim()
    assert owner is not None
    results: list[str] = []

    def wait() -> None:
        claim = flights.claim()
        assert claim is not None and not claim.owner
        results.append(claim.wait(5))

    threads = [threading.Thread(target=wait) for _ in range(8)]
    for thread in threads:
        thread.start()
    for _ in range(5000):  # until all 8 wait (bounded: a broken helper fails, not hangs)
        if flights.joined == 8:
            break
        threading.Event().wait(0.001)
    flights.finish(owner, "landed")
    for thread in threads:
        thread.join(5)
    assert results == ["landed"] * 8
    assert flights.started == 1


async def test_should_land_for_the_other_tasks_when_one_waiting_task_is_cancelled():
    flights: SingleFlight[str] = SingleFlight()
    owner = flights.claim()
    joiners = [flights.claim() for _ in range(2)]
    assert owner is not None and all(j is not None and not j.owner for j in joiners)
    cancelled = asyncio.ensure_future(joiners[0].wait_async(5))  # type: ignore[union-attr]
    kept = asyncio.ensure_future(joiners[1].wait_async(5))  # type: ignore[union-attr]
    await asyncio.sleep(0)
    cancelled.cancel()
    flights.finish(owner, "landed")
    assert await kept == "landed"
    with pytest.raises(asyncio.CancelledError):
        await cancelled


def test_should_start_nothing_when_start_if_says_no_and_a_new_flight_after_finish():
    flights: SingleFlight[int] = SingleFlight()
    assert flights.claim(start_if=lambda: False) is None
    assert flights.started == 0
    first = flights.claim()
    assert first is not None
    flights.finish(first, 1)
    second = flights.claim()
    assert second is not None and second.owner and second.future is not first.future
    assert flights.started == 2


def test_should_not_ask_start_if_while_a_flight_runs():
    flights: SingleFlight[int] = SingleFlight()
    assert flights.claim() is not None
    asked: list[bool] = []
    joined = flights.claim(start_if=lambda: asked.append(True) or False)
    assert joined is not None and not joined.owner and asked == []


def test_should_start_nothing_when_start_if_raises():
    flights: SingleFlight[int] = SingleFlight()

    def refuse() -> bool:
        raise LookupError("dead")

    with pytest.raises(LookupError):
        flights.claim(start_if=refuse)
    claim = flights.claim()  # the lock was released and no flight was left behind
    assert claim is not None and claim.owner and flights.started == 1


def test_should_raise_timeout_error_for_a_waiter_when_the_flight_never_lands():
    flights: SingleFlight[int] = SingleFlight()
    assert flights.claim() is not None
    joiner = flights.claim()
    assert joiner is not None
    with pytest.raises(TimeoutError):
        joiner.wait(0.01)


async def test_should_raise_timeout_error_for_a_task_when_the_flight_never_lands():
    flights: SingleFlight[int] = SingleFlight()
    assert flights.claim() is not None
    joiner = flights.claim()
    assert joiner is not None
    with pytest.raises(TimeoutError):
        await joiner.wait_async(0.01)


def test_should_share_the_components_lock_when_given_one():
    lock = threading.Lock()
    flights: SingleFlight[int] = SingleFlight(lock)
    with lock:  # the component holds its lock: claiming must wait for it
        result: list[object] = []
        thread = threading.Thread(target=lambda: result.append(flights.claim()))
        thread.start()
        thread.join(0.05)
        assert result == []
    thread.join(5)
    assert len(result) == 1
