"""The generated part of ``docs/benchmarks-server.md``: medians, paired ratios, targets."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from _scenarios import SCENARIOS

__all__ = ["BEGIN", "END", "render", "targets", "write_report"]

BEGIN = "<!-- BEGIN GENERATED RESULTS: bench/server/run.py replaces everything up to END -->"
END = "<!-- END GENERATED RESULTS -->"

Runs = dict[str, dict[str, list[dict[str, float]]]]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _runs(runs: Runs, key: str, connections: int) -> list[dict[str, float]]:
    return runs.get(key, {}).get(str(connections), [])


def _stat(runs: Runs, key: str, connections: int, field: str) -> float:
    return _median([r[field] for r in _runs(runs, key, connections)])


def _ratio(runs: Runs, key: str, base: str, connections: int) -> float:
    """Median of per-round ratios (run i of ``key`` against run i of ``base``)."""
    pairs = zip(_runs(runs, key, connections), _runs(runs, base, connections), strict=False)
    return _median([a["rps"] / b["rps"] for a, b in pairs if b["rps"]])


def _login_ratios(out: dict[str, Any]) -> dict[int, float]:
    """Login throughput over the argon2id rate measured just before it on two threads (one
    thread for one connection: one login at a time can only use one core)."""
    runs, rates = out["runs"], out.get("argon2_2_threads", [])
    one = _median(out.get("argon2_1_thread", []))
    order = [1, 16, 64]
    per: dict[int, list[float]] = {c: [] for c in order}
    login = {c: _runs(runs, "login", c) for c in order}
    # Rates were appended in the order the login runs were made: round by round, c=1, 16, 64.
    index = 0
    for r in range(max((len(v) for v in login.values()), default=0)):
        for c in order:
            if r < len(login[c]) and index < len(rates):
                rate = one if c == 1 and one == one else rates[index]
                per[c].append(login[c][r]["rps"] / rate)
                index += 1
    return {c: _median(v) for c, v in per.items() if v}


def _per_run_ratio(runs: Runs, key: str, connections: int, field: str) -> float:
    """Median over the runs of ``rps / run[field]`` (a rate measured just before the run)."""
    return _median([r["rps"] / r[field] for r in _runs(runs, key, connections) if r.get(field)])


def _total_cpu_us(run: dict[str, float]) -> float:
    """All the CPU one request costs on this machine: the server's, PostgreSQL's, Redis'."""
    return run["server_cpu_us"] + run["pg_cpu_us"] + run["redis_cpu_us"]


def _per_cpu_ratio(runs: Runs, key: str, base: str, connections: int, total: bool) -> float:
    """Median of per-round ratios of requests per CPU-second, ``key`` over ``base``: ``key``
    counted with PostgreSQL and Redis when ``total``, ``base`` (an in-memory peer) alone."""
    pairs = zip(_runs(runs, key, connections), _runs(runs, base, connections), strict=False)
    ours = _total_cpu_us if total else (lambda r: r["server_cpu_us"])
    return _median([b["server_cpu_us"] / ours(a) for a, b in pairs if ours(a)])


def _fmt(value: float, digits: int = 0) -> str:
    if value != value:  # NaN
        return "n/a"
    return f"{value:,.{digits}f}"


def _verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def targets(out: dict[str, Any]) -> list[str]:
    """The targets table (markdown rows), as the generated section has it."""
    return _targets(out)


def _targets(out: dict[str, Any]) -> list[str]:
    runs = out["runs"]
    rows = ["| issue | target | measured | goal | verdict |", "|---|---|---|---|---|"]
    if _runs(runs, "refresh", 64) and _runs(runs, "ceiling", 64):
        ratio = _ratio(runs, "refresh", "ceiling", 64)
        rows.append(
            f"| 6 | refresh grant / bare rotate-and-sign ceiling, 64 connections | {ratio:.2f}x "
            f"({_fmt(_stat(runs, 'refresh', 64, 'rps'))} vs "
            f"{_fmt(_stat(runs, 'ceiling', 64, 'rps'))} req/s) | >= 0.70x | "
            f"{_verdict(ratio >= 0.7)} |"
        )
    if _runs(runs, "refresh", 64):
        p99 = _stat(runs, "refresh", 64, "p99_ms")
        rows.append(
            f"| 6 | refresh grant p99, 64 connections | {p99:.1f} ms | < 50 ms | "
            f"{_verdict(p99 < 50)} |"
        )
    if _runs(runs, "jwks", 64) and _runs(runs, "hello", 64):
        ratio = _ratio(runs, "jwks", "hello", 64)
        rows.append(
            f"| 6 | JWKS / bare hello world, 64 connections | {ratio:.2f}x | >= 0.80x | "
            f"{_verdict(ratio >= 0.8)} |"
        )
    login = _login_ratios(out)
    if 64 in login:
        rate = _median(out.get("argon2_2_threads", []))
        rows.append(
            f"| 6 | login / argon2id hash alone (2 threads = 2 cores), 64 connections | "
            f"{login[64]:.2f}x (hash alone {rate:.1f}/s) | >= 0.90x | "
            f"{_verdict(login[64] >= 0.9)} |"
        )
    return rows + _targets_14(out)


def _targets_14(out: dict[str, Any]) -> list[str]:
    runs = out["runs"]
    rows = []
    if _runs(runs, "client_credentials", 16) and _runs(runs, "peer_client_credentials", 16):
        ratio = _per_cpu_ratio(runs, "client_credentials", "peer_client_credentials", 16, True)
        alone = _per_cpu_ratio(runs, "client_credentials", "peer_client_credentials", 16, False)
        ours = _median([_total_cpu_us(r) for r in _runs(runs, "client_credentials", 16)])
        peer = _stat(runs, "peer_client_credentials", 16, "server_cpu_us")
        rows.append(
            f"| 14 | client_credentials grants per CPU-second, ours (server + PostgreSQL + "
            f"Redis) / oidc-provider (its Node process), 16 connections | {ratio:.2f}x "
            f"({_fmt(ours)} vs {_fmt(peer)} us a grant; our server process alone "
            f"{alone:.2f}x) | >= 1.00x | {_verdict(ratio >= 1.0)} |"
        )
    for key, base, label, goal in (
        ("code_exchange", "refresh", "code exchange / refresh grant (PostgreSQL)", 0.7),
        ("signin_get", "hello", "sign-in page GET / bare hello world", 0.5),
    ):
        if _runs(runs, key, 64) and _runs(runs, base, 64):
            ratio = _ratio(runs, key, base, 64)
            rows.append(
                f"| 14 | {label}, 64 connections | {ratio:.2f}x "
                f"({_fmt(_stat(runs, key, 64, 'rps'))} vs "
                f"{_fmt(_stat(runs, base, 64, 'rps'))} req/s) | >= {goal:.2f}x | "
                f"{_verdict(ratio >= goal)} |"
            )
    if _runs(runs, "signin_post", 64):
        ratio = _per_run_ratio(runs, "signin_post", 64, "argon2_rate")
        workers = out.get("environment", {}).get("workers", "?")
        rows.append(
            f"| 14 | sign-in POST / argon2id hash alone ({workers} threads = the workers), "
            f"64 connections | {ratio:.2f}x (hash alone "
            f"{_stat(runs, 'signin_post', 64, 'argon2_rate'):.1f}/s) | >= 0.90x | "
            f"{_verdict(ratio >= 0.9)} |"
        )
    return rows


def _table(out: dict[str, Any]) -> list[str]:
    runs = out["runs"]
    rows = [
        "| endpoint | connections | req/s | p50 ms | p99 ms | errors | ratio to ceiling or base | "
        "server CPU us/req | PostgreSQL CPU us/req | machine busy before |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = {
        "refresh": "ceiling",
        "jwks": "hello",
        "code_exchange": "refresh",
        "signin_get": "hello",
        "client_credentials": "peer_client_credentials",
    }
    for key, scenario in SCENARIOS.items():
        for c in scenario.connections:
            found = _runs(runs, key, c)
            if not found:
                continue
            errors = f"{sum(int(r['errors']) for r in found)}"
            dry = sum(int(r.get("dry", 0)) for r in found)
            if dry:
                errors += f" ({dry} sent past the single-use pool)"
            ratio = ""
            if key in base and _runs(runs, base[key], c):
                ratio = f"{_ratio(runs, key, base[key], c):.2f}x"
                if key not in ("refresh", "jwks"):  # the ceilings of issue 6 go unnamed
                    ratio += f" of {base[key]}"
            if key == "login":
                lr = _login_ratios(out).get(c)
                ratio = f"{lr:.2f}x of the hash" if lr is not None else ""
            if key == "signin_post":
                ratio = f"{_per_run_ratio(runs, key, c, 'argon2_rate'):.2f}x of the hash"
            rows.append(
                f"| {scenario.label} | {c} | {_fmt(_stat(runs, key, c, 'rps'))} | "
                f"{_stat(runs, key, c, 'p50_ms'):.2f} | {_stat(runs, key, c, 'p99_ms'):.2f} | "
                f"{errors} | {ratio} | {_fmt(_stat(runs, key, c, 'server_cpu_us'))} | "
                f"{_fmt(_stat(runs, key, c, 'pg_cpu_us'))} | "
                f"{_stat(runs, key, c, 'busy_before'):.0%} |"
            )
    return rows


def _sweep(out: dict[str, Any]) -> list[str]:
    sweep = out.get("sweep") or {}
    if not sweep:
        return []
    rows = [
        "| workers | refresh req/s | refresh p99 ms | refresh CPU us/req | ceiling req/s | "
        "ceiling p99 ms | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    workers = sorted({int(k.split("@")[1]) for k in sweep})
    for w in workers:
        r, c = f"refresh@{w}", f"ceiling@{w}"
        rows.append(
            f"| {w} | {_fmt(_stat(sweep, r, 64, 'rps'))} | {_stat(sweep, r, 64, 'p99_ms'):.1f} | "
            f"{_fmt(_stat(sweep, r, 64, 'server_cpu_us'))} | "
            f"{_fmt(_stat(sweep, c, 64, 'rps'))} | {_stat(sweep, c, 64, 'p99_ms'):.1f} | "
            f"{_ratio(sweep, r, c, 64):.2f}x |"
        )
    return rows


def _scaling(out: dict[str, Any]) -> list[str]:
    entries = out.get("scaling") or []
    if not entries:
        return []
    rows = [
        "| sessions | refresh-token rows | table + index size | refresh c=1 p50 / p99 ms | "
        "refresh c=64 req/s, p99 ms | ceiling c=64 req/s | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in entries:
        runs, counts = e["runs"], e["counts"]
        rows.append(
            f"| {counts['sessions']:,} | {counts['refresh_tokens']:,} | "
            f"{counts['bytes'] / 2**20:,.0f} MiB | "
            f"{_stat(runs, 'refresh', 1, 'p50_ms'):.2f} / "
            f"{_stat(runs, 'refresh', 1, 'p99_ms'):.2f} | "
            f"{_fmt(_stat(runs, 'refresh', 64, 'rps'))}, "
            f"{_stat(runs, 'refresh', 64, 'p99_ms'):.1f} | "
            f"{_fmt(_stat(runs, 'ceiling', 64, 'rps'))} | "
            f"{_ratio(runs, 'refresh', 'ceiling', 64):.2f}x |"
        )
    return rows


def _profiles(out: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for key, prof in (out.get("profiles") or {}).items():
        label = SCENARIOS[key].label
        lines += [
            f"**{label}**, {prof['connections']} connections, {prof['samples']:,} samples",
            "",
            "| component (innermost frame) | share of busy samples |",
            "|---|---:|",
        ]
        lines += [f"| {name} | {share:.0%} |" for name, share in prof["components"][:10]]
        lines += ["", "| hottest Python functions (self) | share |", "|---|---:|"]
        lines += [f"| `{name}` | {share:.0%} |" for name, share in prof["leaves"][:8]]
        lines.append("")
    return lines


def render(out: dict[str, Any]) -> str:
    env = out.get("environment", {})
    settings = out.get("settings", {})
    packages = ", ".join(f"{k} {v}" for k, v in env.get("packages", {}).items())
    rates1 = out.get("argon2_1_thread", [])
    rates2 = out.get("argon2_2_threads", [])
    lines = [
        BEGIN,
        "",
        f"Run of {env.get('date', '?')} on {env.get('cpu', '?')} ({env.get('cores', '?')} cores), "
        f"Python {env.get('python', '?')}; {packages}. Load: {env.get('wrk', 'wrk')}, one thread, "
        f"{settings.get('seconds', '?')} s per run, {settings.get('rounds', '?')} round(s), "
        f"medians over rounds; ratios are medians of per-round ratios of back-to-back runs. "
        f"Servers: {env.get('workers', '?')} uvicorn workers each. Resource server: "
        f"{env.get('resource_server', '?')}. Whole run: {out.get('seconds', 0) / 60:.1f} min"
        f"{' (--quick)' if settings.get('quick') else ''}.",
        "",
        "### Targets",
        "",
        *_targets(out),
        "",
        "### Throughput and latency",
        "",
        *_table(out),
        "",
    ]
    if rates1 or rates2:
        lines += [
            f"argon2id alone (the login's `PasswordHasher.verify`, OWASP minimum m=19 MiB t=2 "
            f"p=1): {_median(rates1):.1f}/s on one thread, {_median(rates2):.1f}/s on two.",
            "",
        ]
    sweep = _sweep(out)
    if sweep:
        lines += ["### Worker processes (2 cores)", "", *sweep, ""]
    scaling = _scaling(out)
    if scaling:
        lines += ["### Sessions in PostgreSQL", "", *scaling, ""]
    breakdown = out.get("breakdown") or {}
    if breakdown:
        lines += [
            "### CPU per operation inside one server process (no HTTP)",
            "",
            "| operation | CPU us |",
            "|---|---:|",
            *[f"| {name} | {_fmt(us)} |" for name, us in breakdown.items()],
            "",
        ]
    profiles = _profiles(out)
    if profiles:
        lines += ["### Where the time goes (py-spy, all workers)", "", *profiles]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_report(doc: Path, out: dict[str, Any]) -> None:
    """Replace the generated section of ``doc`` (create the doc around it if needed)."""
    generated = render(out)
    if doc.exists():
        text = doc.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            doc.write_text(head + generated.rstrip("\n") + tail)
            return
        doc.write_text(text.rstrip("\n") + "\n\n" + generated)
        return
    doc.write_text("# Server benchmarks\n\n" + generated)
