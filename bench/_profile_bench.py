"""Sampling profiles (py-spy, native frames included) of the hot paths, summarised by stage.

Only samples taken inside the measured call count (start-up and imports are excluded). The
garbage collector is on, as in production, so its share shows.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _report import Report, table

__all__ = ["run"]

HERE = Path(__file__).resolve().parent
LOOPS = (
    ("cold", "ES256", "Verifier.verify ("),
    ("cold", "Ed25519", "Verifier.verify ("),
    ("cold", "RS256", "Verifier.verify ("),
    ("cold", "HS256", "Verifier.verify ("),
    ("hit", "ES256", "CachedVerifier.verify ("),
    ("sign", "ES256", "sign_compact ("),
)
NATIVE = ("_rust.abi3.so", "libcrypto", "libssl", "_hashlib", "hmac")

# (label, predicate on the frames below the measured call), first match wins.
CATEGORIES = (
    ("garbage collector", lambda fs: any("gc_collect" in f for f in fs)),
    (
        "signature: the crypto itself (native)",
        lambda fs: (
            any("_check_signature" in f or ".sign (" in f for f in fs)
            and any(n in f for f in fs for n in NATIVE)
        ),
    ),
    (
        "signature: joserfc and cryptography Python glue",
        lambda fs: any("_check_signature" in f or ".sign (" in f for f in fs),
    ),
    ("split_compact (structure)", lambda fs: any("split_compact (" in f for f in fs)),
    ("base64url + strict JSON", lambda fs: any(f.startswith("_json (") for f in fs)),
    ("header rules", lambda fs: any("check_header (" in f for f in fs)),
    ("key selection", lambda fs: any(".select (" in f for f in fs)),
    ("claims", lambda fs: any("_check_claims (" in f or "check_claims (" in f for f in fs)),
    ("cache: lookup and LRU", lambda fs: any("_lookup (" in f for f in fs)),
    ("cache: time re-check", lambda fs: any("_still_valid (" in f for f in fs)),
    ("cache: fresh result copies", lambda fs: any("result (jwtwarden/cache.py" in f for f in fs)),
    ("JSON encoding", lambda fs: any("encode (json" in f or "_dumps" in f for f in fs)),
    ("base64url encoding", lambda fs: any("b64url_encode (" in f for f in fs)),
)


def _summarise(raw: str, anchor: str) -> tuple[Counter[str], Counter[str], int]:
    stages: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        for i, frame in enumerate(frames):
            if frame.startswith(anchor):
                below = frames[i + 1 :]
                break
        else:
            continue
        n = int(count)
        total += n
        label = next((name for name, pred in CATEGORIES if pred(below)), "the call itself")
        stages[label] += n
        leaf = (below[-1] if below else frames[i]).split(" (")[0]
        leaves[leaf] += n
    return stages, leaves, total


def run(report: Report, *, seconds: float) -> None:
    spy = shutil.which("py-spy")
    if spy is None:
        report.section(
            "Profiles (py-spy)",
            "Not measured: py-spy is not installed (`pip install py-spy`, or the `bench` extra).",
        )
        return
    blocks = []
    for what, alg, anchor in LOOPS:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "profile.txt"
            done = subprocess.run(
                [
                    spy, "record", "--native", "-r", "997", "-f", "raw", "-o", str(out), "--",
                    sys.executable, str(HERE / "_profile_loop.py"), what, alg, str(seconds),
                ],
                capture_output=True, text=True, timeout=seconds * 10 + 60, check=False,
            )  # fmt: skip
            if done.returncode != 0 or not out.exists():
                blocks.append(f"`{what} {alg}`: py-spy failed: {done.stderr.strip()[-200:]}")
                continue
            stages, leaves, total = _summarise(out.read_text(), anchor)
        if not total:
            blocks.append(f"`{what} {alg}`: no samples inside the call")
            continue
        rows = [[name, f"{n / total:.0%}"] for name, n in stages.most_common()]
        top = ", ".join(f"`{name}` {n / total:.0%}" for name, n in leaves.most_common(6))
        title = {"cold": "cold verify", "hit": "cache hit", "sign": "sign_compact"}[what]
        blocks.append(
            f"**{title}, {alg}** ({total:,} samples)\n\n"
            + table(["stage", "share"], rows)
            + f"\n\nTop leaf frames: {top}."
        )
    report.raw["profile"] = blocks
    report.section(
        "Profiles (py-spy, native frames)",
        "Sampling profiles of a hot loop of each path (GC on), samples inside the call only, "
        "classified by the first matching stage on the stack.\n\n" + "\n\n".join(blocks),
    )
