"""Attacks on the verifier through RemoteJWKS: kid floods, rotation, removed keys, HMAC keys
and keys without ``alg`` in a remote set. A real issuer on 127.0.0.1, a FixedClock."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from jwtwarden import FixedClock, VerificationPolicy, Verifier, generate_key
from jwtwarden._jose.b64 import b64url_encode
from jwtwarden._jose.sign import sign_compact
from jwtwarden.errors import (
    AlgorithmNotAllowedError,
    ForbiddenHeaderError,
    InvalidTokenError,
    JWKSFetchError,
    UnknownKeyError,
)
from jwtwarden.jwks import RemoteJWKS, TrustedJKU
from jwtwarden.keys.key import Key, import_jwk

from ..jwks._servers import CountingServer, counting_server, unsigned_token, wait_until

NOW = 1_800_000_000.0
ISSUER = "https://issuer.example"
SECRET_K = b64url_encode(b"an HMAC secret that is long enough for HS256!!")


@pytest.fixture(scope="module")
def k1() -> Key:
    return generate_key("ES256", kid="k1")


@pytest.fixture(scope="module")
def k2() -> Key:
    return generate_key("ES256", kid="k2")


@pytest.fixture(scope="module")
def rsa_key() -> Key:
    return generate_key("RS256", kid="r1")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with counting_server() as srv:
        yield srv


def _claims(clock: FixedClock) -> dict[str, Any]:
    now = int(clock.now())
    return {
        "iss": ISSUER,
        "aud": "api",
        "sub": "u",
        "iat": now,
        "exp": now + 3600,
        "jti": "j",
        "client_id": "client-1",
    }


def _token(key: Key, clock: FixedClock, **header: Any) -> str:
    return sign_compact({"typ": "at+jwt", **header}, _claims(clock), key)


def _verifier(jwks: Any, clock: FixedClock, algorithms: list[str] | None = None) -> Verifier:
    return Verifier(
        VerificationPolicy.access_token(
            algorithms=algorithms or ["ES256"],
            issuer=ISSUER,
            audience="api",
            keys=jwks,
            clock=clock,
        )
    )


def _jwks(server: CountingServer, clock: FixedClock, **options: Any) -> RemoteJWKS:
    return RemoteJWKS(server.url("/jwks"), allow_loopback_http=True, clock=clock, **options)


# --- kid floods ---------------------------------------------------------------------------------


def test_should_keep_memory_flat_and_fetches_bounded_under_a_flood_of_random_kids(
    server: CountingServer, clock: FixedClock, k1: Key
):
    server.serve_keys("/jwks", [k1.public_key()])
    jwks = _jwks(server, clock)
    verifier = _verifier(jwks, clock)
    header = {"alg": "ES256", "typ": "at+jwt"}
    for _round in range(3):
        for _ in range(1000):
            token = unsigned_token({**header, "kid": secrets.token_hex(16)}, _claims(clock))
            with pytest.raises(UnknownKeyError):
                verifier.verify(token)
        clock.advance(31)
    # One fetch, then one refetch per cooldown: 3,000 unknown kids cost 3 requests.
    assert server.counts["/jwks"] == 3
    # Nothing remembers the kids it was asked about: no container in the source grew.
    sizes = {n: len(v) for n, v in vars(jwks).items() if isinstance(v, dict | list | set)}
    assert all(size <= 1 for size in sizes.values()), sizes
    assert jwks.keys is not None and len(jwks.keys) == 1


def _jku_verifier(source: TrustedJKU, clock: FixedClock) -> Verifier:
    return Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"],
            issuer=ISSUER,
            audience="api",
            keys=source,
            clock=clock,
            allowed_headers={"jku"},
        )
    )


def test_should_bound_the_key_sets_a_flood_of_distinct_trusted_jku_urls_creates(
    server: CountingServer, clock: FixedClock, k1: Key
):
    prefix = server.url("/tenants/")
    source = TrustedJKU(
        prefixes=[prefix], allow_loopback_http=True, clock=clock, max_sources=4, cooldown=30
    )
    verifier = _jku_verifier(source, clock)
    for i in range(50):  # within one new_url_interval: one new URL admitted, one fetch
        token = _token(k1, clock, kid="k1", jku=f"{prefix}t{i}/jwks.json")
        with pytest.raises((InvalidTokenError, JWKSFetchError)):  # a 404, then "too soon"
            verifier.verify(token)
    assert len(source.sources) == 1
    assert server.total == 1
    for i in range(50, 100):  # a second apart: each admitted, the oldest evicted
        clock.advance(1)
        token = _token(k1, clock, kid="k1", jku=f"{prefix}t{i}/jwks.json")
        with pytest.raises(JWKSFetchError):
            verifier.verify(token)
    assert len(source.sources) == 4
    assert source.proven == ()
    assert server.total == 51  # one fetch per admitted URL, at most one a second


def test_should_keep_accepting_the_issuers_next_key_url_after_a_flood_of_junk_jku_urls(
    server: CountingServer, clock: FixedClock, k1: Key, k2: Key
):
    # The review's case: 15 forged tokens with junk URLs under the trusted prefix used to fill
    # the table (max_sources=16) with 404s, and the issuer's next real URL was refused until
    # a restart. Junk now only churns the probation LRU; a URL that served a key stays.
    prefix = server.url("/tenants/")
    server.serve_keys("/tenants/v1/jwks.json", [k1.public_key()])
    source = TrustedJKU(prefixes=[prefix], allow_loopback_http=True, clock=clock, cooldown=30)
    verifier = _jku_verifier(source, clock)
    v1 = f"{prefix}v1/jwks.json"
    assert verifier.verify(_token(k1, clock, kid="k1", jku=v1)).key.kid == "k1"
    for i in range(100):
        clock.advance(1)
        forged = _token(generate_key("ES256", kid="k1"), clock, kid="k1", jku=f"{prefix}j{i}/")
        with pytest.raises(JWKSFetchError):
            verifier.verify(forged)
    assert len(source.sources) == 1 + 16  # the proven URL and a full, bounded probation LRU
    assert source.proven == (v1,)
    before = server.counts["/tenants/v1/jwks.json"]
    assert verifier.verify(_token(k1, clock, kid="k1", jku=v1)).key.kid == "k1"
    assert server.counts["/tenants/v1/jwks.json"] == before  # still cached: never evicted
    server.serve_keys("/tenants/v2/jwks.json", [k2.public_key()])  # the issuer's next URL
    clock.advance(1)
    v2 = f"{prefix}v2/jwks.json"
    assert verifier.verify(_token(k2, clock, kid="k2", jku=v2)).key.kid == "k2"
    assert source.proven == (v1, v2)


async def test_should_promote_a_jku_url_on_the_async_path_too(
    server: CountingServer, clock: FixedClock, k1: Key
):
    prefix = server.url("/tenants/")
    server.serve_keys("/tenants/v1/jwks.json", [k1.public_key()])
    source = TrustedJKU(prefixes=[prefix], allow_loopback_http=True, clock=clock, max_sources=1)
    verifier = _jku_verifier(source, clock)
    v1 = f"{prefix}v1/jwks.json"
    assert (await verifier.verify_async(_token(k1, clock, kid="k1", jku=v1))).key.kid == "k1"
    clock.advance(1)
    with pytest.raises(JWKSFetchError):
        await verifier.verify_async(_token(k1, clock, kid="k1", jku=f"{prefix}junk/"))
    assert source.proven == (v1,) and len(source.sources) == 2


def test_should_never_evict_an_exact_allowlist_jku_url(
    server: CountingServer, clock: FixedClock, k1: Key
):
    exact = server.url("/keys/jwks.json")
    server.serve_keys("/keys/jwks.json", [k1.public_key()])
    source = TrustedJKU(
        [exact],
        prefixes=[server.url("/tenants/")],
        allow_loopback_http=True,
        clock=clock,
        max_sources=1,
        new_url_interval=0,
    )
    verifier = _jku_verifier(source, clock)
    assert verifier.verify(_token(k1, clock, kid="k1", jku=exact)).key.kid == "k1"
    for i in range(20):
        with pytest.raises(JWKSFetchError):
            verifier.verify(_token(k1, clock, kid="k1", jku=server.url(f"/tenants/j{i}/")))
    assert verifier.verify(_token(k1, clock, kid="k1", jku=exact)).key.kid == "k1"
    assert server.counts["/keys/jwks.json"] == 1
    assert len(source.sources) == 2


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"max_sources": 0}, ValueError),
        ({"max_sources": True}, ValueError),
        ({"new_url_interval": -1}, ValueError),
        ({"new_url_interval": "1"}, TypeError),
    ],
)
def test_should_refuse_a_trusted_jku_bound_that_cannot_work(
    options: dict[str, Any], error: type[Exception]
):
    with pytest.raises(error):
        TrustedJKU(prefixes=["https://auth.example.com/keys/"], **options)


def test_should_cause_no_request_for_a_jku_outside_the_trusted_prefix(
    server: CountingServer, clock: FixedClock, k1: Key
):
    source = TrustedJKU(prefixes=[server.url("/tenants/")], allow_loopback_http=True, clock=clock)
    verifier = Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"],
            issuer=ISSUER,
            audience="api",
            keys=source,
            clock=clock,
            allowed_headers={"jku"},
        )
    )
    for jku in [
        server.url("/tenants/../admin/jwks"),
        server.url("/tenants/%2e%2e/admin"),
        server.url("/tenants/a?x=/jwks"),
        server.url("/tenants/a#frag"),
        server.url("/tenants"),
        server.url("/tenants/", host="localhost"),
        "http://169.254.169.254/tenants/",
    ]:
        with pytest.raises(ForbiddenHeaderError):
            verifier.verify(_token(k1, clock, kid="k1", jku=jku))
    assert server.connections == 0


# --- rotation and removal -----------------------------------------------------------------------


def test_should_accept_a_rotated_kid_once_the_cooldown_an_attacker_burnt_has_passed(
    server: CountingServer, clock: FixedClock, k1: Key, k2: Key
):
    # Documented: a flood of random kids uses the cooldown, so a kid that appears right after
    # (a real rotation) waits for the cooldown, then verifies.
    server.serve_keys("/jwks", [k1.public_key()])
    jwks = _jwks(server, clock)
    verifier = _verifier(jwks, clock)
    verifier.verify(_token(k1, clock))
    clock.advance(30)
    with pytest.raises(UnknownKeyError):  # the attacker's kid takes this cooldown's refetch
        verifier.verify(unsigned_token({"alg": "ES256", "kid": "junk"}, _claims(clock)))
    server.serve_keys("/jwks", [k1.public_key(), k2.public_key()])  # the issuer rotates
    with pytest.raises(UnknownKeyError):
        verifier.verify(_token(k2, clock))
    clock.advance(30)
    assert verifier.verify(_token(k2, clock)).key.kid == "k2"
    assert server.counts["/jwks"] == 3


def test_should_stop_trusting_a_removed_key_once_the_set_goes_stale_and_is_refetched(
    server: CountingServer, clock: FixedClock, k1: Key, k2: Key
):
    # Documented window: a removed key stays trusted while the cached set is fresh
    # (max-age, clamped), and for the requests served while the background refresh runs.
    server.serve_keys(
        "/jwks", [k1.public_key(), k2.public_key()], **{"Cache-Control": "max-age=120"}
    )
    jwks = _jwks(server, clock)
    verifier = _verifier(jwks, clock)
    verifier.verify(_token(k1, clock))
    server.serve_keys("/jwks", [k2.public_key()])  # k1 is withdrawn (compromised)
    clock.advance(119)
    assert verifier.verify(_token(k1, clock)).key.kid == "k1"  # still fresh: still trusted
    assert server.counts["/jwks"] == 1
    clock.advance(1)
    verifier.verify(_token(k2, clock))  # stale: served at once, refreshed in the background
    wait_until(lambda: jwks.keys is not None and "k1" not in jwks.keys, "the refreshed set")
    with pytest.raises(UnknownKeyError):
        verifier.verify(_token(k1, clock))
    assert server.counts["/jwks"] == 2


def test_should_stop_serving_a_stale_set_after_max_stale_when_the_issuer_is_gone(
    server: CountingServer, clock: FixedClock, k1: Key
):
    server.serve_keys("/jwks", [k1.public_key()], **{"Cache-Control": "max-age=60"})
    jwks = _jwks(server, clock, max_stale=300)
    verifier = _verifier(jwks, clock)
    verifier.verify(_token(k1, clock))
    server.routes.clear()  # 404 from now on
    clock.advance(60 + 299)
    assert verifier.verify(_token(k1, clock)).key.kid == "k1"
    clock.advance(1)
    with pytest.raises(JWKSFetchError):
        verifier.verify(_token(k1, clock))


# --- HMAC keys and keys without alg in a remote set ---------------------------------------------


def _hmac_key(kid: str, secret_b64: str) -> Key:
    return import_jwk({"kty": "oct", "k": secret_b64, "alg": "HS256", "kid": kid})


def test_should_never_verify_with_an_hmac_secret_published_in_a_remote_set(
    server: CountingServer, clock: FixedClock, k1: Key
):
    published = {"kty": "oct", "k": SECRET_K, "alg": "HS256", "kid": "h"}
    server.serve_json("/jwks", {"keys": [published, k1.public_key().public_jwk()]})
    jwks = _jwks(server, clock)
    verifier = _verifier(jwks, clock, ["ES256", "HS256"])
    forged = _token(_hmac_key("h", SECRET_K), clock)
    with pytest.raises(UnknownKeyError):
        verifier.verify(forged)
    assert jwks.keys is not None and "h" not in jwks.keys


def test_should_refuse_as_unavailable_a_remote_set_holding_only_an_hmac_secret(
    server: CountingServer, clock: FixedClock
):
    server.serve_json(
        "/jwks", {"keys": [{"kty": "oct", "k": SECRET_K, "alg": "HS256", "kid": "h"}]}
    )
    verifier = _verifier(_jwks(server, clock), clock, ["HS256"])
    with pytest.raises(JWKSFetchError, match="no usable"):
        verifier.verify(_token(_hmac_key("h", SECRET_K), clock))


@pytest.mark.parametrize("encoding", ["pem", "der"])
def test_should_refuse_the_rsa_public_key_used_as_an_hmac_secret(
    server: CountingServer, clock: FixedClock, rsa_key: Key, encoding: str
):
    # The classic algorithm confusion: HS256 "signed" with the issuer's public key bytes.
    server.serve_keys("/jwks", [rsa_key.public_key()])
    verifier = _verifier(_jwks(server, clock), clock, ["RS256", "HS256"])
    public = rsa_key.public_key().jwk.public_key
    raw = public.public_bytes(
        serialization.Encoding.PEM if encoding == "pem" else serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    # The attacker's own HMAC, computed directly (newer joserfc versions refuse to even import
    # a PEM/DER-looking secret, which is not a defence the verifier may rely on).
    header = b64url_encode(json.dumps({"typ": "at+jwt", "alg": "HS256", "kid": "r1"}).encode())
    payload = b64url_encode(json.dumps(_claims(clock)).encode())
    mac = hmac.new(raw, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{b64url_encode(mac)}"
    with pytest.raises(AlgorithmNotAllowedError):
        verifier.verify(forged)


def test_should_drop_a_remote_key_without_alg_unless_the_application_names_its_algorithm(
    server: CountingServer, clock: FixedClock, k1: Key
):
    no_alg = {n: v for n, v in k1.public_key().public_jwk().items() if n != "alg"}
    server.serve_json("/jwks", {"keys": [no_alg]})
    with pytest.raises(JWKSFetchError, match="no usable"):
        _verifier(_jwks(server, clock), clock).verify(_token(k1, clock))
    assert _verifier(_jwks(server, clock, algorithm="ES256"), clock).verify(_token(k1, clock))
    # Naming another algorithm does not make an EC key an RSA or HMAC key.
    for algorithm in ("RS256", "HS256"):
        with pytest.raises(JWKSFetchError, match="no usable"):
            _jwks(server, clock, algorithm=algorithm).select("k1", algorithm)
