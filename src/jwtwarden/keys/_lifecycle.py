"""The lifecycle of key records at one instant, computed from their recorded dates alone.

Pure functions, no I/O: every process that reads the same records computes the same states,
so processes sharing a key store agree without a coordinator (see ``keys.rotation``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from .records import KeyRecord, KeyState

__all__ = ["LIVE", "KeyChange", "View", "active_view", "effective_views", "pending_records"]

LIVE = (KeyState.PENDING, KeyState.ACTIVE, KeyState.RETIRING)


class KeyChange(NamedTuple):
    """One change a ``KeyRing`` made: ``change`` is ``created``, ``activated``, ``retiring``,
    ``retired``, ``removed`` or ``revoked``."""

    kid: str
    use: str | None
    change: str


class View(NamedTuple):
    """A record's effective state and dates at one instant."""

    record: KeyRecord
    state: KeyState
    retire_at: float | None
    remove_at: float | None


def effective_views(
    records: Iterable[KeyRecord], now: float, slack: Callable[[str | None], float]
) -> dict[str, View]:
    """The state of every record at ``now``.

    ``slack(use)`` is how long a key of that use stays published after it stops signing (the
    longest token lifetime plus leeway plus the store refresh interval).
    """
    by_use: dict[str | None, list[KeyRecord]] = {}
    out: dict[str, View] = {}
    for record in records:
        if record.revoked:
            out[record.kid] = View(record, KeyState.RETIRED, record.retire_at, now)
        else:
            by_use.setdefault(record.key.token_use, []).append(record)
    for use, group in by_use.items():
        # Ties (same instant) put a key already told to retire first; then by kid, so every
        # process orders the same records the same way.
        group.sort(key=lambda r: (r.activate_at, r.publish_at, r.retire_at is None, r.kid))
        for i, record in enumerate(group):
            retire = record.retire_at
            if i + 1 < len(group):
                # A key stops signing when the next one activates, whatever was recorded
                # (covers a crash between saving the new key and updating the old one).
                newer = group[i + 1].activate_at
                retire = newer if retire is None else min(retire, newer)
            remove = None
            if retire is not None:
                remove = max(record.remove_at or -math.inf, retire + slack(use))
            if remove is not None and now >= remove:
                state = KeyState.RETIRED
            elif retire is not None and now >= retire:
                state = KeyState.RETIRING
            elif now < record.activate_at:
                state = KeyState.PENDING
            else:
                state = KeyState.ACTIVE
            out[record.kid] = View(record, state, retire, remove)
    return out


def active_view(views: Mapping[str, View], use: str) -> View | None:
    """The active key of ``use`` (the latest activated, should the dates ever disagree)."""
    active = [
        v for v in views.values() if v.state is KeyState.ACTIVE and v.record.key.token_use == use
    ]
    return max(active, key=lambda v: v.record.activate_at, default=None)


def pending_records(views: Mapping[str, View], use: str) -> list[KeyRecord]:
    """The pending keys of ``use``, the next to activate first."""
    pending = [
        v.record
        for v in views.values()
        if v.state is KeyState.PENDING and v.record.key.token_use == use
    ]
    return sorted(pending, key=lambda r: (r.activate_at, r.kid))
