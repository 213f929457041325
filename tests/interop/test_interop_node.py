"""Tokens minted by jwtwarden verify with Node's ``jose`` (``jwtVerify`` with ``typ``,
``algorithms``, ``issuer`` and ``audience``), run through ``verify.mjs``.

Needs Node.js and ``npm install`` in tests/interop (``scripts/test`` runs it). Without them the
tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from _minting import AUD, ISS, TYPS, mint, ring, signing_key

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() == "true"
# jose 6 has no Ed448 ("Unsupported alg value for a JSON Web Key Set"): left out on purpose.
ALGORITHMS = [
    "ES256",
    "ES384",
    "ES512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "EdDSA",
    "Ed25519",
    "HS256",
    "HS384",
    "HS512",
]

pytestmark = pytest.mark.node


def node() -> str:
    path = shutil.which("node")
    problem = None
    if path is None:
        problem = "node is not installed"
    elif not (HERE / "node_modules" / "jose" / "package.json").is_file():
        problem = "the jose package is missing: run `npm install` in tests/interop"
    if problem is not None:
        if IN_CI:
            pytest.fail(problem + " (CI=true, so this is a failure, not a skip)")
        pytest.skip(problem)
    assert path is not None
    return path


def run(cases: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    result = subprocess.run(
        [node(), str(HERE / "verify.mjs")],
        input=json.dumps({"cases": cases}),
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=60,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def case(alg: str, token: str, **overrides: Any) -> dict[str, Any]:
    key = signing_key(alg)
    out: dict[str, Any] = {
        "token": token,
        "typ": "at+jwt",
        "algorithms": [alg],
        "issuer": ISS,
        "audience": AUD,
        "expect": "valid",
    }
    if key.is_symmetric:
        out["secret"] = key.export_private_jwk()["k"]
    else:
        out["jwks"] = ring(alg).jwks()
    out.update(overrides)
    return out


def test_should_verify_access_tokens_of_every_algorithm_with_node_jose() -> None:
    cases = [case(alg, mint(alg)) for alg in ALGORITHMS]
    code, results = run(cases)
    assert code == 0, [
        (c["algorithms"], r) for c, r in zip(cases, results, strict=True) if not r["ok"]
    ]
    for alg, result in zip(ALGORITHMS, results, strict=True):
        assert result["protectedHeader"]["typ"] == "at+jwt"
        assert result["protectedHeader"]["alg"] == alg
        assert result["payload"]["scope"] == "read"


@pytest.mark.parametrize("profile", ["id", "reset"])
def test_should_verify_the_other_profiles_with_their_typ(profile: str) -> None:
    token = mint("ES256", profile)
    code, results = run(
        [case("ES256", token, typ=TYPS[profile]), case("ES256", token, expect="invalid")]
    )
    assert code == 0, results
    assert results[1]["code"] == "ERR_JWT_CLAIM_VALIDATION_FAILED"  # typ is not at+jwt


def test_should_be_refused_by_node_jose_for_the_wrong_audience_issuer_algorithm_or_time() -> None:
    token = mint("ES256")
    expired_at = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[1] + "==="))[
        "exp"
    ]
    cases = [
        case("ES256", token, audience="https://other.example", expect="invalid"),
        case("ES256", token, issuer="https://evil.example", expect="invalid"),
        case("ES256", token, algorithms=["RS256"], expect="invalid"),
        case("ES256", token, currentDate=expired_at + 1, expect="invalid"),
        case(
            "ES256",
            token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
            expect="invalid",
        ),
    ]
    code, results = run(cases)
    assert code == 0, results
    assert all(not r["ok"] for r in results)
