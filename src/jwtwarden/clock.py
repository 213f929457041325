"""Time as a parameter: every component that reads the time takes a ``Clock``."""

from __future__ import annotations

import math
import time
from typing import Protocol, runtime_checkable

__all__ = ["SYSTEM_CLOCK", "Clock", "FixedClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Something that tells the current time in seconds since the epoch."""

    def now(self) -> float: ...


class SystemClock:
    """The real wall clock."""

    __slots__ = ()

    def now(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()


class FixedClock:
    """A clock the caller moves by hand (tests, simulations)."""

    __slots__ = ("_t",)

    def __init__(self, t: float) -> None:
        self._t = float(t)

    def now(self) -> float:
        return self._t

    def set(self, t: float) -> None:
        self._t = float(t)

    def advance(self, seconds: float) -> None:
        self._t += seconds

    def __repr__(self) -> str:
        return f"FixedClock({self._t!r})"


def check_seconds(name: str, value: object, *, zero_ok: bool = False) -> float:
    """``value`` as a duration in seconds for the setting ``name``: a finite number (not a
    bool), positive, or at least 0 with ``zero_ok``.

    Raises:
        TypeError: not a finite number. ValueError: out of range.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number of seconds")
    if value < 0 or (value == 0 and not zero_ok):
        raise ValueError(f"{name} must be {'at least 0' if zero_ok else 'positive'}")
    return float(value)
