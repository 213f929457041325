"""Differential tests: the verdict (accept or refuse) of jwtwarden, PyJWT and Node's ``jose`` on
the same tokens, for every algorithm the three share, configured alike: that one algorithm, the
key, the issuer, the audience, ``exp`` and ``sub`` required, no leeway, one "now".

Every disagreement must be in ``STRICTER`` (docs/security.md, "Differential testing: where we
are stricter than PyJWT / jose, and why"): a disagreement not in the table fails, and so does
an entry of the table that no longer happens. A case where jwtwarden accepts and another
refuses is never in the table: it would be a bug of ours to fix.

Node's ``jose`` runs once for all the cases (tests/interop/verify.mjs). Needs Node.js and
``npm ci`` in tests/interop; without them the test skips locally and fails under ``CI=true``.
"""

from __future__ import annotations

import json
import subprocess
import time
from functools import cache
from typing import Any

import jwt
import pytest
from _mutations import AUD, ISS, MUTATIONS, build
from test_interop_node import HERE, node

from jwtwarden import FixedClock, JWTWardenError, KeySet, VerificationPolicy, Verifier, generate_key

pytestmark = pytest.mark.node

# The algorithms all three implement (PyJWT knows no Ed25519/Ed448 names, jose no Ed448).
ALGORITHMS = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512", "EdDSA",
]  # fmt: skip
OK, NO = "accept", "refuse"

# (mutation, "any" | "HMAC" | "asymmetric") -> (jwtwarden, PyJWT, jose). Why, for each row:
# docs/security.md, "Differential testing". "HMAC": jose is given the secret itself, so it never
# looks at the kid; with a JWK Set it selects by kid and refuses as we do.
_ALL_OTHERS = (NO, OK, OK)
_PYJWT_ONLY = (NO, OK, NO)  # PyJWT alone accepts
_JOSE_ONLY = (NO, NO, OK)  # jose alone accepts
STRICTER: dict[tuple[str, str], tuple[str, str, str]] = {
    # Key selection: a kid that names no trusted key, or is not a string.
    ("kid unknown", "HMAC"): _ALL_OTHERS,
    ("kid unknown", "asymmetric"): _PYJWT_ONLY,
    ("kid null", "HMAC"): _JOSE_ONLY,
    ("kid number", "HMAC"): _JOSE_ONLY,
    # Header members we refuse and both others ignore.
    ("b64 true without crit", "any"): _ALL_OTHERS,
    ("jku header", "any"): _ALL_OTHERS,
    ("jwk header", "any"): _ALL_OTHERS,
    ("x5u header", "any"): _ALL_OTHERS,
    ("enc header (JWE member)", "any"): _ALL_OTHERS,
    ("cty JWT (nested)", "any"): _ALL_OTHERS,
    # Strict JSON: duplicates, numbers beyond a double, lone surrogates.
    ("header duplicate alg", "any"): _ALL_OTHERS,
    ("exp duplicated", "any"): _ALL_OTHERS,
    ("exp beyond a double", "any"): _JOSE_ONLY,
    ("exp integer beyond a double", "any"): _ALL_OTHERS,
    ("claim beyond a double", "any"): _ALL_OTHERS,
    ("claim holding a lone surrogate", "any"): _ALL_OTHERS,
    # NumericDate and registered claim types.
    ("exp a numeric string", "any"): _PYJWT_ONLY,
    ("nbf a string", "any"): _PYJWT_ONLY,
    ("iat a string", "any"): _PYJWT_ONLY,
    ("iat in the future", "any"): _JOSE_ONLY,
    ("aud a list with a number", "any"): _JOSE_ONLY,
    ("sub empty", "any"): _ALL_OTHERS,
    ("sub a number", "any"): _JOSE_ONLY,
    ("jti a number", "any"): _JOSE_ONLY,
    ("scope a list", "any"): _ALL_OTHERS,
    ("client_id null", "any"): _ALL_OTHERS,
    # Canonical base64url only.
    ("signature padded", "any"): _ALL_OTHERS,
    ("signature non-canonical", "any"): _JOSE_ONLY,
}


def _family(alg: str) -> str:
    return "HMAC" if alg.startswith("HS") else "asymmetric"


def _expected(alg: str, name: str) -> tuple[str, str, str] | None:
    return STRICTER.get((name, _family(alg)), STRICTER.get((name, "any")))


@cache
def _key(alg: str) -> Any:
    return generate_key(alg, kid=f"diff-{alg}", rsa_bits=2048)


def _ours(alg: str, now: int) -> Verifier:
    key = _key(alg)
    return Verifier(
        VerificationPolicy(
            algorithms=[alg],
            issuer=ISS,
            audience=AUD,
            keys=KeySet([key if key.is_symmetric else key.public_key()]),
            required_claims=("exp", "sub"),
            leeway=0,
            clock=FixedClock(now),
        )
    )


def _verdict_ours(verifier: Verifier, token: str) -> str:
    try:
        verifier.verify(token)
    except JWTWardenError:
        return NO
    return OK


def _verdict_pyjwt(alg: str, token: str) -> str:
    key = _key(alg)
    jwk = {**key.export_private_jwk(), "alg": alg} if key.is_symmetric else key.public_jwk()
    try:
        jwt.decode(
            token,
            jwt.PyJWK(jwk),
            algorithms=[alg],
            audience=AUD,
            issuer=ISS,
            leeway=0,
            options={"require": ["exp", "sub"]},
        )
    except jwt.PyJWTError:
        return NO
    return OK


def _node_case(alg: str, token: str, now: int) -> dict[str, Any]:
    key = _key(alg)
    case: dict[str, Any] = {
        "token": token,
        "algorithms": [alg],
        "issuer": ISS,
        "audience": AUD,
        "requiredClaims": ["exp", "sub"],
        "currentDate": now,
        "expect": "valid",
    }
    if key.is_symmetric:
        case["secret"] = key.export_private_jwk()["k"]
    else:
        case["jwks"] = {"keys": [key.public_jwk()]}
    return case


def _verdicts_jose(cases: list[dict[str, Any]]) -> list[str]:
    done = subprocess.run(
        [node(), str(HERE / "verify.mjs")],
        input=json.dumps({"cases": cases}),
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return [OK if result["ok"] else NO for result in json.loads(done.stdout)]


def _all_verdicts() -> dict[tuple[str, str], tuple[str, str, str]]:
    # PyJWT reads the real clock; "now" is the same second, and no edge is within 100 s of it.
    now = int(time.time())
    tokens: list[tuple[str, str, str]] = []
    for alg in ALGORITHMS:
        for mutation in MUTATIONS:
            token = build(mutation, _key(alg), now)
            if token is not None:
                tokens.append((alg, mutation.name, token))
    verifiers = {alg: _ours(alg, now) for alg in ALGORITHMS}
    jose = _verdicts_jose([_node_case(alg, token, now) for alg, _, token in tokens])
    return {
        (alg, name): (_verdict_ours(verifiers[alg], token), _verdict_pyjwt(alg, token), verdict)
        for (alg, name, token), verdict in zip(tokens, jose, strict=True)
    }


def test_should_agree_with_pyjwt_and_jose_but_where_the_table_says_we_are_stricter() -> None:
    verdicts = _all_verdicts()
    assert verdicts[("ES256", "valid")] == (OK, OK, OK)
    disagreements = {case: v for case, v in verdicts.items() if len(set(v)) > 1}
    unexplained = {c: v for c, v in disagreements.items() if _expected(*c) != v}
    assert not unexplained, "\n".join(f"{c}: {v}" for c, v in sorted(unexplained.items()))
    # Every entry of the table still happens, for every algorithm of its family.
    stale = {
        entry
        for entry, expected in STRICTER.items()
        for (alg, name), v in verdicts.items()
        if name == entry[0] and entry[1] in ("any", _family(alg)) and v != expected
    }
    assert not stale, stale
    # Never looser: where we accept, both others accept too.
    assert all(v[1:] == (OK, OK) for v in verdicts.values() if v[0] == OK)
