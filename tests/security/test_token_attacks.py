"""Hostile tokens against the verifier: each test names the attack and asserts the refusal code.

The signatures verify (``forge`` signs whatever bytes it is given with the trusted key), so a
refusal comes from the rule under test, not from a broken signature.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from jwtwarden.errors import (
    AlgorithmNotAllowedError,
    InvalidTokenError,
    MalformedTokenError,
    UnknownKeyError,
)
from tests._verify_support import AUD, ISS, NOW, access_claims, b64, forge, key_for, verifier

ES = "ES256"


def _payload_with(raw_member: str) -> bytes:
    """The valid claim set plus one member written as raw JSON text (escapes kept as given)."""
    text = json.dumps(access_claims())
    return (text[:-1] + ", " + raw_member + "}").encode()


@pytest.mark.parametrize(
    "member",
    [
        '"sub2": "\\ud800"',  # lone high surrogate
        '"x": "a\\udfffb"',  # lone low surrogate
        '"\\ud83d": 1',  # as a member name
        '"x": ["ok", {"y": "\\uDC00"}]',  # nested, upper-case hex
        '"x": "\\ude00\\ud83d"',  # a pair in the wrong order is two lone surrogates
    ],
)
def test_should_refuse_claims_holding_lone_surrogates_that_no_application_can_encode(
    member: str,
) -> None:
    # RFC 7493 2.1 (I-JSON): such strings are not Unicode; accepted, they crash the
    # application's first .encode() (a database write, a log line) instead of the verifier.
    key = key_for(ES)
    token = forge({"alg": ES}, _payload_with(member), key)
    with pytest.raises(MalformedTokenError, match="surrogate"):
        verifier(key).verify(token)


def test_should_refuse_a_header_holding_a_lone_surrogate() -> None:
    key = key_for(ES)
    token = forge(b'{"alg":"ES256","kid":"ES256-k1","typ":"\\ud800"}', access_claims(), key)
    with pytest.raises(MalformedTokenError):
        verifier(key).verify(token)


def test_should_accept_a_proper_surrogate_pair_and_an_escaped_backslash_u() -> None:
    # The control: an emoji written as an escaped pair, and the text "\ud800" (escaped backslash)
    # are fine Unicode and must still verify.
    key = key_for(ES)
    token = forge({"alg": ES}, _payload_with('"x": "\\ud83d\\ude00", "y": "\\\\ud800"'), key)
    claims = verifier(key).verify(token).claims
    assert claims["x"] == "\U0001f600" and claims["y"] == "\\ud800"


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ({"alg": "HS256"}, AlgorithmNotAllowedError),  # RS/ES -> HS confusion
        ({"alg": "es256"}, AlgorithmNotAllowedError),
        ({"alg": ["ES256"]}, MalformedTokenError),  # RFC 7515 4.1.1: a string
        ({"alg": {"ES256": True}}, MalformedTokenError),
        ({"alg": "ES256", "kid": "../../../dev/null"}, UnknownKeyError),
        ({"alg": "ES256", "kid": "' OR '1'='1"}, UnknownKeyError),
        ({"alg": "ES256", "kid": "ES256-k1\x00"}, UnknownKeyError),
        ({"alg": "ES256", "kid": "k" * 300}, MalformedTokenError),
        ({"alg": "ES256", "kid": "ES384-k1"}, AlgorithmNotAllowedError),
    ],
)
def test_should_refuse_algorithm_confusion_and_kid_injection(
    header: dict[str, Any], error: type[InvalidTokenError]
) -> None:
    es256, es384 = key_for(ES), key_for("ES384")
    token = forge(header, access_claims(), es256)
    with pytest.raises(error):
        verifier(es256, es384).verify(token)


@pytest.mark.parametrize(
    "token",
    [
        b"\xef\xbb\xbf" + b'{"alg":"ES256"}',  # UTF-8 BOM
        '{"alg":"ES256"}'.encode("utf-16"),
        '{"alg":"ES256"}'.encode("utf-32"),
        b'{"alg":"ES256","x":"\xc0\xaf"}',  # overlong UTF-8
        b'{"alg":"ES256","\\u0061lg":"none"}',  # escaped duplicate of "alg"
    ],
)
def test_should_refuse_header_encodings_that_other_parsers_read_differently(token: bytes) -> None:
    key = key_for(ES)
    with pytest.raises(MalformedTokenError):
        verifier(key).verify(forge(token, access_claims(), key))


@pytest.mark.parametrize("exp", ["1e309", "-1e309", "true", '"1900000000"', "null", "[1]"])
def test_should_refuse_exp_values_that_are_not_finite_json_numbers(exp: str) -> None:
    key = key_for(ES)
    text = json.dumps(access_claims(exp=None))
    payload = text.replace('"exp": null', '"exp": ' + exp).encode()
    with pytest.raises(InvalidTokenError):
        verifier(key).verify(forge({"alg": ES}, payload, key))


def test_should_refuse_a_psychic_signature_r_equals_s_equals_zero() -> None:
    # CVE-2022-21449: ECDSA verification that accepts (r, s) = (0, 0).
    key = key_for(ES)
    good = forge({"alg": ES}, access_claims(), key)
    with pytest.raises(InvalidTokenError):
        verifier(key).verify(good.rsplit(".", 1)[0] + "." + b64(bytes(64)))


@pytest.mark.parametrize("sep", ["\u3002", "\uff0e", "\u2024", "\ufe52"])
def test_should_refuse_unicode_dots_between_segments(sep: str) -> None:
    key = key_for(ES)
    good = forge({"alg": ES}, access_claims(iss=ISS, aud=AUD, exp=NOW + 60), key)
    with pytest.raises(MalformedTokenError):
        verifier(key).verify(good.replace(".", sep, 1))
