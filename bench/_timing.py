"""Interleaved timing: every candidate of a comparison is measured in the same rounds.

Times are CPU time of the benchmark thread (``time.thread_time_ns``), so time spent
descheduled while other processes run is not counted.

These machines are noisy (shared cores, frequency scaling, other jobs), so absolute times drift
by tens of percent over a run. Each round times every candidate once, in a shuffled order, for
a calibrated number of calls with the garbage collector off (as ``timeit`` does); a candidate's
figure is the median of its per-call times over the rounds, and a ratio to a baseline is the
median of the per-round ratios (paired: both were measured within milliseconds of each other),
which cancels most of the drift.
"""

from __future__ import annotations

import gc
import random
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Sample", "measure", "paired_ratio", "ratio_quartiles", "ratio_text"]


@dataclass(frozen=True, slots=True)
class Sample:
    """Per-call times (microseconds) of one candidate, one per round."""

    name: str
    per_call_us: tuple[float, ...]
    calls_per_round: int

    @property
    def median(self) -> float:
        return statistics.median(self.per_call_us)

    @property
    def spread(self) -> float:
        """Interquartile range over the median: how noisy the rounds were."""
        if len(self.per_call_us) < 4:
            return 0.0
        q = statistics.quantiles(self.per_call_us, n=4)
        return (q[2] - q[0]) / self.median


def _chunk(fn: Callable[[], object], number: int) -> float:
    # CPU time of this thread, not wall-clock time: on a shared machine a chunk that is
    # descheduled would otherwise be charged for other processes' work. What contention
    # remains (shared caches, a busy hyperthread sibling) is what the interleaving cancels.
    counter = time.thread_time_ns
    rng = range(number)
    start = counter()
    for _ in rng:
        fn()
    return (counter() - start) / number / 1000.0


def _calibrate(fn: Callable[[], object], chunk_seconds: float) -> int:
    number = 1
    while True:
        per_call_us = _chunk(fn, number)
        if per_call_us * number >= chunk_seconds * 1e6 / 4 or number >= 1 << 20:
            break
        number *= 4
    return max(1, int(chunk_seconds * 1e6 / max(per_call_us, 1e-3)))


def measure(
    candidates: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    chunk_seconds: float = 0.01,
    seed: int = 6,
) -> dict[str, Sample]:
    """Time every candidate in ``rounds`` interleaved rounds; return a ``Sample`` per name."""
    numbers = {name: _calibrate(fn, chunk_seconds) for name, fn in candidates.items()}
    times: dict[str, list[float]] = {name: [] for name in candidates}
    order = list(candidates)
    rng = random.Random(seed)
    gc_was_enabled = gc.isenabled()
    try:
        for _ in range(rounds):
            rng.shuffle(order)
            gc.collect()
            gc.disable()
            try:
                for name in order:
                    fn = candidates[name]
                    # One untimed call first: the chunk before belonged to another candidate, and
                    # the first call after a switch pays for cold caches, which would tax the
                    # candidate with more Python code for what the previous one evicted.
                    fn()
                    times[name].append(_chunk(fn, numbers[name]))
            finally:
                if gc_was_enabled:
                    gc.enable()
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: Sample(name, tuple(times[name]), numbers[name]) for name in candidates}


def paired_ratio(sample: Sample, baseline: Sample) -> float:
    """Median over rounds of (candidate time / baseline time) measured in the same round."""
    return statistics.median(_ratios(sample, baseline))


def ratio_quartiles(sample: Sample, baseline: Sample) -> tuple[float, float]:
    """First and third quartiles of the per-round ratios: how sure the median ratio is."""
    ratios = _ratios(sample, baseline)
    if len(ratios) < 4:
        return min(ratios), max(ratios)
    q = statistics.quantiles(ratios, n=4)
    return q[0], q[2]


def ratio_text(sample: Sample, baseline: Sample) -> str:
    """``1.10x [1.05-1.16]``: the median paired ratio and its interquartile range."""
    low, high = ratio_quartiles(sample, baseline)
    return f"{paired_ratio(sample, baseline):.2f}x [{low:.2f}-{high:.2f}]"


def _ratios(sample: Sample, baseline: Sample) -> list[float]:
    return [a / b for a, b in zip(sample.per_call_us, baseline.per_call_us, strict=True)]
