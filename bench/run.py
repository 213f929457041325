#!/usr/bin/env python3
"""Run the jwtwarden benchmarks and write the results into ``docs/benchmarks.md``.

    python3 bench/run.py            # the full run (a few minutes)
    python3 bench/run.py --quick    # fewer rounds, smaller memory and batch runs
    python3 bench/run.py --only verify,sign --no-write

Every comparison is measured in one run, interleaved (see ``_timing.py``), and reported as
medians and paired ratios; absolute times on these machines are context only. The generated
section of ``docs/benchmarks.md`` (between the two markers) is replaced; the hand-written
analysis around it is kept. Raw figures also go to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _fixtures import ALGORITHMS, fixture  # noqa: E402
from _report import Report  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- BEGIN GENERATED RESULTS: bench/run.py replaces everything up to the END marker -->"
END = "<!-- END GENERATED RESULTS -->"
SECTIONS = ("verify", "sign", "scaling", "memory", "batch", "breakdown", "profile")


def _pin_to_one_core() -> str:
    """Single-thread figures: keep the process (and the Node child) on one core."""
    try:
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[-1]})
        return f"pinned to core {cores[-1]} of {len(cores)}"
    except (AttributeError, OSError):
        return "not pinned"


def _environment(pinning: str) -> dict[str, str]:
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "absent"

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{cpu}, {os.cpu_count()} logical CPUs, {pinning}",
        "load": " ".join(Path("/proc/loadavg").read_text().split()[:3])
        if Path("/proc/loadavg").exists()
        else "n/a",
        "python": platform.python_version(),
        "libraries": ", ".join(
            f"{d} {version(d)}"
            for d in ("jwtwarden", "cryptography", "joserfc", "PyJWT", "python-jose", "jwcrypto")
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller runs")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch docs/")
    parser.add_argument("--no-node", action="store_true", help="skip Node's jose")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")

    pinning = _pin_to_one_core()
    # Many short rounds beat few long ones here: a paired ratio only needs its two chunks to
    # see the same machine, and more pairs make the median robust to bursts of other load.
    rounds = 15 if args.quick else 61
    chunk = 0.003 if args.quick else 0.005
    report = Report(_environment(pinning), quick=args.quick, rounds=rounds)
    for alg in ALGORITHMS:  # generate every key before any timing
        fixture(alg)

    if "verify" in only:
        import _verify_bench

        _verify_bench.run(report, rounds=rounds, chunk=chunk, node=not args.no_node)
    if "sign" in only:
        import _sign_bench

        _sign_bench.run(report, rounds=rounds, chunk=chunk)
    if "scaling" in only:
        import _scaling_bench

        _scaling_bench.run_keysets(report, rounds=rounds, chunk=chunk)
    if "memory" in only:
        import _scaling_bench

        _scaling_bench.run_memory(report, sizes=(10_000,) if args.quick else (10_000, 100_000))
    if "batch" in only:
        import _batch_bench

        _batch_bench.run(report, count=5_000 if args.quick else 20_000)
    if "breakdown" in only:
        import _breakdown_bench

        _breakdown_bench.run(report, rounds=rounds, chunk=chunk)
    if "profile" in only:
        import _profile_bench

        _profile_bench.run(report, seconds=1.5 if args.quick else 4.0)

    if Path("/proc/loadavg").exists():
        report.environment["load_end"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    text = report.markdown()
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.json").write_text(json.dumps(report.raw, indent=1, default=str))
    if args.no_write:
        print(text)
        return 0
    _write_doc(text)
    print(text)
    print(f"\nwritten to {DOC.relative_to(ROOT)} and bench/results/latest.json", file=sys.stderr)
    return 0


def _write_doc(generated: str) -> None:
    block = f"{BEGIN}\n\n{generated.strip()}\n\n{END}"
    if DOC.exists():
        current = DOC.read_text()
        if BEGIN in current and END in current:
            head, _, rest = current.partition(BEGIN)
            _, _, tail = rest.partition(END)
            DOC.write_text(head + block + tail)
            return
        DOC.write_text(current.rstrip() + "\n\n" + block + "\n")
        return
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(f"# Benchmarks\n\nRun `python3 bench/run.py`.\n\n{block}\n\n## Analysis\n")


__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
