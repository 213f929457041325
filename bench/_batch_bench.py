"""Batch verification: ``jwtwarden verify -`` on N distinct ES256 tokens against the same job
written with PyJWT (``batch_pyjwt.py``) and with the jwtwarden library (``batch_jwtwarden.py``).

Each job is a fresh process reading every token on stdin, so interpreter start-up and imports
count, as they do for a real batch job. Three interleaved runs each; medians.
"""

from __future__ import annotations

import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _fixtures import AUD, ISS, claims_now
from _report import Report, table

from jwtwarden import KeySet, generate_key
from jwtwarden._jose.sign import sign_compact

__all__ = ["run"]

HERE = Path(__file__).resolve().parent
RUNS = 5


def _cli_command(jwks: Path) -> tuple[list[str] | None, str]:
    """The ``jwtwarden verify -`` command line, or why it cannot be run yet."""
    exe = shutil.which("jwtwarden")
    base = [exe] if exe else [sys.executable, "-m", "jwtwarden"]
    probe = subprocess.run(
        [*base, "verify", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    if probe.returncode != 0:
        return None, "the `jwtwarden verify` command does not exist yet"
    helptext = probe.stdout
    wanted = {"--jwks": str(jwks), "--issuer": ISS, "--audience": AUD}
    missing = [opt for opt in wanted if opt not in helptext]
    if missing:
        return None, f"`jwtwarden verify` has no {', '.join(missing)} option"
    args = [*base, "verify", "-"]
    for opt, value in wanted.items():
        args += [opt, value]
    if "--algorithm" in helptext:
        args += ["--algorithm", "ES256"]
    if "--profile" in helptext:
        args += ["--profile", "access"]
    return args, ""


def _time_job(args: list[str], stdin: bytes, count: int) -> float:
    """The job's CPU time (user + system of the child): its cost on one core, whatever else
    the machine is doing."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(args, input=stdin, capture_output=True, timeout=600, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = done.stdout.decode(errors="replace").splitlines()
    if done.returncode != 0 or len(lines) < count:
        raise RuntimeError(
            f"{Path(args[1]).name if len(args) > 1 else args[0]} failed "
            f"(exit {done.returncode}, {len(lines)} lines): {done.stderr.decode()[-300:]}"
        )
    return elapsed


def run(report: Report, *, count: int) -> None:
    key = generate_key("ES256", kid="batch")
    with tempfile.TemporaryDirectory() as tmp:
        jwks = Path(tmp) / "jwks.json"
        jwks.write_text(json.dumps(KeySet([key.public_key()]).public_jwks()))
        tokens = "\n".join(
            sign_compact({"typ": "at+jwt"}, claims_now(sub=f"u{i}", jti=f"j{i:08d}"), key)
            for i in range(count)
        )
        stdin = (tokens + "\n").encode()
        common = ["--jwks", str(jwks), "--issuer", ISS, "--audience", AUD]
        jobs: dict[str, list[str]] = {
            "PyJWT script": [sys.executable, str(HERE / "batch_pyjwt.py"), *common],
            "jwtwarden library script": [sys.executable, str(HERE / "batch_jwtwarden.py"), *common],
        }
        cli, why_not = _cli_command(jwks)
        if cli is not None:
            jobs["jwtwarden verify - (CLI)"] = cli
        times: dict[str, list[float]] = {name: [] for name in jobs}
        errors: dict[str, str] = {}
        for _ in range(RUNS):
            for name, args in jobs.items():
                if name in errors:
                    continue
                try:
                    times[name].append(_time_job(args, stdin, count))
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    errors[name] = str(exc)
    rows = []
    rates: dict[str, float] = {}
    for name in jobs:
        if name in errors:
            rows.append([name, "failed", "", errors[name][:120]])
            continue
        cpu = statistics.median(times[name])
        rates[name] = count / cpu
        rows.append([name, f"{cpu:.2f} s", f"{rates[name]:,.0f}", ""])
    report.raw["batch"] = {"count": count, "times": times, "errors": errors}
    body = (
        f"{count:,} distinct ES256 access tokens on stdin, each job writing the CLI's JSON result "
        "line per token; one process per job (start-up and "
        f"imports included), median CPU time (user + system) of {RUNS} interleaved runs; "
        "tokens per second of CPU, i.e. on one core.\n\n"
        + table(["job", "CPU time", "tokens/s (CPU)", "note"], rows, "lrrl")
    )
    if cli is None:
        body += f"\n\nThe CLI was not measured: {why_not}."
    report.section("Batch verification", body)
    cli_rate = rates.get("jwtwarden verify - (CLI)")
    py_rate = rates.get("PyJWT script")
    if cli_rate is None:
        report.target("Batch CLI at least 5,000 ES256 tokens/s", why_not or "failed", None)
        report.target("Batch CLI faster than the PyJWT script", why_not or "failed", None)
    else:
        report.target(
            "Batch CLI at least 5,000 ES256 tokens/s", f"{cli_rate:,.0f}/s", cli_rate >= 5000
        )
        report.target(
            "Batch CLI faster than the PyJWT script",
            f"{cli_rate:,.0f}/s vs {py_rate:,.0f}/s" if py_rate else "PyJWT job failed",
            bool(py_rate and cli_rate > py_rate),
        )
