"""Property tests: the verifier returns a result or raises a ``JWTWardenError`` for *any* input,
and signing then verifying round-trips arbitrary claim values for every algorithm.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from jwtwarden import FixedClock, JWSVerifier, KeySet, VerificationPolicy, Verifier, generate_key
from jwtwarden._jose.algorithms import ALGORITHMS
from jwtwarden._jose.claim_types import TYPED_CLAIMS
from jwtwarden._jose.sign import sign_compact
from jwtwarden.errors import JWTWardenError

NOW = 1_800_000_000
ISS = "https://issuer.example"
AUD = "https://api.example"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def _key(alg: str) -> Any:
    return generate_key(alg, kid=f"prop-{alg}", rsa_bits=2048)


@cache
def _verifier(alg: str) -> Verifier:
    key = _key(alg)
    public = key if key.is_symmetric else key.public_key()
    return Verifier(
        VerificationPolicy(
            algorithms=[alg],
            issuer=ISS,
            audience=AUD,
            keys=KeySet([public]),
            clock=FixedClock(NOW),
        )
    )


def _claims(**extra: Any) -> dict[str, Any]:
    return {"iss": ISS, "aud": AUD, "sub": "u", "iat": NOW, "exp": NOW + 300, **extra}


@cache
def _valid(alg: str) -> str:
    return sign_compact({"typ": "JWT"}, _claims(), _key(alg))


def _outcome(verifier: Verifier, token: Any) -> str:
    """``"ok"`` or the error code; any other exception fails the property."""
    try:
        verifier.verify(token)
    except JWTWardenError as exc:
        assert isinstance(exc.code, str) and exc.code
        return exc.code
    return "ok"


ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
token_like = st.text(alphabet=ALPHABET + "=+/ \n{}\"':,", max_size=300)


@SETTINGS
@given(st.one_of(st.text(max_size=400), token_like))
def test_should_only_raise_jwtwarden_errors_for_arbitrary_text(text: str) -> None:
    assert _outcome(_verifier("ES256"), text) != "ok"


@SETTINGS
@given(st.binary(max_size=400))
def test_should_only_raise_jwtwarden_errors_for_arbitrary_bytes(data: bytes) -> None:
    assert _outcome(_verifier("ES256"), data) != "ok"


@SETTINGS
@given(
    st.one_of(
        st.none(),
        st.integers(),
        st.floats(),
        st.lists(st.text()),
        st.dictionaries(st.text(), st.text()),
    )
)
def test_should_only_raise_jwtwarden_errors_for_values_that_are_not_tokens(value: Any) -> None:
    assert _outcome(_verifier("ES256"), value) == "malformed"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@st.composite
def mutated_tokens(draw: st.DrawFn) -> tuple[str, str]:
    """A valid token bent by one random mutation, and the mutation's name."""
    alg = draw(st.sampled_from(["ES256", "HS256", "RS256", "Ed25519"]))
    token = _valid(alg)
    kind = draw(
        st.sampled_from(
            ["flip", "insert", "delete", "truncate", "swap", "reencode", "duplicate", "json"]
        )
    )
    segments = token.split(".")
    if kind == "flip":
        i = draw(st.integers(0, len(token) - 1))
        c = draw(st.characters(codec="ascii"))
        assume(c != token[i])
        token = token[:i] + c + token[i + 1 :]
    elif kind == "insert":
        i = draw(st.integers(0, len(token)))
        token = token[:i] + draw(st.text(min_size=1, max_size=5)) + token[i:]
    elif kind == "delete":
        i = draw(st.integers(0, len(token) - 1))
        j = draw(st.integers(i + 1, min(len(token), i + 20)))
        token = token[:i] + token[j:]
    elif kind == "truncate":
        token = token[: draw(st.integers(0, len(token) - 1))]
    elif kind == "swap":
        i, j = draw(st.permutations(range(3)).map(lambda p: (p[0], p[1])))
        segments[i], segments[j] = segments[j], segments[i]
        token = ".".join(segments)
    elif kind == "reencode":
        # Standard alphabet, padding, or a segment in hex: every lax decoder's favourite.
        i = draw(st.integers(0, 2))
        raw = base64.urlsafe_b64decode(segments[i] + "=" * (-len(segments[i]) % 4))
        style = draw(st.sampled_from(["std", "padded", "hex"]))
        if style == "std":
            segments[i] = base64.b64encode(raw).decode().rstrip("=")
        elif style == "padded":
            segments[i] = base64.urlsafe_b64encode(raw).decode()
        else:
            segments[i] = raw.hex()
        token = ".".join(segments)
    elif kind == "duplicate":
        token = token + "." + segments[draw(st.integers(0, 2))]
    else:
        # Rewrite the payload as other JSON (signature unchanged).
        value = draw(
            st.recursive(
                st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                lambda inner: (
                    st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3)
                ),
                max_leaves=10,
            )
        )
        segments[1] = _b64(json.dumps(value).encode())
        token = ".".join(segments)
    assume(token != _valid(alg))
    return alg, token


@SETTINGS
@given(mutated_tokens())
def test_should_refuse_every_mutation_of_a_valid_token_with_a_jwtwarden_error(
    case: tuple[str, str],
) -> None:
    alg, token = case
    # Strict parsing leaves no second spelling of a token: every change is refused, and the
    # refusal is always one of ours.
    assert _outcome(_verifier(alg), token) != "ok", token


@SETTINGS
@given(st.text(max_size=300))
def test_should_only_raise_jwtwarden_errors_at_the_jws_layer(text: str) -> None:
    key = _key("ES256")
    verifier = JWSVerifier(keys=KeySet([key.public_key()]), algorithms=["ES256"])
    with pytest.raises(JWTWardenError):
        verifier.verify(text)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
any_json = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
CLAIM_NAMES = st.sampled_from(
    ["iss", "aud", "sub", "exp", "nbf", "iat", "jti", "nonce", "typ", "x"]
)
HEADER_NAMES = st.sampled_from(
    ["typ", "cty", "kid", "crit", "b64", "jku", "jwk", "x5c", "enc", "zip", "x"]
)


@SETTINGS
@given(
    header=st.dictionaries(HEADER_NAMES, any_json, max_size=3),
    claims=st.dictionaries(CLAIM_NAMES, any_json, max_size=6),
)
def test_should_only_raise_jwtwarden_errors_for_hostile_but_validly_signed_content(
    header: dict[str, Any], claims: dict[str, Any]
) -> None:
    # Whatever a trusted key signed, the verifier answers with a result or one of its errors.
    key = _key("ES256")
    base = _claims()
    base.update(claims)
    text = json.dumps(base, allow_nan=True).encode()
    h = json.dumps({**header, "alg": "ES256", "kid": key.kid}, allow_nan=True).encode()
    signing_input = f"{_b64(h)}.{_b64(text)}"
    token = f"{signing_input}.{_b64(key.impl.sign(signing_input.encode(), key.jwk))}"
    outcome = _outcome(_verifier("ES256"), token)
    if outcome == "ok":
        assert _verifier("ES256").verify(token).claims == json.loads(text)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# The registered claims the verifier reads or type-checks (RFC 7519 4.1, RFC 9068 2.2, OpenID
# Connect): an arbitrary value there is refused, which test_verify_registered_types covers.
RESERVED = {"iss", "aud", "sub", "iat", "exp", "nbf", "jti", "nonce", *TYPED_CLAIMS}


@pytest.mark.parametrize("alg", sorted(ALGORITHMS))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    extra=st.dictionaries(
        st.text(max_size=12).filter(lambda k: k not in RESERVED), json_values, max_size=5
    )
)
def test_should_round_trip_arbitrary_claim_values_for_every_algorithm(
    alg: str, extra: dict[str, Any]
) -> None:
    claims = _claims(**extra)
    token = sign_compact({"typ": "JWT"}, claims, _key(alg))
    result = _verifier(alg).verify(token)
    assert result.claims == claims
    assert result.header["alg"] == alg
