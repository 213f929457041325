"""The verified-token cache is on by default in every integration (issue 6), can be sized,
shared or turned off, and a hit is refused through the framework exactly when a cold verify
would be: a token revoked or expired after it was cached gets the same 401."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from flask import Flask, g
from starlette.requests import Request
from starlette.responses import JSONResponse

from jwtwarden import CachedVerifier, FixedClock, VerifiedToken, Verifier
from jwtwarden.integrations import fastapi as jw_fastapi
from jwtwarden.integrations import flask as jw_flask
from jwtwarden.integrations._bearer import with_cache
from jwtwarden.integrations.starlette import BearerAuthMiddleware, BearerTokenBackend
from jwtwarden.keys.key import Key

from ._apps import Call, _asgi_caller, _flask_caller
from .conftest import Mint, build_verifier

InUse = Callable[[], Any]
FRAMEWORKS = ("fastapi", "starlette", "flask")


def _fastapi(verifier: Any, **options: Any) -> tuple[Call, InUse]:
    app = FastAPI()
    dependency = jw_fastapi.require_token(verifier, **options)

    @app.get("/open")
    async def get_open(token: VerifiedToken = Depends(dependency)) -> dict[str, Any]:
        return {"sub": token.claims["sub"]}

    return _asgi_caller(app), lambda: dependency.verifier  # type: ignore[attr-defined]


def _starlette(verifier: Any, **options: Any) -> tuple[Call, InUse]:
    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        await JSONResponse({"sub": request.user.claims["sub"]})(scope, receive, send)

    guarded = BearerAuthMiddleware(endpoint, verifier, **options)
    return _asgi_caller(guarded), lambda: guarded.verifier


def _flask(verifier: Any, **options: Any) -> tuple[Call, InUse]:
    app = Flask(__name__)
    extension = jw_flask.JWTWarden(app, verifier, **options)

    @app.get("/open")
    @jw_flask.require_token
    def get_open() -> dict[str, Any]:
        return {"sub": g.claims["sub"]}

    return _flask_caller(app), lambda: extension.verifier


BUILD: dict[str, Callable[..., tuple[Call, InUse]]] = {
    "fastapi": _fastapi,
    "starlette": _starlette,
    "flask": _flask,
}


def _bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_should_answer_a_repeated_token_from_the_cache_by_default(
    framework: str, verifier: Verifier, mint: Mint
) -> None:
    call, in_use = BUILD[framework](verifier)
    token = mint()
    for _ in range(2):
        status, _, body = call("/open", _bearer(token))
        assert (status, body) == (200, {"sub": "user-1"})
    cached = in_use()
    assert isinstance(cached, CachedVerifier) and cached.verifier is verifier
    assert (cached.stats.misses, cached.stats.hits, cached.stats.entries) == (1, 1, 1)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_should_verify_with_the_plain_verifier_when_the_cache_is_off(
    framework: str, verifier: Verifier, mint: Mint
) -> None:
    call, in_use = BUILD[framework](verifier, cache=False)
    for _ in range(2):
        assert call("/open", _bearer(mint()))[0] == 200
    assert in_use() is verifier


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_should_size_the_cache_or_use_the_one_given(framework: str, verifier: Verifier) -> None:
    _, sized = BUILD[framework](verifier, cache=5)
    assert isinstance(sized(), CachedVerifier) and sized().stats.max_entries == 5
    mine = CachedVerifier(verifier, max_entries=7)
    _, given = BUILD[framework](mine)
    assert given() is mine
    _, as_option = BUILD[framework](verifier, cache=mine)
    assert as_option() is mine


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_should_refuse_a_token_revoked_after_it_was_cached(
    framework: str, key: Key, clock: FixedClock, mint: Mint
) -> None:
    revoked: set[str] = set()
    verifier = build_verifier(key, clock, checks=(lambda t: t.claims["jti"] not in revoked,))
    call, in_use = BUILD[framework](verifier)
    token = mint()
    assert call("/open", _bearer(token))[0] == 200
    assert call("/open", _bearer(token))[0] == 200
    revoked.add("j-1800000000")
    status, headers, _ = call("/open", _bearer(token))
    assert status == 401 and 'error="invalid_token"' in headers["www-authenticate"]
    assert in_use().stats.hits == 2  # refused on a hit: the hook ran without a cold verify


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_should_refuse_a_token_that_expired_while_cached(
    framework: str, verifier: Verifier, clock: FixedClock, mint: Mint
) -> None:
    call, in_use = BUILD[framework](verifier)
    token = mint(lifetime=60)
    assert call("/open", _bearer(token))[0] == 200
    clock.advance(60 + 30)  # exp plus the policy's 30 s leeway: expired from that second on
    status, headers, _ = call("/open", _bearer(token))
    assert status == 401 and 'error="invalid_token"' in headers["www-authenticate"]
    assert in_use().stats.hits == 1


def test_should_refuse_contradictory_or_unknown_cache_options(key: Key, clock: FixedClock) -> None:
    verifier = build_verifier(key, clock)
    cached = CachedVerifier(verifier)
    with pytest.raises(ValueError, match="cache=False"):
        with_cache(cached, False)
    with pytest.raises(ValueError, match="own size"):
        with_cache(cached, 100)
    with pytest.raises(ValueError, match="positive"):
        with_cache(verifier, 0)
    with pytest.raises(ValueError, match="another verifier"):
        with_cache(verifier, CachedVerifier(build_verifier(key, clock)))
    with pytest.raises(TypeError, match="cache must be"):
        with_cache(verifier, "yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        BearerTokenBackend(object())


def test_should_use_a_verifier_of_the_callers_own_as_is(key: Key, clock: FixedClock) -> None:
    class Audited(Verifier):
        """A subclass: a cache hit would skip its override, so it is not wrapped."""

    audited = Audited(build_verifier(key, clock).policy)
    assert with_cache(audited) is audited

    class Wrapper:
        def verify(self, token: str | bytes) -> VerifiedToken:
            raise NotImplementedError

        async def verify_async(self, token: str | bytes) -> VerifiedToken:
            raise NotImplementedError

    wrapper = Wrapper()
    assert with_cache(wrapper) is wrapper
    with pytest.raises(ValueError, match="only a Verifier"):
        with_cache(wrapper, 10)


class _NotCallable:
    verify = "not a method"
    verify_async = "not a method"


class _SyncOnly:
    def verify(self, token: str | bytes) -> VerifiedToken:
        raise AssertionError("never called")


NOT_VERIFIERS = [
    pytest.param(object(), id="an object with neither method"),
    pytest.param(_SyncOnly(), id="an object without verify_async"),
    pytest.param(_NotCallable(), id="an object whose verify and verify_async are not callable"),
]
SETUPS = [
    pytest.param(lambda v: BearerTokenBackend(v), id="starlette backend"),
    pytest.param(lambda v: BearerAuthMiddleware(JSONResponse({}), v), id="starlette middleware"),
    pytest.param(lambda v: jw_fastapi.require_token(v), id="fastapi dependency"),
    pytest.param(lambda v: jw_flask.JWTWarden(Flask(__name__), v), id="flask extension"),
    pytest.param(lambda v: with_cache(v, False), id="with_cache"),
]


@pytest.mark.parametrize("setup", SETUPS)
@pytest.mark.parametrize("candidate", NOT_VERIFIERS)
def test_should_refuse_at_setup_an_object_that_is_not_a_token_verifier(
    setup: Callable[[Any], object], candidate: object
) -> None:
    with pytest.raises(TypeError, match=r"verify\(\) and verify_async\(\)"):
        setup(candidate)
