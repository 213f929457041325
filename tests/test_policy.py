"""``VerificationPolicy``: an unsafe policy is refused when it is built, not at the first request.

A bad *call* raises ``ValueError`` or ``TypeError`` (exit 2 in the CLI), never a token error.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from jwtwarden import FixedClock, KeySet, VerificationPolicy
from jwtwarden.errors import JWTWardenError
from tests._verify_support import AUD, ISS, NOW, key_for

ES_KEYS = KeySet([key_for("ES256").public_key()])
HS_KEYS = KeySet([key_for("HS256")])


def _build(**overrides: Any) -> VerificationPolicy:
    kw: dict[str, Any] = {"algorithms": ["ES256"], "issuer": ISS, "audience": AUD, "keys": ES_KEYS}
    kw.update(overrides)
    kw = {k: v for k, v in kw.items() if v is not _UNSET}
    return VerificationPolicy(**kw)


_UNSET: Any = object()


def test_should_build_a_safe_policy_with_documented_defaults() -> None:
    p = _build()
    assert p.leeway == 30.0
    assert p.max_token_size == 8192
    assert p.required_claims == frozenset({"exp", "sub"})
    assert p.allowed_algorithms == frozenset({"ES256"})
    assert p.audiences == frozenset({AUD})
    assert p.max_age is None and p.typ is None


@pytest.mark.parametrize(
    ("name", "overrides", "error"),
    [
        ("no algorithms", {"algorithms": []}, ValueError),
        ("empty algorithm name", {"algorithms": [""]}, ValueError),
        ("none", {"algorithms": ["none"]}, ValueError),
        ("None", {"algorithms": ["None"]}, ValueError),
        ("NONE among others", {"algorithms": ["ES256", "NONE"]}, ValueError),
        ("unknown algorithm", {"algorithms": ["ES256K"]}, ValueError),
        ("lower-case alg", {"algorithms": ["es256"]}, ValueError),
        ("JWE algorithm", {"algorithms": ["RSA-OAEP"]}, ValueError),
        ("empty audience string", {"audience": ""}, ValueError),
        ("blank audience", {"audience": "   "}, ValueError),
        ("empty audience list", {"audience": []}, ValueError),
        ("audience list with an empty one", {"audience": [AUD, ""]}, ValueError),
        ("issuer without keys", {"keys": _UNSET}, ValueError),
        ("keys without issuer", {"issuer": _UNSET}, ValueError),
        ("both issuer and issuers", {"issuers": {ISS: ES_KEYS}}, ValueError),
        ("empty issuers", {"issuer": _UNSET, "keys": _UNSET, "issuers": {}}, ValueError),
        ("empty issuer", {"issuer": ""}, ValueError),
        ("keys that are not a key set", {"keys": "jwks.json"}, TypeError),
        ("no key for the allowed algorithms", {"keys": HS_KEYS}, ValueError),
        (
            "issuers entry without a key for the algs",
            {"issuer": _UNSET, "keys": _UNSET, "issuers": {ISS: HS_KEYS}},
            ValueError,
        ),
        ("negative leeway", {"leeway": -1}, ValueError),
        ("leeway over five minutes", {"leeway": 301}, ValueError),
        ("NaN leeway", {"leeway": math.nan}, ValueError),
        ("leeway as a string", {"leeway": "30"}, ValueError),
        ("zero max_age", {"max_age": 0}, ValueError),
        ("negative max_age", {"max_age": -5}, ValueError),
        ("infinite max_age", {"max_age": math.inf}, ValueError),
        ("zero max_token_size", {"max_token_size": 0}, ValueError),
        ("huge max_token_size", {"max_token_size": 10**6}, ValueError),
        ("unknown allowed header", {"allowed_headers": ["kid"]}, ValueError),
        ("nonce outside the id profile", {"nonce": "n"}, ValueError),
        ("empty typ", {"typ": ""}, ValueError),
        ("async subject hook", {"subject_exists": "async"}, TypeError),
        ("subject hook that is not callable", {"subject_exists": "yes"}, TypeError),
    ],
)
def test_should_refuse_an_unsafe_policy_at_construction(
    name: str, overrides: dict[str, Any], error: type[Exception]
) -> None:
    if overrides.get("subject_exists") == "async":

        async def exists(sub: str) -> bool:
            return True

        overrides = {"subject_exists": exists}
    with pytest.raises(error) as info:
        _build(**overrides)
    # A bad call is never reported as a token error.
    assert not isinstance(info.value, JWTWardenError)


def test_should_refuse_none_for_the_jws_layer_and_the_profiles_too() -> None:
    for factory in (VerificationPolicy.access_token, VerificationPolicy.id_token):
        with pytest.raises(ValueError):
            factory(algorithms=["none"], issuer=ISS, audience=AUD, keys=ES_KEYS)
    with pytest.raises(ValueError):
        VerificationPolicy.custom(
            typ="reset+jwt", algorithms=["none"], issuer=ISS, audience=AUD, keys=ES_KEYS
        )


def test_should_require_keyword_arguments() -> None:
    with pytest.raises(TypeError):
        VerificationPolicy(["ES256"], AUD)  # type: ignore[misc]


def test_should_be_frozen() -> None:
    p = _build()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.leeway = 0  # type: ignore[misc]


def test_should_trust_several_issuers_each_with_its_own_key_set() -> None:
    p = _build(issuer=_UNSET, keys=_UNSET, issuers={ISS: ES_KEYS, "https://b.example": ES_KEYS})
    assert set(p.key_sources) == {ISS, "https://b.example"}


def test_should_accept_a_key_set_with_extra_keys_for_other_algorithms() -> None:
    mixed = KeySet([key_for("ES256").public_key(), key_for("RS256").public_key()])
    assert _build(keys=mixed).allowed_algorithms == frozenset({"ES256"})


def test_should_normalise_typ_to_a_media_type() -> None:
    assert _build(typ="AT+JWT").expected_typs == frozenset({"application/at+jwt"})


def test_should_keep_the_clock_it_was_given() -> None:
    clock = FixedClock(NOW)
    assert _build(clock=clock).clock is clock


def test_should_not_show_key_material_in_its_repr() -> None:
    hs = key_for("HS256")
    p = _build(algorithms=["HS256"], keys=HS_KEYS)
    assert repr(p).startswith("VerificationPolicy(algorithms=['HS256'], ")
    assert f"keys={HS_KEYS!r}" in repr(p) and hs.kid in repr(HS_KEYS)  # the key is named
    assert hs.export_private_jwk()["k"] not in repr(p)
