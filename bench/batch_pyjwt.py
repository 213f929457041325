#!/usr/bin/env python3
"""The batch job of ``jwtwarden verify -`` written with PyJWT, for comparison.

    python3 bench/batch_pyjwt.py --jwks jwks.json --issuer ISS --audience AUD < tokens.txt

One token per line on stdin; one JSON result per token on stdout, in order, as the CLI writes
them (``{"valid": true, "header": ..., "claims": ...}`` or ``{"valid": false, "error": ...}``);
exit 1 if any token was refused. Same strictness as the jwtwarden policy: pinned
algorithm, iss, aud, exp/iat/sub/jti required, leeway 30 s.
"""

from __future__ import annotations

import argparse
import json
import sys

import jwt


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jwks", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument("--algorithm", default="ES256")
    args = parser.parse_args()
    with open(args.jwks) as handle:
        jwks = jwt.PyJWKSet.from_dict(json.load(handle))
    keys = {k.key_id: k.key for k in jwks.keys}
    options = {"require": ["exp", "iat", "sub", "jti", "iss", "aud"]}
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode
    write = sys.stdout.write
    refused = 0
    for line in sys.stdin:
        token = line.rstrip("\r\n")
        if not token:
            continue
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            decoded = jwt.decode_complete(
                token,
                keys[kid],
                algorithms=[args.algorithm],
                audience=args.audience,
                issuer=args.issuer,
                leeway=30,
                options=options,
            )
            record = {"valid": True, "header": decoded["header"], "claims": decoded["payload"]}
        except (jwt.PyJWTError, KeyError) as exc:
            refused += 1
            record = {"valid": False, "error": type(exc).__name__, "detail": str(exc)}
        write(dumps(record))
        write("\n")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
