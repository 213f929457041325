"""The sealed cookie (AES-GCM, HKDF keys, rotation, the name as associated data, the expiry
inside), the CSRF checks, and the settings that can never be safe."""

from __future__ import annotations

import pytest

from jwtwarden import FixedClock
from jwtwarden.errors import CSRFError, SessionTooLargeError
from jwtwarden.webapp import CookieSealer, CSRFProtection, WebAppSettings, WebSession

NEW = "n" * 32
OLD = "o" * 32
NAME = "__Host-jwtwarden-session"


def test_should_open_what_it_sealed():
    sealer = CookieSealer(NEW)
    value = sealer.seal(NAME, {"sub": "alice", "n": [1, 2]}, max_age=60)
    assert sealer.open(NAME, value) == {"sub": "alice", "n": [1, 2]}
    assert "alice" not in value


def test_should_refuse_every_single_tampered_character():
    sealer = CookieSealer(NEW)
    value = sealer.seal(NAME, {"sub": "alice"}, max_age=60)
    for i in range(3, len(value)):
        swapped = "A" if value[i] != "A" else "B"
        assert sealer.open(NAME, value[:i] + swapped + value[i + 1 :]) is None, i


def test_should_refuse_a_value_sealed_for_another_cookie_name():
    sealer = CookieSealer(NEW)
    value = sealer.seal("__Host-jwtwarden-signin-abc", {"sub": "alice"}, max_age=60)
    assert sealer.open(NAME, value) is None


def test_should_seal_with_the_newest_secret_and_open_with_any():
    old_value = CookieSealer(OLD).seal(NAME, {"v": "old"}, max_age=60)
    rotated = CookieSealer([NEW, OLD])
    assert rotated.open(NAME, old_value) == {"v": "old"}
    new_value = rotated.seal(NAME, {"v": "new"}, max_age=60)
    assert CookieSealer(NEW).open(NAME, new_value) == {"v": "new"}
    assert CookieSealer(OLD).open(NAME, new_value) is None
    assert CookieSealer([NEW]).open(NAME, old_value) is None  # the old secret retired


def test_should_refuse_a_value_past_the_expiry_sealed_inside():
    clock = FixedClock(1_000_000)
    sealer = CookieSealer(NEW, clock=clock)
    value = sealer.seal(NAME, {"sub": "alice"}, max_age=60)
    clock.advance(59)
    assert sealer.open(NAME, value) == {"sub": "alice"}
    clock.advance(1)
    assert sealer.open(NAME, value) is None


@pytest.mark.parametrize(
    "value", [None, "", "v1.", "v2.abc", "v1.@@@", "v1." + "A" * 10, "x" * 5000]
)
def test_should_open_foreign_values_as_no_session(value):
    assert CookieSealer(NEW).open(NAME, value) is None


def test_should_refuse_to_seal_more_than_a_cookie_holds():
    with pytest.raises(SessionTooLargeError, match="server-side session store"):
        CookieSealer(NEW).seal(NAME, {"claims": "x" * 3500}, max_age=60)


@pytest.mark.parametrize("secrets", ["short", b"x" * 31, [NEW, "short"], []])
def test_should_refuse_secrets_shorter_than_32_bytes(secrets):
    with pytest.raises(ValueError, match=r"32 bytes|at least one"):
        CookieSealer(secrets)


def test_should_round_trip_a_session_and_keep_tokens_out_of_its_repr():
    session = WebSession.new(
        claims={"sub": "alice", "email": "a@example.test"},
        access_token="AT-secret",
        access_expires_at=123.0,
        refresh_token="RT-secret",
        id_token="ID-secret",
        now=100.0,
    )
    assert WebSession.from_payload(session.to_payload()) == session
    assert "secret" not in repr(session)
    assert WebSession.from_payload({"i": "x"}) is None


ORIGIN = "https://app.example"


def test_should_accept_the_token_of_the_session_from_the_same_origin():
    csrf = CSRFProtection([NEW], ORIGIN)
    token = csrf.token("sid-1")
    assert token != csrf.token("sid-2")
    assert csrf.check("sid-1", token, ORIGIN, None) is None
    assert csrf.check("sid-1", token, None, ORIGIN + "/me") is None  # no Origin, a Referer
    # A token issued before a secret rotation still passes.
    assert CSRFProtection([OLD, NEW], ORIGIN).check("sid-1", token, ORIGIN, None) is None


@pytest.mark.parametrize(
    ("origin", "referer", "why"),
    [
        ("https://evil.example", None, "another origin"),
        ("null", None, "another origin"),
        ("http://app.example", None, "another origin"),  # the scheme is part of the origin
        (None, None, "neither Origin"),
        (None, "https://evil.example/app.example", "neither Origin"),
    ],
)
def test_should_refuse_a_request_from_elsewhere(origin, referer, why):
    csrf = CSRFProtection([NEW], ORIGIN)
    with pytest.raises(CSRFError, match=why):
        csrf.check("sid-1", csrf.token("sid-1"), origin, referer)


@pytest.mark.parametrize("token", [None, "", "guessed", "x" * 500])
def test_should_refuse_a_missing_or_wrong_token(token):
    with pytest.raises(CSRFError, match="no valid CSRF token"):
        CSRFProtection([NEW], ORIGIN).check("sid-1", token, ORIGIN, None)


def test_should_refuse_the_token_of_another_session():
    csrf = CSRFProtection([NEW], ORIGIN)
    with pytest.raises(CSRFError):
        csrf.check("sid-2", csrf.token("sid-1"), ORIGIN, None)


def _settings(**changes):
    values = {
        "issuer": "https://id.example",
        "client_id": "app",
        "client_secret": "s3cret-value",
        "base_url": "https://app.example",
        "session_secrets": [NEW],
        **changes,
    }
    return WebAppSettings(**values)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"base_url": "http://app.example"}, "https"),
        ({"issuer": "http://127.0.0.1:9000"}, "https"),  # loopback http needs the switch
        ({"session_secrets": ["short"]}, "32 bytes"),
        ({"scopes": ["email"]}, "openid"),
        ({"algorithms": ["HS256"]}, "HMAC"),
        ({"algorithms": ["none"]}, "none"),
        ({"refresh_margin": 3600}, "refresh_margin"),
        ({"login_path": "//evil.example"}, "login_path"),
        ({"base_url": "https://app.example/?next=x"}, "query"),
    ],
)
def test_should_refuse_settings_that_cannot_be_safe(changes, match):
    with pytest.raises(ValueError, match=match):
        _settings(**changes)


def test_should_allow_loopback_http_only_with_the_development_switch():
    settings = _settings(
        issuer="http://127.0.0.1:9000", base_url="http://127.0.0.1:5000/", allow_loopback_http=True
    )
    assert settings.redirect_uri == "http://127.0.0.1:5000/callback"
    assert "s3cret" not in repr(settings) and NEW not in repr(settings)
