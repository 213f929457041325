"""Scaling: verify cost against key-set size (must stay flat), and the cache's memory."""

from __future__ import annotations

import gc
import tracemalloc

from _fixtures import AUD, ISS, LEEWAY, claims_now
from _report import Report, fmt_us, table
from _timing import measure, paired_ratio

from jwtwarden import KeySet, VerificationPolicy, Verifier, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.cache import CachedVerifier

__all__ = ["run_keysets", "run_memory"]

SIZES = (1, 10, 1000)


def _policy(keys: KeySet) -> VerificationPolicy:
    return VerificationPolicy.access_token(
        algorithms=["ES256"], issuer=ISS, audience=AUD, keys=keys, leeway=LEEWAY
    )


def run_keysets(report: Report, *, rounds: int, chunk: float) -> None:
    private = [generate_key("ES256", kid=f"scale-{i:04d}") for i in range(max(SIZES))]
    cands = {}
    for size in SIZES:
        chosen = private[:size]
        signer = chosen[size // 2]  # a key from the middle of the set
        token = sign_compact({"typ": "at+jwt"}, claims_now(), signer)
        verifier = Verifier(_policy(KeySet(k.public_key() for k in chosen)))
        verifier.verify(token)
        cands[f"{size} keys"] = lambda v=verifier, t=token: v.verify(t)
    samples = measure(cands, rounds=rounds, chunk_seconds=chunk)
    base = samples[f"{SIZES[0]} keys"]
    rows = [
        [name, fmt_us(s.median), f"{paired_ratio(s, base):.2f}x", f"{s.spread:.0%}"]
        for name, s in samples.items()
    ]
    worst = max(paired_ratio(s, base) for s in samples.values())
    report.target(
        "Verify cost flat from 1 to 1,000 keys (within 5%)",
        f"worst {worst:.2f}x the 1-key set",
        worst <= 1.05,
    )
    report.raw["keysets"] = {n: s.per_call_us for n, s in samples.items()}
    report.section(
        "Scaling with the key set (ES256, cold verify)",
        "The token's `kid` selects its key with one dictionary lookup, so the set's size "
        "should not show.\n\n" + table(["key set", "median us", "x 1 key", "spread"], rows),
    )


def run_memory(report: Report, *, sizes: tuple[int, ...]) -> None:
    key = generate_key("ES256", kid="mem")
    verifier = Verifier(_policy(KeySet([key.public_key()])))
    rows = []
    raw = {}
    for size in sizes:
        # Distinct tokens with realistic claims; kept as bytes so the str the cache keeps is
        # allocated (and counted) inside the traced region, as a request's token would be.
        tokens = [
            sign_compact(
                {"typ": "at+jwt"}, claims_now(sub=f"user-{i}", jti=f"jti-{i:08d}"), key
            ).encode("ascii")
            for i in range(size)
        ]
        token_chars = sum(len(t) for t in tokens) / size
        cached = CachedVerifier(verifier, max_entries=size)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for raw_token in tokens:
            cached.verify(raw_token.decode("ascii"))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(cached) == size
        per_entry = (after - before) / size
        raw[size] = {"bytes": after - before, "per_entry": per_entry, "token_chars": token_chars}
        rows.append(
            [
                f"{size:,}",
                f"{(after - before) / 2**20:.1f} MiB",
                f"{per_entry:,.0f} B",
                f"{token_chars:.0f}",
            ]
        )
        del cached, tokens
        gc.collect()
    report.raw["memory"] = raw
    report.section(
        "Verified-token cache memory (tracemalloc)",
        "Python heap held by a full `CachedVerifier` of ES256 access tokens (8 claims), "
        "token strings included: the cache's private copy of header and claims, the entry, "
        "the LRU links.\n\n"
        + table(["entries", "heap", "per entry", "token length (chars)"], rows),
    )
