"""Where the time goes: each stage of jwtwarden's cold verify timed on its own (interleaved),
next to the bare signature check, plus a cache hit's stages. Uses jwtwarden internals on
purpose: this is the profile that docs/benchmarks.md explains."""

from __future__ import annotations

from collections.abc import Callable

from _fixtures import ALGORITHMS, fixture
from _report import Report, fmt_us, table
from _timing import measure
from _verify_cases import _signature_check

from jwtwarden import Verifier
from jwtwarden._jose.compact import split_compact
from jwtwarden._jose.header import check_header
from jwtwarden.cache import CachedVerifier
from jwtwarden.verify import VerifiedToken, _check_signature, _json

__all__ = ["run"]


def run(report: Report, *, rounds: int, chunk: float) -> None:
    rows = []
    raw = {}
    for alg in ALGORITHMS:
        samples = measure(_stages(alg), rounds=rounds, chunk_seconds=chunk / 2)
        raw[alg] = {n: s.median for n, s in samples.items()}
        whole = samples["= whole cold verify"].median
        for name, s in samples.items():
            rows.append([alg, name, fmt_us(s.median), f"{s.median / whole:.0%}"])
    report.raw["breakdown"] = raw
    report.section(
        "Where the time goes (stage by stage)",
        "Each stage of `Verifier.verify` timed alone on the same token (so the stages do not "
        "add up exactly: call overhead and cache effects differ), next to the bare signature "
        "check and a whole cache hit. Percentages are of the whole cold verify.\n\n"
        + table(["alg", "stage", "median us", "of cold"], rows, "llrr"),
    )


def _stages(alg: str) -> dict[str, Callable[[], object]]:
    fx = fixture(alg)
    token = fx.token
    verifier = Verifier(fx.policy())
    cached = CachedVerifier(Verifier(fx.policy()))
    cached.verify(token)
    seg = split_compact(token, 8192)
    header = _json(seg.header_b64, "header")
    claims = _json(seg.payload_b64, "payload")
    algs = frozenset({alg})
    source = verifier.policy.key_sources[claims["iss"]]
    kid = header.get("kid")
    key = source.select(kid, alg)
    bare = _signature_check(fx)
    signing_input, signature = seg.signing_input, seg.signature
    stages = {
        "1 split_compact (alphabet, dots, canonical base64url, signature bytes)": lambda: (
            split_compact(token, 8192)
        ),
        "2 header: base64url + strict JSON": lambda: _json(seg.header_b64, "header"),
        "3 header rules (alg allowlist, kid, forbidden members)": lambda: check_header(
            header, algs, frozenset()
        ),
        "4 payload: base64url + strict JSON": lambda: _json(seg.payload_b64, "payload"),
        "5 issuer + key selection": lambda: source.select(kid, alg),
        "6 signature via joserfc (Key.impl.verify)": lambda: _check_signature(seg, key),
        "7 claims (typ, required, time, aud, sub, jti)": lambda: verifier.check_claims(
            VerifiedToken(header, claims, key)
        ),
        "= whole cold verify": lambda: verifier.verify(token),
        "bare cryptography signature check": lambda: bare(signing_input, signature),
        "cache hit (whole)": lambda: cached.verify(token),
    }
    return stages
