"""The public surface is explicit: ``jwtwarden.__all__`` and ``jwtwarden.errors.__all__``.

Adding or removing a public name is an API change: update this list on purpose, in the same
change, and say so in the changelog.
"""

from __future__ import annotations

import inspect

import jwtwarden
import jwtwarden.errors

PUBLIC = [
    "CachedVerifier",
    "ClaimError",
    "Clock",
    "FixedClock",
    "InvalidTokenError",
    "JWSVerifier",
    "JWTWardenError",
    "Key",
    "KeyRejectedError",
    "KeySet",
    "KeySource",
    "RevocationUnavailableError",
    "RevokedTokenError",
    "SystemClock",
    "VerificationPolicy",
    "VerifiedJWS",
    "VerifiedToken",
    "Verifier",
    "__version__",
    "generate_key",
    "import_jwk",
    "import_pem",
    "verify",
    "verify_async",
    "verify_compact",
]

# The error names issue 2 promises; later issues add more (sessions, JWKS fetching, ...).
VERIFIER_ERRORS = {
    "AlgorithmNotAllowedError",
    "BadSignatureError",
    "ClaimError",
    "ExpiredTokenError",
    "ForbiddenHeaderError",
    "InvalidClaimError",
    "InvalidKeyError",
    "InvalidTokenError",
    "IssuedInFutureError",
    "JWTWardenError",
    "KeyRejectedError",
    "MalformedTokenError",
    "MissingClaimError",
    "NotYetValidError",
    "RevocationUnavailableError",
    "RevokedTokenError",
    "TokenTooLargeError",
    "TokenTooOldError",
    "UnknownKeyError",
    "UnsupportedCriticalHeaderError",
    "UnsupportedSerializationError",
    "WeakKeyError",
    "WrongAudienceError",
    "WrongIssuerError",
    "WrongTypeError",
    "error_codes",
}


def test_should_export_exactly_the_public_names() -> None:
    assert sorted(jwtwarden.__all__) == PUBLIC
    assert len(set(jwtwarden.__all__)) == len(jwtwarden.__all__)


def test_should_make_every_exported_name_importable_and_documented() -> None:
    for name in jwtwarden.__all__:
        value = getattr(jwtwarden, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_should_export_exactly_the_error_classes_of_the_errors_module() -> None:
    # Exact in both directions: every error class defined there is exported, and nothing else
    # (but error_codes) is.
    defined = {
        name
        for name, value in vars(jwtwarden.errors).items()
        if inspect.isclass(value)
        and issubclass(value, jwtwarden.errors.JWTWardenError)
        and value.__module__ == jwtwarden.errors.__name__
    }
    assert set(jwtwarden.errors.__all__) == defined | {"error_codes"}
    assert len(set(jwtwarden.errors.__all__)) == len(jwtwarden.errors.__all__)
    assert set(jwtwarden.errors.__all__) >= VERIFIER_ERRORS


def test_should_not_export_the_unverified_decoder_from_the_top_level() -> None:
    # The decoder exists, in jwtwarden.unsafe only: its absence here is not a rename.
    from jwtwarden.unsafe import decode_unverified

    assert decode_unverified.__module__ == "jwtwarden.unsafe"
    assert "Verifier" in jwtwarden.__all__
    assert "decode_unverified" not in jwtwarden.__all__
    assert "unsafe" not in jwtwarden.__all__


def test_should_report_the_package_version() -> None:
    assert jwtwarden.__version__ == "0.1.0"


def test_should_offer_the_keyset_constructors_for_keys_as_users_have_them() -> None:
    # Issue 17: a JWK Set, a PEM and an HMAC secret, each a documented public constructor.
    for name in ("from_jwks", "from_pem", "from_secret", "from_file"):
        constructor = getattr(jwtwarden.KeySet, name)
        assert inspect.getdoc(constructor), f"KeySet.{name} has no docstring"
    secret = inspect.signature(jwtwarden.KeySet.from_secret).parameters
    assert list(secret) == ["secret", "algorithm", "kid"]
    assert secret["algorithm"].default == "HS256"
    assert secret["algorithm"].kind is inspect.Parameter.KEYWORD_ONLY
