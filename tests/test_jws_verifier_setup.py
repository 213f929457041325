"""``JWSVerifier`` validates its own JOSE-layer settings (no fake policy with audience "-").

It shares the policy's rules for algorithms, key sources, size and allowed headers
(``jwtwarden.policy.check_*``), and its errors speak of the JWSVerifier, never of an issuer
"-" that the caller never gave.
"""

from __future__ import annotations

from typing import Any

import pytest

from jwtwarden import KeySet
from jwtwarden.verify import JWSVerifier
from tests._verify_support import key_for

ES = KeySet([key_for("ES256").public_key()])

REFUSED: list[Any] = [
    pytest.param({"algorithms": ["none"]}, ValueError, "'none' algorithm", id="alg none"),
    pytest.param({"algorithms": ["XS1"]}, ValueError, "unknown algorithm", id="unknown alg"),
    pytest.param({"algorithms": []}, ValueError, "algorithms", id="no algorithm"),
    pytest.param(
        {"keys": object()}, TypeError, "keys of a JWSVerifier must be", id="no key source"
    ),
    pytest.param(
        {"algorithms": ["RS256"]},
        ValueError,
        "key set of a JWSVerifier has no key for the allowed algorithms",
        id="a key set without a key for the algorithms",
    ),
    pytest.param({"max_token_size": 0}, ValueError, "max_token_size", id="zero size"),
    pytest.param(
        {"allowed_headers": {"kid"}}, ValueError, "allowed_headers", id="a non key-URL header"
    ),
]


@pytest.mark.parametrize(("override", "error", "message"), REFUSED)
def test_should_refuse_a_jws_verifier_built_with_unsafe_settings(
    override: dict[str, Any], error: type[Exception], message: str
) -> None:
    settings: dict[str, Any] = {"keys": ES, "algorithms": ["ES256"], **override}
    with pytest.raises(error, match=message) as info:
        JWSVerifier(**settings)
    assert "'-'" not in str(info.value)  # no trace of a made-up issuer or audience
