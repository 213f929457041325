"""RemoteJWKS against a real server on 127.0.0.1: cache, cooldown, single flight, staleness.

Requests are counted at the server; time is a FixedClock shared by the verifier and the source.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from jwtwarden import FixedClock, VerificationPolicy, Verifier
from jwtwarden._jose.b64 import b64url_encode
from jwtwarden._jose.sign import sign_compact
from jwtwarden.errors import JWKSFetchError, UnknownKeyError
from jwtwarden.jwks import RemoteJWKS
from jwtwarden.keys.key import Key

from ._servers import CountingServer, Route, unsigned_token, wait_until
from .conftest import ISSUER


def _jwks(server: CountingServer, clock: FixedClock, **options: Any) -> RemoteJWKS:
    return RemoteJWKS(server.url("/jwks"), allow_loopback_http=True, clock=clock, **options)


def _verifier(jwks: RemoteJWKS, clock: FixedClock) -> Verifier:
    return Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"], issuer=ISSUER, audience="api", keys=jwks, clock=clock
        )
    )


def _claims(clock: FixedClock) -> dict[str, Any]:
    now = int(clock.now())
    return {
        "iss": ISSUER,
        "aud": "api",
        "sub": "u1",
        "iat": now,
        "exp": now + 3600,
        "jti": "j",
        "client_id": "client-1",
    }


def _token(key: Key, clock: FixedClock) -> str:
    return sign_compact({"typ": "at+jwt"}, _claims(clock), key)


def _random_kid_tokens(clock: FixedClock, count: int) -> list[str]:
    header = {"alg": "ES256", "typ": "at+jwt"}
    return [
        unsigned_token({**header, "kid": secrets.token_hex(8)}, _claims(clock))
        for _ in range(count)
    ]


def test_should_fetch_once_and_serve_every_token_from_the_cache_while_fresh(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock)
    verifier = _verifier(jwks, clock)
    token = _token(signing_key, clock)
    for _ in range(100):
        assert verifier.verify(token).claims["sub"] == "u1"
    clock.advance(599)  # the default freshness is 10 minutes
    verifier.verify(token)
    assert server.counts["/jwks"] == 1
    assert (jwks.fetches, jwks.failures, jwks.refusals) == (1, 0, 0)


@pytest.mark.parametrize(
    ("cache_control", "fresh_for"),
    [
        ("max-age=120", 120),
        ("public, max-age=5", 60),
        ("max-age=999999999", 86400),
        ("no-store", 60),
        ("max-age=junk", 600),
    ],
)
def test_should_honour_max_age_clamped_into_the_configured_bounds(
    server: CountingServer,
    clock: FixedClock,
    signing_key: Key,
    cache_control: str,
    fresh_for: int,
):
    server.serve_keys("/jwks", [signing_key], **{"Cache-Control": cache_control})
    jwks = _jwks(server, clock)
    jwks.select("k1", "ES256")
    clock.advance(fresh_for - 1)
    jwks.select("k1", "ES256")
    assert server.counts["/jwks"] == 1
    clock.advance(1)
    jwks.select("k1", "ES256")  # stale now: served, and refreshed in the background
    wait_until(lambda: server.counts["/jwks"] == 2 and jwks.keys is not None, "the refresh")


def test_should_serve_the_stale_set_at_once_while_refreshing_in_a_background_thread(
    server: CountingServer, clock: FixedClock, signing_key: Key, next_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock)
    assert jwks.select("k1", "ES256").kid == "k1"
    server.serve_keys("/jwks", [signing_key, next_key])
    server.gate = threading.Event()  # the refresh is held at the server...
    clock.advance(601)
    assert jwks.select("k1", "ES256").kid == "k1"  # ...and the caller did not wait for it
    wait_until(lambda: server.counts["/jwks"] == 2, "the background request")
    assert jwks.keys is not None and "k2" not in jwks.keys
    server.gate.set()
    wait_until(lambda: jwks.keys is not None and "k2" in jwks.keys, "the refreshed set")
    assert jwks.select("k2", "ES256").kid == "k2"
    assert server.counts["/jwks"] == 2


async def test_should_serve_the_stale_set_at_once_while_refreshing_in_a_background_task(
    server: CountingServer, clock: FixedClock, signing_key: Key, next_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock)
    assert (await jwks.aselect("k1", "ES256")).kid == "k1"
    server.serve_keys("/jwks", [signing_key, next_key])
    server.gate = threading.Event()
    clock.advance(601)
    assert (await jwks.aselect("k1", "ES256")).kid == "k1"
    await asyncio.to_thread(wait_until, lambda: server.counts["/jwks"] == 2, "the request")
    server.gate.set()
    await jwks.aclose()  # waits for the background task
    assert (await jwks.aselect("k2", "ES256")).kid == "k2"
    assert server.counts["/jwks"] == 2


def test_should_refetch_for_an_unknown_kid_only_after_the_cooldown(
    server: CountingServer, clock: FixedClock, signing_key: Key, next_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock)
    verifier = _verifier(jwks, clock)
    verifier.verify(_token(signing_key, clock))
    server.serve_keys("/jwks", [signing_key, next_key])  # the issuer rotates
    with pytest.raises(UnknownKeyError):
        verifier.verify(_token(next_key, clock))  # within the cooldown of the first fetch
    assert server.counts["/jwks"] == 1
    clock.advance(30)
    assert verifier.verify(_token(next_key, clock)).key.kid == "k2"
    assert server.counts["/jwks"] == 2


def test_should_refetch_at_most_once_per_cooldown_for_a_burst_of_1000_random_kids(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock)
    verifier = _verifier(jwks, clock)

    def burst() -> None:
        for token in _random_kid_tokens(clock, 1000):
            with pytest.raises(UnknownKeyError):
                verifier.verify(token)

    burst()
    assert server.counts["/jwks"] == 1  # the first fetch; every refetch is inside its cooldown
    clock.advance(31)
    burst()
    assert server.counts["/jwks"] == 2  # one refetch for the whole burst
    clock.advance(29)
    burst()
    assert server.counts["/jwks"] == 2
    clock.advance(1)
    burst()
    assert server.counts["/jwks"] == 3
    assert verifier.verify(_token(signing_key, clock)).key.kid == "k1"


async def test_should_refetch_at_most_once_per_cooldown_for_1000_random_kids_in_async_code(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock)
    verifier = _verifier(jwks, clock)

    async def one(token: str) -> None:
        with pytest.raises(UnknownKeyError):
            await verifier.verify_async(token)

    await asyncio.gather(*(one(t) for t in _random_kid_tokens(clock, 1000)))
    assert server.counts["/jwks"] == 1
    clock.advance(31)
    await asyncio.gather(*(one(t) for t in _random_kid_tokens(clock, 1000)))
    assert server.counts["/jwks"] == 2


def _release_when(jwks: RemoteJWKS, server: CountingServer, waiters: int) -> threading.Thread:
    def release() -> None:
        try:
            wait_until(lambda: jwks.coalesced >= waiters, f"{waiters} joined callers")
        finally:
            assert server.gate is not None
            server.gate.set()

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


def test_should_share_one_request_among_20_threads_looking_up_an_unknown_kid(
    server: CountingServer, clock: FixedClock, signing_key: Key, next_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock, cooldown=0)  # no cooldown: only single flight limits fetches
    jwks.select("k1", "ES256")
    server.serve_keys("/jwks", [signing_key, next_key])
    server.gate = threading.Event()
    release = _release_when(jwks, server, 19)
    results: list[str] = []
    barrier = threading.Barrier(20)

    def lookup() -> None:
        barrier.wait()
        results.append(jwks.select("k2", "ES256").kid)

    threads = [threading.Thread(target=lookup) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    release.join(30)
    assert results == ["k2"] * 20
    assert server.counts["/jwks"] == 2  # the first fetch, and one shared refetch
    assert jwks.coalesced >= 19


async def test_should_share_one_request_among_20_tasks_looking_up_an_unknown_kid(
    server: CountingServer, clock: FixedClock, signing_key: Key, next_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock, cooldown=0)
    await jwks.aselect("k1", "ES256")
    server.serve_keys("/jwks", [signing_key, next_key])
    server.gate = threading.Event()
    release = _release_when(jwks, server, 19)
    keys = await asyncio.gather(*(jwks.aselect("k2", "ES256") for _ in range(20)))
    release.join(30)
    assert [k.kid for k in keys] == ["k2"] * 20
    assert server.counts["/jwks"] == 2


def test_should_share_the_first_fetch_between_threads_and_tasks(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock, cooldown=0)
    server.gate = threading.Event()
    release = _release_when(jwks, server, 19)
    kids: list[str] = []

    def in_thread() -> None:
        kids.append(jwks.select("k1", "ES256").kid)

    async def in_tasks() -> None:
        keys = await asyncio.gather(*(jwks.aselect("k1", "ES256") for _ in range(10)))
        kids.extend(k.kid for k in keys)

    threads = [threading.Thread(target=in_thread) for _ in range(10)]
    for t in threads:
        t.start()
    asyncio.run(in_tasks())
    for t in threads:
        t.join(30)
    release.join(30)
    assert kids == ["k1"] * 20
    assert server.counts["/jwks"] == 1


def test_should_keep_serving_the_last_good_set_while_the_issuer_is_down_up_to_max_stale(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock, max_stale=3600)
    verifier = _verifier(jwks, clock)
    verifier.verify(_token(signing_key, clock))
    server.routes["/jwks"] = Route(503, b"down")
    clock.advance(601)
    assert verifier.verify(_token(signing_key, clock)).key.kid == "k1"
    wait_until(lambda: jwks.failures == 1, "the failed background refresh")
    clock.advance(3598)  # one second before max_stale runs out
    assert verifier.verify(_token(signing_key, clock)).key.kid == "k1"
    wait_until(lambda: jwks.failures == 2, "the second failed refresh")
    clock.advance(2)  # past max_stale, and inside the cooldown of the last attempt
    with pytest.raises(JWKSFetchError, match=r"HTTP 503.*cooldown"):
        verifier.verify(_token(signing_key, clock))
    assert server.counts["/jwks"] == 3
    clock.advance(30)
    with pytest.raises(JWKSFetchError, match="HTTP 503"):
        verifier.verify(_token(signing_key, clock))  # a fresh attempt, which fails
    with pytest.raises(JWKSFetchError, match="cooldown"):
        verifier.verify(_token(signing_key, clock))  # and no new request inside the cooldown
    assert server.counts["/jwks"] == 4
    server.serve_keys("/jwks", [signing_key])
    clock.advance(30)
    assert verifier.verify(_token(signing_key, clock)).key.kid == "k1"
    assert server.counts["/jwks"] == 5


def test_should_fail_clearly_when_the_first_fetch_fails_and_not_retry_inside_the_cooldown(
    server: CountingServer, clock: FixedClock
):
    server.routes["/jwks"] = Route(500, b"oops")
    jwks = _jwks(server, clock)
    with pytest.raises(JWKSFetchError, match="HTTP 500"):
        jwks.select("k1", "ES256")
    with pytest.raises(JWKSFetchError, match="cooldown"):
        jwks.select("k1", "ES256")
    assert server.counts["/jwks"] == 1
    assert (jwks.fetches, jwks.failures) == (1, 1)


def _weak_rsa_jwk() -> dict[str, Any]:
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    n, e = numbers.public_numbers().n, numbers.public_numbers().e

    def b64(value: int) -> str:
        return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "n": b64(n), "e": b64(e), "kid": "weak", "alg": "RS256"}


def test_should_drop_refused_keys_with_a_count_and_keep_the_rest_of_the_set(
    server: CountingServer, clock: FixedClock, signing_key: Key, caplog: pytest.LogCaptureFixture
):
    good = signing_key.public_jwk()
    no_alg = {k: v for k, v in signing_key.public_jwk().items() if k != "alg"}
    server.serve_json(
        "/jwks",
        {
            "keys": [
                _weak_rsa_jwk(),
                {
                    "kty": "oct",
                    "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA",
                    "alg": "HS256",
                },
                {**good, "kid": "enc", "use": "enc"},
                {**no_alg, "kid": "noalg"},
                {"kty": "FUTURE", "kid": "new"},
                good,
            ]
        },
    )
    jwks = _jwks(server, clock)
    with caplog.at_level("WARNING", logger="jwtwarden.jwks"):
        assert jwks.select("k1", "ES256").kid == "k1"
    assert jwks.dropped_keys == 5
    assert jwks.keys is not None and list(jwks.keys.algorithms) == ["ES256"]
    assert sum("dropped key" in r.getMessage() for r in caplog.records) == 5
    assert "c2VjcmV0" not in caplog.text  # the secret never reaches the log


def test_should_use_the_configured_algorithm_for_keys_without_alg(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    no_alg = {k: v for k, v in signing_key.public_jwk().items() if k != "alg"}
    server.serve_json("/jwks", {"keys": [no_alg]})
    jwks = _jwks(server, clock, algorithm="ES256")
    assert jwks.select("k1", "ES256").alg == "ES256"
    assert jwks.dropped_keys == 0


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (lambda k: {"keys": [k, k]}, "two keys share"),
        (lambda k: {"keys": []}, "no usable"),
        (lambda k: {"nokeys": True}, "no 'keys'"),
        (lambda k: [k], "not a JSON object"),
    ],
)
def test_should_refuse_an_ambiguous_or_empty_document_as_a_whole_and_keep_the_old_set(
    server: CountingServer, clock: FixedClock, signing_key: Key, body: Any, match: str
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock)
    jwks.select("k1", "ES256")
    server.serve_json("/jwks", body(signing_key.public_jwk()))
    with pytest.raises(JWKSFetchError, match=match):
        jwks.refresh()
    assert jwks.select("k1", "ES256").kid == "k1"  # the last good set is still in use
    assert jwks.failures == 1


def test_should_refuse_a_document_with_duplicate_member_names(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    good = json.dumps(signing_key.public_jwk())
    server.routes["/jwks"] = Route(200, f'{{"keys": [{good}], "keys": []}}'.encode())
    with pytest.raises(JWKSFetchError, match="duplicate"):
        _jwks(server, clock).select("k1", "ES256")


def test_should_warm_up_on_refresh_and_count_every_attempt(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock)
    assert "k1" in jwks.refresh()
    assert "k1" in jwks.refresh()  # an explicit refresh ignores the cooldown
    assert jwks.fetches == server.counts["/jwks"] == 2
    assert "RemoteJWKS(" in repr(jwks) and "keys=1" in repr(jwks)


def test_should_never_use_private_material_published_by_mistake(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    server.serve_json("/jwks", {"keys": [signing_key.export_private_jwk()]})
    key = _jwks(server, clock).select("k1", "ES256")
    assert not key.is_private


def test_should_tell_a_missing_kid_from_a_failed_refetch(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    server.serve_keys("/jwks", [signing_key])
    jwks = _jwks(server, clock)
    jwks.select("k1", "ES256")
    server.routes["/jwks"] = Route(500, b"")
    clock.advance(30)
    with pytest.raises(UnknownKeyError, match="could not be refreshed"):
        jwks.select("other", "ES256")
    assert jwks.failures == 1
