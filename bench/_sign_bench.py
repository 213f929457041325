"""Signing (minting) per token: jwtwarden against PyJWT, joserfc and the floor-sign."""

from __future__ import annotations

from _fixtures import ALGORITHMS, fixture
from _report import Report, fmt_us, table
from _sign_cases import mint_candidates, sign_candidates
from _timing import measure, paired_ratio, ratio_text

__all__ = ["run"]

SIGN_TARGET = {"ES256": 1.2, "Ed25519": 1.2}


def run(report: Report, *, rounds: int, chunk: float) -> None:
    sign_rows: list[list[str]] = []
    mint_rows: list[list[str]] = []
    raw: dict[str, dict[str, object]] = {}
    for alg in ALGORITHMS:
        fx = fixture(alg)
        for kind, cands, rows, floor_name, ours in (
            ("sign", sign_candidates(fx), sign_rows, "floor-sign", "jwtwarden sign_compact"),
            ("mint", mint_candidates(fx), mint_rows, "floor-mint", "jwtwarden Issuer.mint"),
        ):
            samples = measure(
                {name: fn for name, (fn, _) in cands.items()}, rounds=rounds, chunk_seconds=chunk
            )
            raw.setdefault(alg, {})[kind] = {n: s.per_call_us for n, s in samples.items()}
            floor = samples[floor_name]
            for name, s in samples.items():
                rows.append(
                    [
                        alg,
                        f"**{name}**" if name.startswith("jwtwarden") else name,
                        fmt_us(s.median),
                        f"{paired_ratio(s, floor):.2f}x",
                        f"{s.spread:.0%}",
                        cands[name][1],
                    ]
                )
            if alg in SIGN_TARGET:
                ratio = paired_ratio(samples[ours], floor)
                report.target(
                    f"{alg} {kind} within {SIGN_TARGET[alg]}x of {floor_name} ({ours})",
                    f"{ratio_text(samples[ours], floor)} "
                    f"({fmt_us(samples[ours].median)} vs {fmt_us(floor.median)} us)",
                    ratio <= SIGN_TARGET[alg],
                )
    report.raw["sign"] = raw
    headers = ["alg", "candidate", "median us", "x floor", "spread", "note"]
    report.section(
        "Signing and minting per token (single thread)",
        "*Signing*: the same fixed claim set and header (`typ`, `kid`) signed by each. "
        "*floor-sign*: `json` encoding and base64url of header and claims plus the bare "
        "`cryptography` signature (DER to r||s for ES256).\n\n"
        + table(headers, sign_rows, "llrrrl")
        + "\n\n*Minting*: a fresh claim set per token (`iat`, `exp`, a 256-bit random `jti` "
        "from `secrets`) built and signed. *floor-mint*: that plus floor-sign. "
        "`Issuer.mint` also checks the profile, lints the custom claims for secrets and checks "
        "the size budget. Every output was verified by jwtwarden before timing.\n\n"
        + table(headers, mint_rows, "llrrrl"),
    )
