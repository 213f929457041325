"""The write side of ``KeyRing``: what ``ensure``, ``tick``, ``rotate`` and ``revoke`` save.

``KeyRing`` owns the lock and the reads (it takes the store lock, re-reads the records,
computes their states at ``now`` and re-reads again after); these functions get those states
and decide what to write, through the store only. They never read the ring's caches, so the
read side and the write side meet in one place: the recorded dates (``_lifecycle.py``).

The ordering of the saves is part of the contract: each write leaves the store in a state
where some key signs, so a crash between two saves never leaves a use without a signing key.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass

from ._lifecycle import KeyChange, View, active_view, pending_records
from .key import Key
from .records import KeyRecord, KeyState, KeyStore

__all__ = ["RingChanges"]

# (use, algorithm or None, the key it succeeds or None) -> a new private key of that use.
NewKey = Callable[[str, str | None, Key | None], Key]


@dataclass(frozen=True, slots=True)
class RingChanges:
    """The changes of one ring: its store, its key factory and its schedule.

    ``slack(use)`` is how long a key of ``use`` stays published after it stops signing;
    ``period`` how long a key signs; ``ahead`` how long a new key is published before it signs.
    """

    store: KeyStore
    new_key: NewKey
    slack: Callable[[str | None], float]
    period: float
    ahead: float

    def retire(self, view: View, at: float, now: float) -> KeyRecord:
        record = view.record
        state = KeyState.RETIRING if at <= now else record.state
        return record.moved(
            state=state, retire_at=at, remove_at=at + self.slack(record.key.token_use)
        )

    def ensure(
        self, views: Mapping[str, View], uses: Collection[str], now: float
    ) -> list[KeyChange]:
        """Give each of ``uses`` an active key: its first pending key early, else a new one."""
        changes: list[KeyChange] = []
        for use in uses:
            if active_view(views, use) is not None:
                continue
            pending = pending_records(views, use)
            if pending:
                first = pending[0]
                self.store.save(first.moved(state=KeyState.ACTIVE, activate_at=now))
                changes.append(KeyChange(first.kid, use, "activated"))
                continue
            key = self.new_key(use, None, None)
            record = KeyRecord(key=key, state=KeyState.ACTIVE, publish_at=now, activate_at=now)
            self.store.save(record)
            changes.append(KeyChange(key.kid, use, "created"))
        return changes

    def tick(
        self, views: Mapping[str, View], configured: Collection[str], now: float
    ) -> list[KeyChange]:
        """Write the computed states back, delete removed keys, schedule each next key."""
        changes: list[KeyChange] = []
        for view in views.values():
            record, use = view.record, view.record.key.token_use
            if view.state is KeyState.RETIRED:
                self.store.delete(record.kid)
                changes.append(KeyChange(record.kid, use, "removed"))
            elif (view.state, view.retire_at, view.remove_at) != (
                record.state,
                record.retire_at,
                record.remove_at,
            ):
                self.store.save(
                    record.moved(
                        state=view.state, retire_at=view.retire_at, remove_at=view.remove_at
                    )
                )
                if view.state is not record.state:
                    changes.append(KeyChange(record.kid, use, view.state.value))
        uses = set(configured) | {
            v.record.key.token_use for v in views.values() if v.record.key.token_use
        }
        for use in sorted(u for u in uses if u):
            changes.extend(self._schedule(views, use, now))
        return changes

    def _schedule(self, views: Mapping[str, View], use: str, now: float) -> Iterator[KeyChange]:
        active = active_view(views, use)
        if active is None:
            return
        has_successor = bool(pending_records(views, use))
        due = active.record.activate_at + self.period
        if has_successor or now < due - self.ahead:
            return
        key = self.new_key(use, None, active.record.key)
        start = max(now + self.ahead, due)
        self.store.save(
            KeyRecord(key=key, state=KeyState.PENDING, publish_at=now, activate_at=start)
        )
        self.store.save(self.retire(active, start, now))
        yield KeyChange(key.kid, use, "created")

    def rotate(
        self,
        views: Mapping[str, View],
        use: str,
        *,
        immediate: bool,
        algorithm: str | None,
        now: float,
    ) -> KeyRecord:
        """A new key of ``use`` (or the pending one of that algorithm), and its predecessor
        told when to stop signing."""
        active = active_view(views, use)
        pending = pending_records(views, use)
        start = now if immediate or active is None else now + self.ahead
        reuse = [r for r in pending if algorithm is None or r.key.alg == algorithm]
        if reuse:
            record = reuse[0]
            if immediate:
                record = record.moved(state=KeyState.ACTIVE, activate_at=now)
                self.store.save(record)
        else:
            key = self.new_key(use, algorithm, active.record.key if active else None)
            state = KeyState.ACTIVE if start <= now else KeyState.PENDING
            record = KeyRecord(key=key, state=state, publish_at=now, activate_at=start)
            self.store.save(record)
        if active is not None and (immediate or not reuse):
            self.store.save(self.retire(active, record.activate_at, now))
        return record

    def revoke(self, views: Mapping[str, View], record: KeyRecord, now: float) -> list[KeyChange]:
        """Remove ``record`` at once, keeping the dates it implied for others, and activate a
        replacement when it was the active key of its use."""
        kid = record.kid
        view, use = views[kid], record.key.token_use
        for other in views.values():
            # Write down when older keys of this use stopped signing: that date was implied
            # by this key's activation, and must not move once this key is gone.
            past = other.record
            if (
                past is not record
                and past.key.token_use == use
                and past.retire_at is None
                and other.retire_at is not None
                and other.retire_at <= now
            ):
                self.store.save(
                    past.moved(
                        state=other.state, retire_at=other.retire_at, remove_at=other.remove_at
                    )
                )
        if view.state is KeyState.PENDING:
            # Its predecessor was told to stop signing when it activates: undo that first,
            # so a crash in between leaves a signing key.
            for other in views.values():
                persisted = other.record.retire_at
                if other.record is not record and persisted == record.activate_at > now:
                    self.store.save(other.record.moved(retire_at=None, remove_at=None))
        tombstone = record.moved(
            key=record.key.public_key(),  # the private half is destroyed
            state=KeyState.RETIRED,
            revoked=True,
            retire_at=min(view.retire_at or now, now),
            remove_at=now,
        )
        self.store.save(tombstone)
        changes = [KeyChange(kid, use, "revoked")]
        if view.state is KeyState.ACTIVE and use:
            changes.extend(self._replace(views, record, use, now))
        return changes

    def _replace(
        self, views: Mapping[str, View], revoked: KeyRecord, use: str, now: float
    ) -> Iterator[KeyChange]:
        pending = pending_records(views, use)
        if pending:
            successor = pending[0]
            self.store.save(successor.moved(state=KeyState.ACTIVE, activate_at=now))
            yield KeyChange(successor.kid, use, "activated")
            return
        key = self.new_key(use, None, revoked.key)
        self.store.save(KeyRecord(key=key, state=KeyState.ACTIVE, publish_at=now, activate_at=now))
        yield KeyChange(key.kid, use, "created")
