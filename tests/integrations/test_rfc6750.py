"""RFC 6750 answers, identical in FastAPI, Starlette and Flask, through real request handling."""

from __future__ import annotations

from typing import Any

import pytest

from jwtwarden import FixedClock, Verifier, generate_key
from jwtwarden.cache import CachedVerifier
from jwtwarden.errors import RevocationUnavailableError, RevokedTokenError
from jwtwarden.keys.key import Key

from ._apps import BUILDERS, error_of
from .conftest import Mint, build_verifier

FRAMEWORKS = sorted(BUILDERS)
CHALLENGE = 'Bearer realm="api"'
INVALID = 'Bearer realm="api", error="invalid_token"'
GENERIC = {"error": "invalid_token", "error_description": "The access token is not valid."}


def _bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_should_hand_the_endpoint_the_verified_claims(
    framework: str, verifier: Verifier, mint: Mint
):
    call = BUILDERS[framework](verifier)
    status, _, body = call("/items", _bearer(mint(scope="items:read other")))
    assert (status, body["sub"]) == (200, "user-1")
    status, _, body = call("/items", [("Authorization", f"bearer {mint(scp=['items:read'])}")])
    assert (status, body["sub"]) == (200, "user-1")


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("headers", [[], [("Authorization", "Basic dXNlcjpwdw==")]])
def test_should_challenge_a_request_without_bearer_credentials_without_an_error_code(
    framework: str, verifier: Verifier, headers: list[tuple[str, str]]
):
    status, response_headers, _ = BUILDERS[framework](verifier)("/items", headers)
    assert status == 401
    assert response_headers["www-authenticate"] == CHALLENGE


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    "headers",
    [
        [("Authorization", "Bearer")],
        [("Authorization", "Bearer a b")],
        [("Authorization", "Bearer a,b")],
        [("Authorization", 'Bearer "quoted"')],
        [("Authorization", "Bearer x"), ("Authorization", "Bearer y")],
    ],
)
def test_should_answer_400_invalid_request_to_a_malformed_authorization_header(
    framework: str, verifier: Verifier, headers: list[tuple[str, str]]
):
    status, response_headers, body = BUILDERS[framework](verifier)("/items", headers)
    assert status == 400
    assert response_headers["www-authenticate"] == 'Bearer realm="api", error="invalid_request"'
    assert error_of(framework, body)["error"] == "invalid_request"


def _refused_tokens(mint: Mint, clock: FixedClock) -> dict[str, str]:
    other = generate_key("ES256", kid="it-1")
    return {
        "garbage": "not-a-jwt",
        "expired": mint(lifetime=-3600),
        "wrong audience": mint(aud="https://other.example"),
        "wrong issuer": mint(iss="https://evil.example"),
        "forged signature": mint(signer=other),
        "id token as access token": mint(nonce="n"),
    }


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_should_answer_every_refused_token_with_the_same_generic_401(
    framework: str, verifier: Verifier, mint: Mint, clock: FixedClock
):
    call = BUILDERS[framework](verifier)
    for reason, token in _refused_tokens(mint, clock).items():
        status, headers, body = call("/items", _bearer(token))
        assert status == 401, reason
        assert headers["www-authenticate"] == INVALID, reason
        assert error_of(framework, body) == GENERIC, reason  # nothing about *why*


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_should_answer_403_insufficient_scope_naming_the_scope(
    framework: str, verifier: Verifier, mint: Mint
):
    call = BUILDERS[framework](verifier)
    # {"scope": ["items:read"]} is no longer here: a scope that is not a string is an
    # invalid_claim (401) since RFC 8693 4.2 makes it one (test_verify_registered_types).
    for claims in ({}, {"scope": "items:write"}, {"scp": "items:write"}):
        status, headers, body = call("/items", _bearer(mint(**claims)))
        assert status == 403, claims
        assert headers["www-authenticate"] == (
            'Bearer realm="api", error="insufficient_scope", scope="items:read"'
        )
        assert error_of(framework, body)["error"] == "insufficient_scope"
    status, _, _ = call("/open", _bearer(mint()))
    assert status == 200  # no scope needed there


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_should_refuse_a_revoked_token_with_401_and_answer_503_when_the_check_is_down(
    framework: str, key: Key, clock: FixedClock, mint: Mint
):
    def revoked(token: Any) -> None:
        raise RevokedTokenError("the token is on the denylist")

    def down(token: Any) -> None:
        raise RevocationUnavailableError("redis is down")

    status, headers, _ = BUILDERS[framework](build_verifier(key, clock, checks=(revoked,)))(
        "/open", _bearer(mint())
    )
    assert (status, headers["www-authenticate"]) == (401, INVALID)
    status, headers, body = BUILDERS[framework](build_verifier(key, clock, checks=(down,)))(
        "/open", _bearer(mint())
    )
    assert status == 503
    assert "www-authenticate" not in headers
    assert "redis" not in str(body)


async def _async_hook(token: Any) -> None:
    raise RevokedTokenError("revoked (async hook)")


@pytest.mark.parametrize("framework", ["fastapi", "starlette"])
def test_should_await_async_hooks_in_async_frameworks(
    framework: str, key: Key, clock: FixedClock, mint: Mint
):
    call = BUILDERS[framework](build_verifier(key, clock, checks=(_async_hook,)))
    assert call("/open", _bearer(mint()))[0] == 401


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_should_accept_a_cached_verifier(framework: str, verifier: Verifier, mint: Mint):
    cached = CachedVerifier(verifier)
    call = BUILDERS[framework](cached)
    token = mint(scope="items:read")
    assert call("/items", _bearer(token))[0] == 200
    assert call("/items", _bearer(token))[0] == 200
    assert cached.stats.hits == 1
