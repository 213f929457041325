"""Wycheproof JSON Web Encryption vectors (``json_web_encryption_test.json``, 139 cases).

jwtwarden accepts signed tokens only: a JWE is never a JWS, and treating a successful decryption
as an authenticated token is the CVE-2023-51774 class of bug. So every case of this file, the
``valid`` ones included, must be refused by the verifier before any key or signature work, and
every compact JWE (five segments) with ``unsupported_serialization`` specifically. The cases are
run through a verifier that trusts a real key, with every algorithm of the JWE headers that is
also a JWS algorithm allowed, so nothing but the serialization rules can refuse them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.vectors._wycheproof import cases, load

from jwtwarden import JWSVerifier, KeySet, generate_key
from jwtwarden.errors import JWTWardenError, UnsupportedSerializationError

FILE = "json_web_encryption_test.json"
KEY = generate_key("HS256")


def _case(wycheproof_dir: Path, tc_id: int) -> dict[str, Any]:
    for group in load(wycheproof_dir / FILE)["testGroups"]:
        for case in group["tests"]:
            if case["tcId"] == tc_id:
                return dict(case)
    raise AssertionError(f"no case {tc_id}")


@pytest.mark.parametrize("tc_id", cases(FILE, with_group=False))
def test_should_refuse_every_jwe_vector_as_not_a_jws(wycheproof_dir: Path, tc_id: int) -> None:
    case = _case(wycheproof_dir, tc_id)
    token = case["jwe"]
    verifier = JWSVerifier(keys=KeySet([KEY]), algorithms=["HS256"])
    with pytest.raises(JWTWardenError) as info:
        verifier.verify(token)
    if isinstance(token, str) and token.count(".") == 4:
        assert isinstance(info.value, UnsupportedSerializationError), info.value.code
    else:
        assert info.value.code in {"unsupported_serialization", "malformed"}
