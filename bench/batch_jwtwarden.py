#!/usr/bin/env python3
"""The same batch job as ``batch_pyjwt.py`` with the jwtwarden library (no CLI), writing the
same JSON lines: the reference the ``jwtwarden verify -`` command should come close to."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from jwtwarden import KeySet, VerificationPolicy, Verifier
from jwtwarden.errors import JWTWardenError


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jwks", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument("--algorithm", default="ES256")
    args = parser.parse_args()
    keys = KeySet.from_jwks(Path(args.jwks).read_text())
    verify = Verifier(
        VerificationPolicy.access_token(
            algorithms=[args.algorithm],
            issuer=args.issuer,
            audience=args.audience,
            keys=keys,
            leeway=30,
        )
    ).verify
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode
    write = sys.stdout.write
    refused = 0
    for line in sys.stdin:
        token = line.rstrip("\r\n")
        if not token:
            continue
        try:
            result = verify(token)
            record = {"valid": True, "header": result.header, "claims": result.claims}
        except JWTWardenError as exc:
            refused += 1
            record = {"valid": False, "error": exc.code, "detail": exc.detail}
        write(dumps(record))
        write("\n")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
