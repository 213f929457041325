#!/usr/bin/env python3
"""Benchmark the auth server under load, next to its ceilings, and write
``docs/benchmarks-server.md``.

    python3 bench/server/run.py              # the full run (about 12 minutes)
    python3 bench/server/run.py --quick      # one short round of everything (about 3 minutes)
    python3 bench/server/run.py --only refresh,ceiling --no-write

Everything runs on 127.0.0.1: a dedicated PostgreSQL schema and Redis prefix (both removed at
the end), ``jwtwarden serve --workers N`` in production mode (KEK, keys in PostgreSQL, Redis
denylist), the ceiling apps and a resource server under the same uvicorn settings, and wrk
(which must be installed: ``apt-get install -y wrk``); for the ``peer_*`` scenarios, the reference
provider oidc-provider, one Node process from ``tests/peers/oidc-provider`` (``npm ci`` there;
skipped, and said so, without it), stopped at the end like every server. Each figure is the
median over rounds;
each ratio the median of per-round ratios of runs made back to back. Raw figures go to
``bench/server/results/latest.json``; the generated section of the doc (between its markers)
is replaced and the hand-written analysis around it kept.
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _cpu import Meter, settle, wait_for_quiet  # noqa: E402
from _deploy import (  # noqa: E402
    PASSWORD,
    POSTGRES_URL,
    REDIS_URL,
    Database,
    Deployment,
    check_services,
    flush_redis,
    peer_node,
    run,
)
from _profile import record, summarise  # noqa: E402
from _report import targets, write_report  # noqa: E402
from _scenarios import PEER_KEYS, RESOURCE_APPS, SCENARIOS, Workload, argon2_rate  # noqa: E402
from _wrk import need_wrk, wrk  # noqa: E402

ROOT = HERE.parents[1]
DOC = ROOT / "docs" / "benchmarks-server.md"
RESULTS = HERE / "results" / "latest.json"
PROFILED = (
    "refresh",
    "ceiling",
    "jwks",
    "introspect",
    "protected",
    "code_exchange",
    "signin_get",
    "client_credentials",
    "login",
)  # login last: its queue drains slowly
QUEUED = ("login", "signin_post")  # argon2id: requests keep hashing after wrk stops


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace, dep: Deployment, work: Workload) -> None:
        self.args = args
        self.dep = dep
        self.work = work
        self.seconds = 2.0 if args.quick else args.seconds
        self.rounds = 1 if args.quick else args.rounds
        self.only = set(args.only.split(",")) if args.only else set(SCENARIOS)
        self.out: dict[str, Any] = {"runs": {}, "sweep": {}, "scaling": [], "profiles": {}}

    # --- one run -------------------------------------------------------------------------

    def measure(self, key: str, connections: int, seconds: float | None = None) -> dict[str, Any]:
        """One wrk run, after waiting for the machine to calm down, with the CPU burnt per
        request by the server, PostgreSQL and Redis."""
        seconds = seconds or self.seconds
        url, script, wrk_args = self.work.args(key, connections, seconds)
        app = self.dep.processes[SCENARIOS[key].app]
        busy = wait_for_quiet()
        meter = Meter(app.proc.pid)
        meter.start()
        result = wrk(url, script, wrk_args, connections=connections, seconds=seconds)
        server, postgres, redis = meter.stop()
        n = max(result.requests, 1)
        out: dict[str, Any] = result.as_dict()
        out.update(
            server_cpu_us=server / n * 1e6,
            pg_cpu_us=postgres / n * 1e6,
            redis_cpu_us=redis / n * 1e6,
            busy_before=busy,
        )
        self.work.rates[key] = max(result.rps, self.work.rates.get(key, 0.0))
        if key in QUEUED:
            settle(app.proc.pid)  # queued logins keep hashing after wrk stops
        return out

    def _keep(
        self, bucket: dict[str, Any], key: str, connections: int, result: dict[str, Any]
    ) -> None:
        bucket.setdefault(key, {}).setdefault(str(connections), []).append(result)

    # --- phases ---------------------------------------------------------------------------

    def warm_up(self) -> None:
        for key in SCENARIOS:
            if key in self.only and key not in QUEUED:
                self.measure(key, 16, seconds=1)

    def main_rounds(self) -> None:
        password_hash = self.dep_password_hash
        for r in range(self.rounds):
            for connections in (1, 16, 64):
                for key, scenario in SCENARIOS.items():
                    if key not in self.only or connections not in scenario.connections:
                        continue
                    if key == "login":
                        # The hash alone, on as many threads as there are cores, just before.
                        rate = argon2_rate(password_hash, threads=2, seconds=self.seconds)
                        self.out.setdefault("argon2_2_threads", []).append(rate)
                    hash_rate = None
                    if key == "signin_post":
                        # The hash alone on as many threads as the server has workers, just
                        # before (argon2-cffi releases the GIL; each worker hashes on its own).
                        workers = self.dep.workers
                        hash_rate = argon2_rate(
                            password_hash, threads=workers, seconds=self.seconds
                        )
                    result = self.measure(key, connections)
                    if hash_rate is not None:
                        result["argon2_rate"] = hash_rate
                    self._keep(self.out["runs"], key, connections, result)
                    _log(
                        f"round {r + 1} {key:<17} c={connections:<3} {result['rps']:8.0f}/s "
                        f"p50 {result['p50_ms']:6.2f} ms p99 {result['p99_ms']:7.2f} ms "
                        f"cpu {result['server_cpu_us']:6.0f} us/req errors {result['errors']} "
                        f"{'(dry ' + str(result['dry']) + ') ' if result.get('dry') else ''}"
                        f"(machine {result['busy_before']:.0%} busy before)"
                    )
            if "login" in self.only:
                rate1 = argon2_rate(password_hash, threads=1, seconds=self.seconds)
                self.out.setdefault("argon2_1_thread", []).append(rate1)

    def sweep(self, counts: tuple[int, ...]) -> None:
        """Refresh and its ceiling at 64 connections with 1..4 workers each."""
        rotate_env = self.rotate_env
        for workers in counts:
            self.dep.stop("auth")
            self.dep.stop("rotate")
            self.dep.start_auth(workers)
            self.dep.start_app("rotate", "ceilings:rotate_app", rotate_env, workers)
            for key in ("refresh", "ceiling"):
                self.measure(key, 16, seconds=1)
            for _ in range(max(1, self.rounds - 1)):
                for key in ("refresh", "ceiling"):
                    result = self.measure(key, 64)
                    self._keep(self.out["sweep"], f"{key}@{workers}", 64, result)
                    _log(
                        f"sweep w={workers} {key:<8} {result['rps']:8.0f}/s "
                        f"p99 {result['p99_ms']:.1f} cpu {result['server_cpu_us']:.0f} us/req"
                    )
        self.dep.stop("auth")
        self.dep.stop("rotate")
        self.dep.start_auth()
        self.dep.start_app("rotate", "ceilings:rotate_app", rotate_env)

    def scaling(self, sizes: tuple[int, ...]) -> None:
        for size in sizes:
            if size > self.dep.db.sessions:
                _log(f"loading sessions up to {size:,}")
                took = run(self.dep.db.load_sessions(size))
                _log(f"loaded in {took:.1f} s")
            counts = run(self.dep.db.counts())
            entry: dict[str, Any] = {"size": size, "counts": counts, "runs": {}}
            for key in ("refresh", "ceiling"):
                self.measure(key, 16, seconds=1)
            for _ in range(self.rounds):
                for connections in (1, 64):
                    for key in ("refresh", "ceiling"):
                        result = self.measure(key, connections)
                        self._keep(entry["runs"], key, connections, result)
                        _log(
                            f"scaling {size:>9,} {key:<8} c={connections:<3} "
                            f"{result['rps']:7.0f}/s p50 {result['p50_ms']:.2f} "
                            f"p99 {result['p99_ms']:.2f}"
                        )
            self.out["scaling"].append(entry)

    def breakdown(self) -> None:
        """The in-process CPU breakdown (``_breakdown.py``), with the server's settings."""
        count = 600 if self.args.quick else 1500
        first = self.dep.db.reserve(count)
        env = {
            **self.dep.auth_env(),
            "BENCH_SEED": self.dep.db.seed,
            "BENCH_FIRST": str(first),
            "BENCH_COUNT": str(count),
        }
        wait_for_quiet()
        done = subprocess.run(
            [sys.executable, str(HERE / "_breakdown.py")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("JSON ")), None)
        if line is None:
            _log(f"breakdown failed: {done.stderr[-1500:]}")
            return
        self.out["breakdown"] = json.loads(line[5:])
        for name, us in self.out["breakdown"].items():
            _log(f"breakdown {us:9.0f} us  {name}")

    def profiles(self, seconds: float) -> None:
        for key in PROFILED:
            if key not in self.only:
                continue
            connections = 16 if key == "login" else 64
            app = self.dep.processes[SCENARIOS[key].app]
            target = self.dep.workdir / f"profile-{key}.txt"
            url, script, wrk_args = self.work.args(key, connections, seconds + 1)
            spy = record(app.proc.pid, seconds, target)
            time.sleep(0.5)
            wrk(url, script, wrk_args, connections=connections, seconds=seconds + 1)
            _, err = spy.communicate(timeout=60)
            if not target.exists():
                _log(f"py-spy failed for {key}: {err.decode(errors='replace')[-500:]}")
                continue
            prof = summarise(target)
            self.out["profiles"][key] = {
                "connections": connections,
                "samples": prof.samples,
                "components": prof.components,
                "leaves": prof.leaves,
            }
            _log(f"profile {key}: {prof.samples} samples, top {prof.components[:3]}")

    # --- set-up helpers -------------------------------------------------------------------

    dep_password_hash: str = ""

    @property
    def rotate_env(self) -> dict[str, str]:
        return {
            "BENCH_DATABASE_URL": self.dep.db.url,
            "BENCH_SCHEMA": self.dep.db.schema,
            "BENCH_ISSUER": self.dep.issuer,
        }

    def start_apps(self) -> None:
        if self.only & PEER_KEYS:
            self.dep.start_peer(self.work.peer_config())
        self.dep.start_auth()
        self.dep.start_app("rotate", "ceilings:rotate_app", self.rotate_env)
        self.dep.start_app("hello", "ceilings:hello_app", {})
        for name, env in RESOURCE_APPS.items():
            keys = {s.key for s in SCENARIOS.values() if s.app == name}
            if keys & self.only:
                full = {
                    **env,
                    "BENCH_ISSUER": self.dep.issuer,
                    "BENCH_REDIS_URL": REDIS_URL,
                    "BENCH_REDIS_PREFIX": self.dep.redis_prefix,
                }
                self.dep.start_app(name, "protected_api:protected_app", full)


def _environment(dep: Deployment, workers: int) -> dict[str, Any]:
    import importlib.metadata
    import platform
    import subprocess

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "absent"

    cpu = platform.processor() or "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    import os

    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "workers": workers,
        "wrk": (wrk_version.stdout or wrk_version.stderr).splitlines()[0][:60],
        "packages": {
            d: version(d)
            for d in (
                "fastapi",
                "starlette",
                "uvicorn",
                "uvloop",
                "httptools",
                "sqlalchemy",
                "asyncpg",
                "redis",
                "hiredis",
                "argon2-cffi",
                "joserfc",
                "cryptography",
            )
        },
        "resource_server": _resource_mode(dep),
    }


def _resource_mode(dep: Deployment) -> str:
    import httpx

    proc = dep.processes.get("resource-cached-deny")
    if proc is None:
        return "not run"
    try:
        return str(httpx.get(proc.base_url + "/healthz", timeout=5).json().get("auth"))
    except Exception as exc:  # a report detail only
        return f"unknown ({type(exc).__name__})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round of everything")
    parser.add_argument("--only", help="comma-separated scenarios: " + ",".join(SCENARIOS))
    parser.add_argument("--workers", type=int, default=2, help="server workers (2)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per run (5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the worker-count sweep")
    parser.add_argument("--no-scaling", action="store_true", help="skip 10k vs 1M sessions")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    parser.add_argument("--no-write", action="store_true", help="do not write the doc")
    parser.add_argument(
        "--keep-files", action="store_true", help="keep the work files (logs, profiles)"
    )
    args = parser.parse_args()
    need_wrk()
    check_services()

    from jwtwarden.sessions.passwords import PasswordHasher

    workdir = Path(tempfile.mkdtemp(prefix="jwtwarden-bench-"))
    db = Database(POSTGRES_URL, schema="jwtwarden_bench_" + secrets.token_hex(4))
    kek = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    prefix = f"jwtwarden-bench-{secrets.token_hex(4)}:"
    dep = Deployment(db=db, workdir=workdir, redis_prefix=prefix, kek=kek, workers=args.workers)
    work = Workload(dep, workdir)
    bench = Bench(args, dep, work)
    started = time.monotonic()
    try:
        kept = "kept" if args.keep_files else "removed at the end; --keep-files keeps them"
        _log(f"schema {db.schema}, work files in {workdir} ({kept})")
        dep.migrate()
        if bench.only & PEER_KEYS and peer_node() is None:
            _log(
                "skipping the oidc-provider scenarios: node or its package is missing "
                "(npm ci in tests/peers/oidc-provider)"
            )
            bench.only -= PEER_KEYS
        work.register_clients(bench.only)
        bench.dep_password_hash = PasswordHasher().hash(PASSWORD)
        run(db.load_users(bench.dep_password_hash))
        base = 10_000
        run(db.load_sessions(base))
        bench.start_apps()
        bench.out["environment"] = _environment(dep, args.workers)
        _log("warming up")
        bench.warm_up()
        bench.main_rounds()
        phases = [bench.breakdown]
        if not args.no_sweep and not args.quick and {"refresh", "ceiling"} <= bench.only:
            phases.append(lambda: bench.sweep((1, 2, 3, 4)))
        if not args.no_scaling and "refresh" in bench.only:
            phases.append(lambda: bench.scaling((base, 200_000 if args.quick else 1_000_000)))
        if not args.no_profile:
            phases.append(lambda: bench.profiles(3.0 if args.quick else 8.0))
        for phase in phases:
            try:
                phase()
            except Exception as exc:  # keep what was measured; say what was not
                _log(f"a phase failed, results so far are kept: {type(exc).__name__}: {exc}")
                bench.out.setdefault("failures", []).append(f"{type(exc).__name__}: {exc}"[:300])
                dep.stop_all()
                bench.start_apps()
    finally:
        dep.stop_all()
        try:
            run(db.drop())
            run(flush_redis(prefix))
        except Exception as exc:
            _log(f"clean-up failed: {type(exc).__name__}: {exc}")
        if not args.keep_files:
            shutil.rmtree(workdir, ignore_errors=True)
    bench.out["seconds"] = time.monotonic() - started
    bench.out["settings"] = {
        "quick": args.quick,
        "seconds": bench.seconds,
        "rounds": bench.rounds,
        "only": sorted(bench.only),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(bench.out, indent=1))
    _log(f"raw results in {RESULTS.relative_to(ROOT)} ({bench.out['seconds']:.0f} s)")
    print("\n".join(targets(bench.out)), flush=True)
    if not args.no_write:
        write_report(DOC, bench.out)
        _log(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
