"""Running wrk (one thread, N connections, a bounded duration) and reading its summary.

wrk is the load generator: C, one event loop, on the same two cores as the servers, so it is
kept to one thread (it needs well under a core at these rates). Its scripts are in ``lua/``;
each prints one ``JSON {...}`` line (see ``lua/report.lua``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"

__all__ = ["Result", "need_wrk", "wrk"]


@dataclass(frozen=True, slots=True)
class Result:
    """One wrk run. Latencies in milliseconds; ``errors`` counts non-2xx/3xx answers,
    socket errors, timeouts and (``lua/lines.lua``) any status but the expected one;
    ``dry``: requests sent after a single-use pool ran out (``lines.lua`` ``once=1``)."""

    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    mean_ms: float
    errors: int
    non_2xx: int
    unexpected: int = 0
    dry: int = 0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def need_wrk() -> str:
    """The wrk binary, or exit with how to get it (this script never installs anything)."""
    path = shutil.which("wrk")
    if path is None:
        sys.exit(
            "bench/server: wrk is not installed. Install it (Debian/Ubuntu: "
            "apt-get install -y wrk) and run again."
        )
    return path


def wrk(
    url: str,
    script: str,
    args: list[str],
    *,
    connections: int,
    seconds: float,
    timeout: float = 10.0,
) -> Result:
    """Run wrk against ``url`` (loopback only) and return its summary."""
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError("the load generator only targets this machine")
    argv = [
        need_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={timeout:g}s",
        "-s",
        str(LUA / script),
        url,
        "--",
        *args,
    ]
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA)}
    done = subprocess.run(
        argv, capture_output=True, text=True, env=env, timeout=seconds + 60, check=False
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line[5:])
    secs = raw["duration_us"] / 1e6
    unexpected = int(raw.get("unexpected", 0))  # statuses under 400 other than the expected one
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["status"] + raw["timeout"]
    errors += unexpected
    return Result(
        requests=raw["requests"],
        seconds=secs,
        rps=raw["requests"] / secs if secs else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        p999_ms=raw["p999_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        errors=errors,
        non_2xx=raw["status"],
        unexpected=unexpected,
        dry=int(raw.get("dry", 0)),
    )
