"""Verification per token, single thread: every library and the floors, per algorithm;
Node's jose in its own process against Node's own floor."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from _fixtures import ALGORITHMS, AUD, ISS, LEEWAY, TYP, claims_now, fixture
from _report import Report, fmt_us, table
from _timing import Sample, measure, paired_ratio, ratio_text
from _verify_cases import verify_candidates

__all__ = ["run"]

NODE_DIR = Path(__file__).resolve().parent / "node"
PYTHON_PEERS = ("PyJWT", "joserfc", "python-jose", "jwcrypto")
COLD_TARGET = {"ES256": 1.15, "Ed25519": 1.15, "RS256": 1.15, "PS256": 1.15, "HS256": 1.6}


def run(report: Report, *, rounds: int, chunk: float, node: bool) -> None:
    rows: list[list[str]] = []
    raw: dict[str, Any] = {}
    summary: dict[str, dict[str, float]] = {}
    for alg in ALGORITHMS:
        fx = fixture(alg)
        cands = verify_candidates(fx)
        samples = measure(
            {name: (lambda fn=fn, tok=tok: fn(tok)) for name, (fn, tok, _) in cands.items()},
            rounds=rounds,
            chunk_seconds=chunk,
        )
        floor, floor_claims = samples["floor"], samples["floor + claims"]
        raw[alg] = {name: s.per_call_us for name, s in samples.items()}
        summary[alg] = {name: s.median for name, s in samples.items()}
        summary[alg]["cold/floor+claims"] = paired_ratio(samples["jwtwarden"], floor_claims)
        summary[alg]["cold/floor"] = paired_ratio(samples["jwtwarden"], floor)
        summary[alg]["hit/PyJWT"] = paired_ratio(samples["PyJWT"], samples["jwtwarden (cache hit)"])
        for name, s in samples.items():
            note = cands[name][2]
            rows.append(
                [
                    alg,
                    f"**{name}**" if name.startswith("jwtwarden") else name,
                    fmt_us(s.median),
                    f"{paired_ratio(s, floor):.2f}x",
                    f"{paired_ratio(s, floor_claims):.2f}x",
                    f"{s.spread:.0%}",
                    note,
                ]
            )
        _peer_targets(report, alg, samples, summary[alg])
    node_results = _node(rounds=rounds, chunk=chunk) if node else {"skipped": "--no-node"}
    raw["node"] = node_results
    node_rows = _node_rows(node_results, summary)
    report.raw["verify"] = raw
    body = (
        "Strict configuration everywhere: algorithm pinned, `iss` and `aud` checked, `exp`, "
        f"`iat`, `sub`, `jti` required, leeway {LEEWAY} s, `typ` `{TYP}` where the library can "
        "check it (jwtwarden, Node jose; PyJWT, joserfc, python-jose and jwcrypto cannot). "
        "Keys imported once. Every candidate was checked to accept the token and to refuse a "
        "token for another audience and an expired one before it was timed. *floor*: bare "
        "`cryptography` verify plus base64url and `json.loads` of header and payload; "
        "*floor + claims*: the same plus the strict checks written inline.\n\n"
        + table(
            ["alg", "candidate", "median us", "x floor", "x floor+claims", "spread", "note"],
            rows,
            "llrrrrl",
        )
    )
    if node_rows:
        body += (
            "\n\nNode's `jose` (`jwtVerify`, same token, key and options, `typ` included) in its "
            "own process, against Node's own floor (`node:crypto` verify plus base64url and "
            "`JSON.parse`), interleaved the same way. Only the ratios compare across runtimes.\n\n"
            + table(
                ["alg", "Node floor us", "jose us", "jose x its floor", "jwtwarden x floor"],
                node_rows,
            )
        )
    elif "error" in node_results or "skipped" in node_results:
        body += f"\n\nNode's jose: not measured ({node_results.get('error') or 'skipped'})."
    report.section("Verification per token (single thread)", body)
    _node_targets(report, node_results, summary)


def _peer_targets(
    report: Report, alg: str, samples: dict[str, Sample], summary: dict[str, float]
) -> None:
    ours, floor_claims = samples["jwtwarden"], samples["floor + claims"]
    limit = COLD_TARGET[alg]
    report.target(
        f"{alg} cold verify within {limit}x of floor + claims",
        f"{ratio_text(ours, floor_claims)} ({fmt_us(ours.median)} vs "
        f"{fmt_us(floor_claims.median)} us)",
        paired_ratio(ours, floor_claims) <= limit,
    )
    peers = {n: s for n, s in samples.items() if n in PYTHON_PEERS}
    # The closest peer is the one with the highest paired ratio (not the lowest median).
    closest = max(peers, key=lambda n: paired_ratio(ours, peers[n]))
    report.target(
        f"{alg} cold verify faster than every Python library",
        f"{ratio_text(ours, peers[closest])} the closest peer ({closest}, "
        f"{fmt_us(peers[closest].median)} us)",
        paired_ratio(ours, peers[closest]) < 1.0,
    )
    if alg == "ES256":
        hit, pyjwt = samples["jwtwarden (cache hit)"], samples["PyJWT"]
        speedup = summary["hit/PyJWT"]
        report.target(
            "ES256 cache hit at least 50x faster than PyJWT decode",
            f"{speedup:.0f}x, IQR {ratio_text(pyjwt, hit).split(' ', 1)[1]} "
            f"({fmt_us(hit.median)} vs {fmt_us(pyjwt.median)} us)",
            speedup >= 50,
        )


# --- Node -------------------------------------------------------------------------------------


def _node(*, rounds: int, chunk: float) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        return {"error": "node is not installed"}
    jose_pkg = NODE_DIR / "node_modules" / "jose" / "package.json"
    if not jose_pkg.exists():
        npm = shutil.which("npm")
        if npm is None:
            return {"error": "npm is not installed"}
        done = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0 or not jose_pkg.exists():
            return {"error": f"npm install failed: {done.stderr.strip()[-200:]}"}
    cases = []
    for alg in ALGORITHMS:
        fx = fixture(alg)
        wrong_aud = claims_now()
        wrong_aud["aud"] = "https://elsewhere.example"
        expired = claims_now()
        expired["exp"] = expired["iat"] - 120
        expired["iat"] -= 3600
        cases.append(
            {
                "alg": alg,
                "token": fx.token,
                "jwk": fx.public_jwk,
                "iss": ISS,
                "aud": AUD,
                "typ": TYP,
                "leeway": LEEWAY,
                "sub": fx.claims["sub"],
                "bad_tokens": [fx.sign(wrong_aud), fx.sign(expired)],
            }
        )
    jose_version = json.loads(jose_pkg.read_text())["version"]
    payload = {
        "rounds": rounds,
        "chunk_seconds": chunk,
        "cases": cases,
        "jose_version": jose_version,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(payload, handle)
        path = handle.name
    try:
        done = subprocess.run(
            [node, str(NODE_DIR / "bench.mjs"), path],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    finally:
        Path(path).unlink(missing_ok=True)
    if done.returncode != 0:
        return {"error": f"node failed: {done.stderr.strip()[-300:]}"}
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _node_ratio(res: dict[str, list[float]]) -> float:
    return statistics.median(j / f for j, f in zip(res["jose"], res["floor"], strict=True))


def _node_rows(node: dict[str, Any], summary: dict[str, dict[str, float]]) -> list[list[str]]:
    results = node.get("results")
    if not results:
        return []
    rows = []
    for alg, res in results.items():
        rows.append(
            [
                alg,
                fmt_us(statistics.median(res["floor"])),
                fmt_us(statistics.median(res["jose"])),
                f"{_node_ratio(res):.2f}x",
                f"{summary[alg]['cold/floor']:.2f}x",
            ]
        )
    return rows


def _node_targets(
    report: Report, node: dict[str, Any], summary: dict[str, dict[str, float]]
) -> None:
    results = node.get("results")
    for alg in ALGORITHMS:
        ours = summary[alg]["cold/floor"]
        if not results or alg not in results:
            report.target(
                f"{alg} ratio to floor at or below Node jose's", f"{ours:.2f}x (jose: n/a)", None
            )
            continue
        theirs = _node_ratio(results[alg])
        report.target(
            f"{alg} ratio to floor at or below Node jose's",
            f"{ours:.2f}x vs jose {theirs:.2f}x (Node {node.get('node')}, jose {node.get('jose')})",
            ours <= theirs,
        )
