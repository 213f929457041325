"""The suite runs on pytest-xdist workers (scripts/test ``-n 2``), and xdist refuses a run whose
workers collect different test names. A parametrize id made from a value generated at collection
(a new key, a random token) or from a set's iteration order differs from one process to the
next: give such a case a fixed id. Two collections in new processes, with different hash seeds,
must name the same tests in the same order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _collect(seed: str) -> list[str]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_should_collect_the_same_test_names_in_every_process() -> None:
    first, second = _collect("1"), _collect("2")
    assert len(first) > 1000  # the whole suite was collected, not an empty or partial one
    moved = sorted(set(first) ^ set(second))
    assert not moved, "ids that change between processes:\n" + "\n".join(moved[:20])
    assert first == second  # the same order too: xdist compares the lists
