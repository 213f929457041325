""".ci/run runs both legs of issue 10 (newest, then lowest versions) and fails if either does.

The real ``.ci/run`` is copied next to a stand-in ``scripts/test`` that records its arguments
and exits with the code the test chooses for each leg; nothing is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

STAND_IN = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../calls"
if [ "${1:-}" = "--lowest" ]; then exit "$LOWEST_RC"; fi
exit "$NEWEST_RC"
"""


def _run(
    tmp_path: Path, newest: int, lowest: int, *, lowest_setting: str | None = None
) -> tuple[int, list[str], str]:
    (tmp_path / ".ci").mkdir()
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    stand_in = tmp_path / "scripts" / "test"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "NEWEST_RC": str(newest), "LOWEST_RC": str(lowest)}
    if lowest_setting is not None:
        env["JWTWARDEN_CI_LOWEST"] = lowest_setting
    done = subprocess.run(
        [str(tmp_path / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60
    )
    calls = (tmp_path / "calls").read_text().splitlines()
    return done.returncode, calls, done.stderr


@pytest.mark.parametrize(
    ("newest", "lowest", "expected"),
    [(0, 0, 0), (1, 0, 1), (0, 1, 1), (2, 5, 1)],
    ids=[
        "passes when both legs pass",
        "fails when the newest leg fails",
        "fails when the lowest leg fails",
        "fails when both fail",
    ],
)
def test_should_run_both_legs_and_fail_when_either_fails(
    tmp_path: Path, newest: int, lowest: int, expected: int
) -> None:
    rc, calls, log = _run(tmp_path, newest, lowest)
    assert rc == expected, log
    # Both legs ran, newest first, even when the first failed.
    assert calls == ["-q", "--lowest -q"]
    assert f"newest versions: exit {newest} in " in log
    assert f"lowest versions: exit {lowest} in " in log
    assert f"newest exit {newest}, lowest exit {lowest}" in log


def test_should_gate_on_the_lowest_leg_by_default_and_when_asked(tmp_path: Path) -> None:
    for setting in (None, "gate"):
        where = tmp_path / str(setting)
        where.mkdir()
        rc, calls, log = _run(where, 0, 1, lowest_setting=setting)
        assert rc == 1, (setting, log)
        assert calls == ["-q", "--lowest -q"]
        assert "it is reported, not gating" not in log


def test_should_report_but_not_gate_on_a_failing_lowest_leg_only_when_told(tmp_path: Path) -> None:
    rc, calls, log = _run(tmp_path, 0, 1, lowest_setting="report")
    assert rc == 0, log
    assert calls == ["-q", "--lowest -q"]
    assert "lowest versions: exit 1 in " in log
    assert "the lowest-versions leg failed; it is reported, not gating" in log


def test_should_fail_on_the_newest_leg_whatever_the_lowest_setting(tmp_path: Path) -> None:
    rc, _, log = _run(tmp_path, 1, 0, lowest_setting="report")
    assert rc == 1, log
