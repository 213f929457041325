"""Run one fuzz target under atheris (libFuzzer), seeded with the committed corpus.

    python -m tests.fuzz.run TARGET [--time SECONDS] [--runs N] [--seed N] [--workdir DIR]
                                    [-- LIBFUZZER_ARGS...]

TARGET is one of ``token``, ``jwk``, ``json`` (tests/fuzz/targets.py). New inputs that reach new
code go to ``--workdir`` (default: a new temporary folder, printed), never into the committed
corpus; a crash is saved there as ``crash-<sha1>`` and the exit status is non-zero. To keep a
crash as a regression seed: fix the bug, then copy the file into ``tests/fuzz/corpus/TARGET/``.
Run from the repository root. Documented in docs/security.md ("Fuzzing").
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"
# libFuzzer dictionaries: the JSON and JOSE words a mutation should be able to insert whole
# (atheris sees no coverage inside the C JSON decoder, so "1e400" is not found byte by byte).
DICTS = Path(__file__).resolve().parent / "dicts"
# Longest input per target: a token is capped at 8 KiB by the policy, but shorter inputs mutate
# faster and reach the same code; a JWK Set of a few RSA keys fits in 8 KiB.
MAX_LEN = {"token": 2048, "jwk": 8192, "json": 2048}


def _arguments(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run", description=__doc__)
    parser.add_argument("target", choices=sorted(MAX_LEN))
    parser.add_argument("--time", type=int, default=60, help="seconds to run (default 60)")
    parser.add_argument("--runs", type=int, default=-1, help="stop after N inputs (-1: no cap)")
    parser.add_argument("--seed", type=int, default=0, help="libFuzzer seed (0: random)")
    parser.add_argument("--workdir", type=Path, help="where new inputs and crashes go")
    return parser.parse_args(argv), extra


def main(argv: list[str] | None = None) -> None:
    args, extra = _arguments(sys.argv[1:] if argv is None else argv)
    import atheris

    # In the fuzzing process only (never at import of the targets, which the test suite does):
    # parse_jwks logs each dropped key, millions of lines in a run.
    logging.getLogger("jwtwarden").setLevel(logging.CRITICAL)

    # Coverage feedback from our code and from the JOSE library it hands keys to.
    with atheris.instrument_imports(include=["jwtwarden", "joserfc"]):
        from tests.fuzz.targets import MUTATORS, TARGETS

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"jwtwarden-fuzz-{args.target}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"fuzz {args.target}: new inputs and crashes in {workdir}", file=sys.stderr)
    libfuzzer = [
        sys.argv[0],
        f"-max_total_time={args.time}",
        f"-runs={args.runs}",
        f"-seed={args.seed}",
        f"-max_len={MAX_LEN[args.target]}",
        "-timeout=10",  # one input taking 10 s is a hang (a quadratic path, a ReDoS)
        "-rss_limit_mb=2048",
        f"-artifact_prefix={workdir}/",
        "-print_final_stats=1",
        f"-dict={DICTS / (args.target + '.dict')}",
        *extra,
        str(workdir),  # libFuzzer writes new inputs into the first folder only
        str(CORPUS / args.target),
    ]
    mutator = MUTATORS.get(args.target)
    if mutator is None:
        atheris.Setup(libfuzzer, TARGETS[args.target])
    else:
        atheris.Setup(
            libfuzzer,
            TARGETS[args.target],
            custom_mutator=lambda data, size, seed: mutator(atheris.Mutate, data, size, seed),
        )
    atheris.Fuzz()


if __name__ == "__main__":
    main()
