"""A hot loop for py-spy to sample: ``python3 bench/_profile_loop.py WHAT ALG SECONDS``.

WHAT is ``cold`` (Verifier.verify), ``hit`` (CachedVerifier.verify) or ``sign``
(sign_compact). The garbage collector stays on: this is the real-life profile.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fixtures import fixture

from jwtwarden import Verifier
from jwtwarden._jose.sign import sign_compact
from jwtwarden.cache import CachedVerifier


def main() -> None:
    what, alg, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    fx = fixture(alg)
    token = fx.token
    if what == "cold":
        call = Verifier(fx.policy()).verify
        step = lambda: call(token)  # noqa: E731
    elif what == "hit":
        call = CachedVerifier(Verifier(fx.policy())).verify
        step = lambda: call(token)  # noqa: E731
    elif what == "sign":
        header, claims, key = fx.header, fx.claims, fx.private
        step = lambda: sign_compact(header, claims, key)  # noqa: E731
    else:
        raise SystemExit(f"unknown loop {what!r}")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            step()


if __name__ == "__main__":
    main()
