"""``RemoteJWKS`` settings as value objects (``CachePolicy``, ``FetchLimits``) and its counters
as one ``JWKSStats``; the flat keywords stay as the short form."""

from __future__ import annotations

from typing import Any

import pytest

from jwtwarden import FixedClock
from jwtwarden.errors import JWKSFetchError
from jwtwarden.jwks import CachePolicy, FetchLimits, JWKSStats, RemoteJWKS
from jwtwarden.keys.key import Key

from ._servers import CountingServer, Route

URL = "https://jwks.example/keys"


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda: CachePolicy(min_cache=100, max_cache=10), ValueError),
        (lambda: CachePolicy(cooldown=-1), ValueError),
        (lambda: CachePolicy(max_stale=float("inf")), TypeError),
        (lambda: CachePolicy(default_cache=0), ValueError),
        (lambda: FetchLimits(timeout=0), ValueError),
        (lambda: FetchLimits(timeout=61), ValueError),
        (lambda: FetchLimits(max_bytes=512), ValueError),
        (lambda: FetchLimits(max_bytes=True), TypeError),
    ],
    ids=[
        "min_cache over max_cache",
        "negative cooldown",
        "infinite max_stale",
        "zero default_cache",
        "zero timeout",
        "timeout over a minute",
        "max_bytes under 1 KiB",
        "max_bytes a bool",
    ],
)
def test_should_refuse_a_value_object_that_can_never_be_safe_when_built(
    build: Any, error: type[Exception]
):
    with pytest.raises(error):
        build()


def test_should_be_frozen_keyword_only_value_objects():
    policy = CachePolicy(cooldown=60)
    with pytest.raises(AttributeError):
        policy.cooldown = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        CachePolicy(60)  # type: ignore[misc]
    with pytest.raises(TypeError):
        FetchLimits(5)  # type: ignore[misc]
    assert repr(FetchLimits(timeout=2)) == "FetchLimits(timeout=2.0, max_bytes=524288)"


def test_should_take_the_value_objects_or_the_flat_keywords_alike():
    by_objects = RemoteJWKS(
        URL, cache=CachePolicy(cooldown=60, max_stale=0), limits=FetchLimits(timeout=2)
    )
    by_keywords = RemoteJWKS(URL, cooldown=60, max_stale=0, timeout=2)
    assert by_objects.cache == by_keywords.cache == CachePolicy(cooldown=60, max_stale=0)
    assert by_objects.limits == by_keywords.limits == FetchLimits(timeout=2)
    assert RemoteJWKS(URL).cache == CachePolicy()  # the documented defaults


@pytest.mark.parametrize(
    "options",
    [
        {"cache": CachePolicy(), "cooldown": 5},
        {"limits": FetchLimits(), "timeout": 5},
        {"cache": {"cooldown": 5}},
        {"limits": 5},
        {"cache_seconds": 5},
    ],
    ids=["cache and cooldown", "limits and timeout", "cache a dict", "limits a number", "typo"],
)
def test_should_refuse_as_a_bad_call_a_mix_of_forms_a_wrong_type_or_an_unknown_keyword(
    options: dict[str, Any],
):
    with pytest.raises(TypeError):
        RemoteJWKS(URL, **options)


def test_should_report_every_counter_in_one_stats_value(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    server.routes["/jwks"] = Route(500, b"down")
    jwks = RemoteJWKS(
        server.url("/jwks"), allow_loopback_http=True, clock=clock, cache=CachePolicy(cooldown=0)
    )
    with pytest.raises(JWKSFetchError):
        jwks.refresh()
    server.serve_keys("/jwks", [signing_key])
    jwks.refresh()
    stats = jwks.stats
    assert stats == JWKSStats(fetches=2, refusals=0, failures=1, dropped_keys=0, coalesced=0)
    assert (jwks.fetches, jwks.failures, jwks.coalesced) == (2, 1, 0)  # the short form agrees
