"""Wycheproof JSON Web Key vectors (google/wycheproof ``json_web_key_test.json``, version 0.3,
26 cases): key sets that must be refused when loaded, and tokens to verify with the ones that load.

Every ``invalid`` key set or key is refused by ``KeySet.from_jwks`` with a ``KeyRejectedError``,
or, if it loads, its token is refused; every ``valid`` case loads and verifies. Both the public
set (what a verifier loads) and the private set (what an issuer loads) are tried.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.vectors._wycheproof import cases, load

from jwtwarden import JWSVerifier, KeyRejectedError, KeySet
from jwtwarden.errors import InvalidTokenError

FILE = "json_web_key_test.json"

# Why each invalid group is refused, and with which code (asserting the reason, not just "no").
REFUSALS: dict[str, str] = {
    "jws_mixedSymmetryKeyset": "invalid_key",  # HMAC and EC keys in one set (alg confusion)
    "jws_duplicate_kid": "invalid_key",  # which of two keys would a kid select?
    "jws_rsa_roca_key": "weak_key",  # CVE-2017-15361
    "keysize_too_small": "weak_key",  # RSA 1024
    "exponentOne": "invalid_key",  # e = 1: every "signature" verifies
    "wrong_algorithm": "invalid_key",  # "ES521" is no JWS algorithm
    "invalid_algorithm": "invalid_key",  # "ES224" neither
    "invalid_use": "invalid_key",  # use = enc
    "invalid_point": "invalid_key",  # EC point not on P-256 (invalid-curve attack)
    "wrong_curve": "invalid_key",  # ES256 with crv P-384
    "wrong_kty": "invalid_key",  # EC members under kty RSA
    "invalid_aes_gcm_key": "invalid_key",  # an AES key is not an HMAC key
    "invalid_aes_kw_key": "invalid_key",
}
# HMAC secrets shorter than the hash, or empty.
_SHORT_OR_EMPTY = {"key_too_short": "weak_key", "empty_key": "invalid_key"}


def _expected_refusal(group: dict[str, Any], case: dict[str, Any]) -> str:
    if group["comment"] in REFUSALS:
        return REFUSALS[group["comment"]]
    if case["comment"] in _SHORT_OR_EMPTY:
        return _SHORT_OR_EMPTY[case["comment"]]
    if group["comment"] == "rs256" and group["private"]["keys"][0].get("use") == "enc":
        return "invalid_key"  # RSA1_5, an encryption algorithm, with use = enc
    raise AssertionError(f"no expected refusal for tcId {case['tcId']}; add one")


def test_should_find_all_26_cases_in_the_wycheproof_jwk_file(wycheproof_dir: Path) -> None:
    data = load(wycheproof_dir / FILE)
    assert data["numberOfTests"] == 26
    assert sum(len(g["tests"]) for g in data["testGroups"]) == 26


@pytest.mark.parametrize(("index", "tc_id"), cases(FILE, with_group=True))
def test_should_load_and_verify_valid_key_sets_and_refuse_invalid_ones(
    wycheproof_dir: Path, index: int, tc_id: int
) -> None:
    group = load(wycheproof_dir / FILE)["testGroups"][index]
    case = next(c for c in group["tests"] if c["tcId"] == tc_id)
    sets = [group[side] for side in ("public", "private") if side in group]
    assert sets, f"group {index} has neither a public nor a private key set"
    for jwks in sets:
        if case["result"] == "valid":
            keys = KeySet.from_jwks(json.dumps(jwks))
            result = JWSVerifier(keys=keys, algorithms=keys.algorithms).verify(case["jws"])
            assert result.payload == b"foo"
            continue
        assert case["result"] == "invalid"
        try:
            keys = KeySet.from_jwks(json.dumps(jwks))
        except KeyRejectedError as exc:
            assert exc.code == _expected_refusal(group, case)
            continue
        # The set loaded: then the token must be refused (tcId 3, a modified MAC).
        with pytest.raises(InvalidTokenError) as info:
            JWSVerifier(keys=keys, algorithms=keys.algorithms).verify(case["jws"])
        assert info.value.code == "bad_signature"
