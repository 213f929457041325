"""Wycheproof JSON Web Signature vectors (google/wycheproof ``json_web_signature_test.json``,
version 0.3, 401 cases), run through ``JWSVerifier`` with each group's verification key.

Every ``valid`` case verifies and every ``invalid`` one is refused with a jwtwarden error whose
code is one we expect for that kind of defect. Where jwtwarden decides differently from the file,
the case is listed in ``DEVIATIONS`` with the reason, and its test asserts jwtwarden's decision
(nothing is skipped):

- tcId 372 and 373 are labelled ``valid`` but carry a ``?`` inside a base64url segment; their MAC
  only verifies if the decoder silently drops characters it cannot decode. RFC 7515 section 2
  allows the url-safe alphabet only, and a verifier that drops characters sees different bytes
  than a downstream parser (a parser differential), so jwtwarden refuses them as ``malformed``.
- tcId 367 and 370 (``invalidBase64Padding*``) are labelled ``invalid`` but are byte-identical
  to the ``valid`` tcId 357 in this file: the ``=`` padding they were meant to carry was lost
  upstream. A token cannot be both; jwtwarden accepts the valid token. (Padding itself is
  refused: see ``test_verify_structure.py``.)
- tcId 346 and 350 (RFC 7520 Figure 20) are a PS384 JWS verified with a key whose ``alg`` member
  Wycheproof set to ``PS256``. jwtwarden pins every key to its ``alg`` (the guide's "bind each
  key to one algorithm"; Wycheproof's own ``WrongPrimitive`` cases 331-340 demand the same), so
  it refuses them with ``algorithm_not_allowed``. The same token verifies once the key is pinned
  to PS384, which shows the refusal is the pin, not the signature.

Group-level adaptations (the case outcomes are then as labelled):

- The RFC 7520 P-521 key is labelled ``"alg": "ES521"``, which is not a registered JWS algorithm
  (RFC 7518 section 3.1 names P-521 with SHA-512 ``ES512``). ``import_jwk`` refuses it; the
  harness drops the bogus member and names ``ES512``.
- The ``base64`` group's HMAC key is 32 zero bytes. jwtwarden's strength floor refuses such a
  placeholder secret at import (``weak_key``); the group tests base64url parsing, not keys, so
  the harness builds the ``Key`` directly from the ``joserfc`` key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import OctKey
from tests.vectors._wycheproof import cases, load

from jwtwarden import JWSVerifier, Key, KeyRejectedError, KeySet, import_jwk
from jwtwarden._jose.b64 import b64url_decode
from jwtwarden.errors import JWTWardenError, WeakKeyError

FILE = "json_web_signature_test.json"

# tcId -> (the code jwtwarden gives, or None for "verifies"; why it differs from the file).
DEVIATIONS: dict[int, tuple[str | None, str]] = {
    372: ("malformed", "a '?' in the header segment: strict base64url, RFC 7515 section 2"),
    373: ("malformed", "a '?' in the payload segment: strict base64url, RFC 7515 section 2"),
    367: (None, "byte-identical to the valid tcId 357: the padding was lost upstream"),
    370: (None, "byte-identical to the valid tcId 357: the padding was lost upstream"),
    346: ("algorithm_not_allowed", "PS384 token, key pinned to PS256 by its own alg member"),
    350: ("algorithm_not_allowed", "PS384 token, key pinned to PS256 by its own alg member"),
}

# What a refusal may say, by the defect Wycheproof names (flag first, then comment).
_BY_FLAG: dict[str, frozenset[str]] = {
    "ModifiedSignature": frozenset({"bad_signature"}),
    "ModifiedPadding": frozenset({"bad_signature"}),
    # A token signed with another primitive: its header either names an algorithm the key is
    # not pinned to, or names the key's own algorithm over a signature that cannot verify.
    "WrongPrimitive": frozenset({"algorithm_not_allowed", "bad_signature"}),
    # alg none with an empty signature: refused by structure (empty segment) or by the allowlist.
    "AlgIsNone": frozenset({"malformed", "algorithm_not_allowed"}),
    "JsonSerialization": frozenset({"unsupported_serialization"}),
}
_STRUCTURE = frozenset({"malformed"})
_BY_COMMENT: dict[str, frozenset[str]] = {
    "rejectsModifiedSignature": frozenset({"bad_signature"}),
    "rejectsModifiedPayload": frozenset({"bad_signature"}),
    # An empty payload is legal JWS (RFC 7515 appendix F); the signature then does not match.
    "rejectsMissingPayload": frozenset({"bad_signature"}),
    # The tampered header changes the kid, so no trusted key is named.
    "rejectsModifiedHeader": frozenset({"unknown_key", "bad_signature"}),
    "rejectsSymmetryConfusionAttacks_aesKeyFromEcVerificationKeyBytes": frozenset(
        {"algorithm_not_allowed"}
    ),
    "rejectsAttackerProvidedEmbeddedJwk": frozenset({"forbidden_header"}),
    "MacOfIncorrectlyEncodedMessage": _STRUCTURE,
    "ModifiedUnusedBitsInPayload": _STRUCTURE,
}
_STRUCTURE_COMMENTS = (
    "rejectsMissing",
    "rejectsEmptyString",
    "rejectsExtra",
    "rejectsNoneAlgorithmAndMissingSignature",
    "rejectsSpaces",
    "rejectsInvalidCharacter",
    "rejects0Replaced",
    "spaces",
    "invalidCharacters",
    "InvalidCharacter",
)
# ECDSA special cases: every one is a wrong signature (length or value).
_ES256_SPECIAL = frozenset({"bad_signature"})


def expected_codes(group: dict[str, Any], case: dict[str, Any]) -> frozenset[str]:
    for flag in case["flags"]:
        if flag in _BY_FLAG:
            return _BY_FLAG[flag]
    comment = case["comment"]
    if comment in _BY_COMMENT:
        return _BY_COMMENT[comment]
    if comment.startswith(_STRUCTURE_COMMENTS):
        return _STRUCTURE
    if group["comment"] == "SpecialCaseEs256":
        return _ES256_SPECIAL
    raise AssertionError(f"no expected refusal for tcId {case['tcId']} ({comment}); add one")


def _group_and_case(wycheproof_dir: Path, index: int, tc_id: int) -> tuple[dict, dict]:
    group = load(wycheproof_dir / FILE)["testGroups"][index]
    case = next(c for c in group["tests"] if c["tcId"] == tc_id)
    return group, case


def _verification_jwk(group: dict[str, Any]) -> dict[str, Any]:
    # The verifier's side: the public key, or the secret for HMAC groups.
    jwk: dict[str, Any] = group.get("public") or group["private"]
    return jwk


def _is_placeholder_hmac_key(jwk: dict[str, Any]) -> bool:
    return jwk.get("kty") == "oct" and set(jwk.get("k", "")) == {"A"}


def group_key(group: dict[str, Any]) -> Key:
    """The group's verification key, imported as an application would (see adaptations)."""
    jwk = _verification_jwk(group)
    if jwk.get("alg") == "ES521":
        return import_jwk({k: v for k, v in jwk.items() if k != "alg"}, algorithm="ES512")
    if _is_placeholder_hmac_key(jwk):
        return Key(OctKey.import_key(jwk), alg=jwk["alg"], kid=jwk["kid"])
    return import_jwk(jwk)


def _token(case: dict[str, Any]) -> str:
    jws = case["jws"]
    return jws if isinstance(jws, str) else json.dumps(jws)


def _outcome(group: dict[str, Any], case: dict[str, Any]) -> str | None:
    """``None`` when the token verifies, else the refusal code (key refusals included)."""
    try:
        key = group_key(group)
    except KeyRejectedError as exc:
        return exc.code
    verifier = JWSVerifier(keys=KeySet([key]), algorithms=[key.alg])
    try:
        result = verifier.verify(_token(case))
    except JWTWardenError as exc:
        return exc.code
    # A verified JWS hands back the key that verified it and the exact payload bytes.
    assert result.key is not None and result.key.kid == key.kid
    assert result.payload == b64url_decode(_token(case).split(".")[1])
    return None


def test_should_find_all_401_cases_in_the_wycheproof_file(wycheproof_dir: Path) -> None:
    data = load(wycheproof_dir / FILE)
    cases = [c for g in data["testGroups"] for c in g["tests"]]
    assert data["numberOfTests"] == 401
    assert len(cases) == 401
    assert len({c["tcId"] for c in cases}) == 401


@pytest.mark.parametrize(("index", "tc_id"), cases(FILE, with_group=True))
def test_should_decide_each_wycheproof_jws_case_as_labelled_or_as_documented(
    wycheproof_dir: Path, index: int, tc_id: int
) -> None:
    group, case = _group_and_case(wycheproof_dir, index, tc_id)
    outcome = _outcome(group, case)
    if tc_id in DEVIATIONS:
        expected, _why = DEVIATIONS[tc_id]
        assert outcome == expected
    elif case["result"] == "valid":
        assert outcome is None, f"refused with {outcome}"
    else:
        assert case["result"] == "invalid"
        if _is_key_refused_group(group):
            assert outcome == "invalid_key"
        else:
            assert outcome in expected_codes(group, case)


def _is_key_refused_group(group: dict[str, Any]) -> bool:
    jwk = _verification_jwk(group)
    ops = set(jwk.get("key_ops", ("verify",)))
    return "alg" not in jwk or jwk.get("use") == "enc" or not ops & {"sign", "verify"}


def test_should_treat_the_padding_cases_as_the_valid_token_they_are_byte_for_byte(
    wycheproof_dir: Path,
) -> None:
    cases = {c["tcId"]: c for g in load(wycheproof_dir / FILE)["testGroups"] for c in g["tests"]}
    # If a fixed vector file ever restores the padding, this fails and DEVIATIONS must go.
    assert cases[367]["jws"] == cases[370]["jws"] == cases[357]["jws"]
    assert cases[357]["result"] == "valid"
    assert "=" not in cases[367]["jws"]


def test_should_verify_rfc7520_figure_20_once_the_key_is_pinned_to_ps384(
    wycheproof_dir: Path,
) -> None:
    data = load(wycheproof_dir / FILE)
    verified = []
    for group in data["testGroups"]:
        for case in group["tests"]:
            if case["tcId"] not in (346, 350):
                continue
            jwk = {k: v for k, v in _verification_jwk(group).items() if k != "alg"}
            key = import_jwk(jwk, algorithm="PS384")
            result = JWSVerifier(keys=KeySet([key]), algorithms=["PS384"]).verify(case["jws"])
            assert result.header["alg"] == "PS384"
            verified.append(case["tcId"])
    assert sorted(verified) == [346, 350]  # both cases are in the file and were verified


def test_should_refuse_the_unregistered_es521_algorithm_when_importing_the_rfc7520_key(
    wycheproof_dir: Path,
) -> None:
    groups = [
        g
        for g in load(wycheproof_dir / FILE)["testGroups"]
        if _verification_jwk(g).get("alg") == "ES521"
    ]
    assert len(groups) == 2
    for group in groups:
        with pytest.raises(KeyRejectedError) as info:
            import_jwk(_verification_jwk(group))
        assert info.value.code == "invalid_key"


def test_should_refuse_the_all_zero_hmac_key_of_the_base64_group_at_import(
    wycheproof_dir: Path,
) -> None:
    groups = [
        g
        for g in load(wycheproof_dir / FILE)["testGroups"]
        if _is_placeholder_hmac_key(_verification_jwk(g))
    ]
    assert len(groups) == 1
    with pytest.raises(WeakKeyError):
        import_jwk(_verification_jwk(groups[0]))


def test_should_refuse_encryption_keys_even_when_the_caller_names_a_signing_algorithm(
    wycheproof_dir: Path,
) -> None:
    # Groups 353-356: an RSA or EC key restricted to encryption ("use": "enc" or key_ops
    # encrypt/decrypt) must never verify a signature, whatever algorithm the caller names.
    groups = [g for g in load(wycheproof_dir / FILE)["testGroups"] if _is_key_refused_group(g)]
    assert len(groups) == 4
    for group in groups:
        jwk = _verification_jwk(group)
        algorithm = "RS256" if jwk["kty"] == "RSA" else "ES256"
        with pytest.raises(KeyRejectedError) as info:
            import_jwk(jwk, algorithm=algorithm)
        assert info.value.code == "invalid_key"
        # The restriction is the reason: without it, the same key material imports.
        unrestricted = {k: v for k, v in jwk.items() if k not in ("use", "key_ops")}
        assert import_jwk(unrestricted, algorithm=algorithm).alg == algorithm
