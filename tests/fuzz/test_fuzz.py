"""The fuzz targets in the test suite: every committed corpus input replayed, then a bounded
coverage-guided run of each target under atheris (a fixed seed and number of inputs, capped in
time), in a subprocess, since atheris ends its process on a crash.

The longer run is ``python -m tests.fuzz.run TARGET --time 600`` (docs/security.md, "Fuzzing").
Without atheris the bounded runs skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.run import CORPUS, DICTS, MAX_LEN
from tests.fuzz.targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"
# Inputs per target and a time cap, for about 20 s in all on an idle machine: the token target
# verifies each input with three policies, twice, and signs it again (about 1,000 inputs/s).
BOUNDED = {"token": (6000, 20), "jwk": (15000, 15), "json": (100000, 10)}
SEED = 20240613


def _corpus() -> list[tuple[str, Path]]:
    return [(target, path) for target in TARGETS for path in sorted((CORPUS / target).iterdir())]


def test_should_have_a_seed_corpus_and_a_dictionary_for_every_target() -> None:
    assert sorted(TARGETS) == sorted(MAX_LEN) == sorted(BOUNDED)
    for target in TARGETS:
        assert len(list((CORPUS / target).glob("seed-*"))) >= 5, target
        assert (DICTS / f"{target}.dict").is_file(), target


@pytest.mark.parametrize(("target", "path"), _corpus(), ids=[f"{t}/{p.name}" for t, p in _corpus()])
def test_should_replay_every_corpus_input_without_a_crash(target: str, path: Path) -> None:
    # Raises (and fails) on anything but the refusals the target expects.
    TARGETS[target](path.read_bytes())
    assert len(path.read_bytes()) <= MAX_LEN[target]


def test_should_accept_the_valid_seed_tokens() -> None:
    # The seeds start deep only if the valid ones verify: the access seed under the access policy.
    from tests.fuzz.targets import _VERIFIERS

    accepted = [
        path.name
        for path in (CORPUS / "token").glob("seed-*")
        if any(_outcome_ok(v, path.read_bytes()) for v in _VERIFIERS)
    ]
    assert len(accepted) >= 3, accepted


def _outcome_ok(verifier: object, token: bytes) -> bool:
    from jwtwarden import JWTWardenError, Verifier

    assert isinstance(verifier, Verifier)
    try:
        verifier.verify(token)
    except JWTWardenError:
        return False
    return True


def _atheris() -> None:
    if importlib.util.find_spec("atheris") is None:
        message = "atheris is not installed (pip install -e '.[fuzz]')"
        if IN_CI:
            pytest.fail(message + " (CI=true, so this is a failure, not a skip)")
        pytest.skip(message)


@pytest.mark.parametrize("target", sorted(BOUNDED))
def test_should_find_no_crash_in_a_bounded_fuzzing_run(target: str, tmp_path: Path) -> None:
    _atheris()
    runs, seconds = BOUNDED[target]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.run",
            target,
            "--runs",
            str(runs),
            "--time",
            str(seconds),
            "--seed",
            str(SEED),
            "--workdir",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert done.returncode == 0 and not crashes, (crashes, done.stderr[-4000:])
    executed = re.search(r"stat::number_of_executed_units: (\d+)", done.stderr)
    assert executed is not None, done.stderr[-2000:]
    # It really fuzzed: the corpus was loaded and mutated well beyond it.
    assert int(executed.group(1)) > 10 * len(list((CORPUS / target).iterdir())), executed.group(0)
