"""The error tree: one class per stable code, drawn in the module docstring; codes are API."""

from __future__ import annotations

import pytest

import jwtwarden.errors as errors
from jwtwarden.errors import (
    ClaimError,
    InvalidClaimError,
    InvalidTokenError,
    JWTWardenError,
    KeyRejectedError,
    RevocationUnavailableError,
    error_codes,
)

# The codes issue 2 promises for a refused token: stable API, never renamed.
TOKEN_CODES = {
    "malformed": "MalformedTokenError",
    "unsupported_serialization": "UnsupportedSerializationError",
    "token_too_large": "TokenTooLargeError",
    "algorithm_not_allowed": "AlgorithmNotAllowedError",
    "unknown_key": "UnknownKeyError",
    "forbidden_header": "ForbiddenHeaderError",
    "unsupported_critical_header": "UnsupportedCriticalHeaderError",
    "bad_signature": "BadSignatureError",
    "expired": "ExpiredTokenError",
    "not_yet_valid": "NotYetValidError",
    "issued_in_future": "IssuedInFutureError",
    "too_old": "TokenTooOldError",
    "wrong_issuer": "WrongIssuerError",
    "wrong_audience": "WrongAudienceError",
    "wrong_type": "WrongTypeError",
    "missing_claim": "MissingClaimError",
    "invalid_claim": "InvalidClaimError",
    "revoked": "RevokedTokenError",
}
CLAIM_CODES = {
    "expired",
    "not_yet_valid",
    "issued_in_future",
    "too_old",
    "wrong_issuer",
    "wrong_audience",
    "wrong_type",
    "missing_claim",
    "invalid_claim",
}


def _all_error_classes() -> list[type[JWTWardenError]]:
    out: list[type[JWTWardenError]] = []
    stack: list[type[JWTWardenError]] = [JWTWardenError]
    while stack:
        cls = stack.pop()
        out.append(cls)
        stack.extend(cls.__subclasses__())
    return [c for c in out if c.__module__ == errors.__name__]


@pytest.mark.parametrize(("code", "name"), sorted(TOKEN_CODES.items()))
def test_should_map_each_promised_token_code_to_its_own_invalid_token_error(
    code: str, name: str
) -> None:
    cls = getattr(errors, name)
    assert cls.code == code
    assert error_codes()[code] is cls
    assert issubclass(cls, InvalidTokenError)
    assert name in errors.__all__
    assert (code in CLAIM_CODES) == issubclass(cls, ClaimError)


def test_should_give_every_error_class_a_distinct_code_except_the_claim_base() -> None:
    seen: dict[str, type[JWTWardenError]] = {}
    for cls in _all_error_classes():
        if cls is ClaimError:
            continue  # the family base; InvalidClaimError is the one raised with its code
        assert cls.code not in seen, f"{cls.__name__} reuses {seen.get(cls.code)}'s code"
        seen[cls.code] = cls
    assert error_codes()["invalid_claim"] is InvalidClaimError


def test_should_draw_every_error_class_in_the_module_docstring_tree() -> None:
    doc = errors.__doc__ or ""
    for cls in _all_error_classes():
        assert cls.__name__ in doc, f"{cls.__name__} is missing from the tree"
        if not cls.__subclasses__():  # a leaf: its code is what callers match on
            assert cls.code in doc, f"{cls.code} is missing from the tree"


def test_should_carry_claim_and_reason_on_claim_errors() -> None:
    err = InvalidClaimError("bad sub", claim="sub", reason="not_a_string")
    assert (err.code, err.claim, err.reason, err.detail) == (
        "invalid_claim",
        "sub",
        "not_a_string",
        "bad sub",
    )
    with pytest.raises(TypeError):
        InvalidClaimError("no claim given")  # type: ignore[call-arg]


def test_should_show_the_code_in_repr_and_the_detail_in_str() -> None:
    err = errors.BadSignatureError("the signature does not verify")
    assert (
        repr(err) == "BadSignatureError(code='bad_signature', "
        "detail='the signature does not verify')"
    )
    assert str(err) == "the signature does not verify"


def test_should_keep_revocation_unavailable_outside_the_invalid_token_family() -> None:
    # A 503, not a 401: the token may be fine, the revocation service is not.
    assert not issubclass(RevocationUnavailableError, InvalidTokenError)
    assert issubclass(RevocationUnavailableError, JWTWardenError)
    assert RevocationUnavailableError.code == "revocation_unavailable"


def test_should_keep_key_refusals_apart_from_token_refusals() -> None:
    assert not issubclass(KeyRejectedError, InvalidTokenError)
    assert errors.WeakKeyError.code == "weak_key"
    assert errors.InvalidKeyError.code == "invalid_key"
    assert issubclass(errors.WeakKeyError, KeyRejectedError)


def test_should_never_raise_the_base_classes_from_the_verifier_with_a_generic_code() -> None:
    # Codes of the abstract bases exist but say nothing specific; the verifier raises leaves.
    assert JWTWardenError.code == "error"
    assert InvalidTokenError.code == "invalid_token"
    assert "error" not in TOKEN_CODES and "invalid_token" not in TOKEN_CODES
