"""CPU time per request, read from ``/proc``: the figure that stays meaningful when the machine
is shared.

Throughput on two cores shared with PostgreSQL, Redis, the load generator and whatever else
runs on the machine moves by tens of percent from one run to the next; the CPU time a server
spends per request moves far less. Each run records the CPU seconds burnt by the server's
process group (uvicorn parent and workers), by PostgreSQL (all of its processes: other users of
the same server are counted too, so that figure is an upper bound) and by Redis, plus how busy
the machine was just before the run started (other work than ours).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["Meter", "machine_busy", "settle", "wait_for_quiet"]

_TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += _children(p)
    return pids


def _by_name(name: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith(name):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _cpu(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (after the comm field)
    return total / _TICK


class Meter:
    """CPU seconds of a server tree, PostgreSQL and Redis between ``start`` and ``stop``."""

    def __init__(self, server_pid: int) -> None:
        self.server = _tree(server_pid)
        self.postgres = _by_name("postgres")
        self.redis = _by_name("redis-server")
        self._start = (0.0, 0.0, 0.0)

    def _read(self) -> tuple[float, float, float]:
        return _cpu(self.server), _cpu(self.postgres), _cpu(self.redis)

    def start(self) -> None:
        # PostgreSQL forks a backend per connection: refresh the list (new pools connect).
        self.postgres = _by_name("postgres")
        self._start = self._read()

    def stop(self) -> tuple[float, float, float]:
        end = self._read()
        return (end[0] - self._start[0], end[1] - self._start[1], end[2] - self._start[2])


def _stat() -> tuple[int, int]:
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in parts]
    idle = values[3] + values[4]
    return sum(values), idle


def machine_busy(seconds: float = 0.5) -> float:
    """The fraction of all cores busy over ``seconds`` (0..1)."""
    total0, idle0 = _stat()
    time.sleep(seconds)
    total1, idle1 = _stat()
    spent = total1 - total0
    return 1.0 - (idle1 - idle0) / spent if spent else 0.0


def wait_for_quiet(limit: float = 0.3, patience: float = 3.0) -> float:
    """Wait (up to ``patience`` seconds) until the machine is mostly idle before a run, so other
    jobs on the shared cores skew fewer runs; returns the last busy fraction seen."""
    deadline = time.monotonic() + patience
    busy = machine_busy()
    while busy > limit and time.monotonic() < deadline:
        busy = machine_busy()
    return busy


def settle(pid: int, *, patience: float = 60.0) -> None:
    """Wait until a server tree is idle (under 5% of a core over half a second)."""
    tree = _tree(pid)
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        before = _cpu(tree)
        time.sleep(0.5)
        if _cpu(tree) - before < 0.025:
            return
