"""OpenID discovery, several issuers, and jku: nothing is fetched from a URL the token chose."""

from __future__ import annotations

from typing import Any

import pytest

from jwtwarden import FixedClock, KeySet, VerificationPolicy, Verifier
from jwtwarden._jose.sign import sign_compact
from jwtwarden.errors import (
    FetchRefusedError,
    ForbiddenHeaderError,
    JWKSFetchError,
    UnknownKeyError,
    WrongIssuerError,
)
from jwtwarden.jwks import RemoteJWKS, SSRFGuard, TrustedJKU, discovery_url, issuers_from_discovery
from jwtwarden.keys.key import Key

from ._servers import CountingServer, Route, counting_server, unsigned_token


def _claims(iss: str, clock: FixedClock) -> dict[str, Any]:
    now = int(clock.now())
    return {
        "iss": iss,
        "aud": "api",
        "sub": "u1",
        "iat": now,
        "exp": now + 600,
        "jti": "j",
        "client_id": "client-1",
    }


def _serve_discovery(server: CountingServer, issuer: str, jwks_uri: str) -> None:
    path = discovery_url(issuer)[len(server.url("")) :]
    server.serve_json(path, {"issuer": issuer, "jwks_uri": jwks_uri})


def test_should_find_the_key_set_through_discovery_and_fetch_both_documents_once(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    issuer = server.url("/tenant")
    _serve_discovery(server, issuer, server.url("/tenant/keys"))
    server.serve_keys("/tenant/keys", [signing_key])
    jwks = RemoteJWKS.from_discovery(issuer, allow_loopback_http=True, clock=clock)
    assert jwks.url is None
    policy = VerificationPolicy.access_token(
        algorithms=["ES256"], issuer=issuer, audience="api", keys=jwks, clock=clock
    )
    token = sign_compact({"typ": "at+jwt"}, _claims(issuer, clock), signing_key)
    assert Verifier(policy).verify(token).claims["iss"] == issuer
    assert jwks.url == server.url("/tenant/keys")
    assert server.counts == {"/tenant/.well-known/openid-configuration": 1, "/tenant/keys": 1}


def test_should_refuse_a_discovery_document_naming_another_issuer(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    issuer = server.url("/a")
    server.serve_json(
        "/a/.well-known/openid-configuration",
        {"issuer": server.url("/a/"), "jwks_uri": server.url("/keys")},  # trailing slash
    )
    server.serve_keys("/keys", [signing_key])
    jwks = RemoteJWKS.from_discovery(issuer, allow_loopback_http=True, clock=clock)
    with pytest.raises(JWKSFetchError, match="another issuer"):
        jwks.select("k1", "ES256")
    assert server.counts["/keys"] == 0


@pytest.mark.parametrize(
    "jwks_uri",
    [
        "https://169.254.169.254/keys",
        "https://10.0.0.1/keys",
        "file:///etc/passwd",
        "https://[::ffff:127.0.0.1]/keys",
    ],
)
def test_should_pass_the_discovered_jwks_uri_through_the_guard(
    server: CountingServer, clock: FixedClock, jwks_uri: str
):
    issuer = server.url("/i")
    _serve_discovery(server, issuer, jwks_uri)
    jwks = RemoteJWKS.from_discovery(issuer, allow_loopback_http=True, clock=clock)
    with pytest.raises(FetchRefusedError):
        jwks.select("k1", "ES256")
    assert jwks.refusals == 1
    assert server.total == 1  # the discovery document, nothing else


async def test_should_discover_in_async_code_too(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    issuer = server.url("/t")
    _serve_discovery(server, issuer, server.url("/t/keys"))
    server.serve_keys("/t/keys", [signing_key])
    jwks = RemoteJWKS.from_discovery(issuer, allow_loopback_http=True, clock=clock)
    assert (await jwks.aselect("k1", "ES256")).kid == "k1"
    assert server.total == 2


def test_should_not_fetch_anything_for_a_token_from_an_issuer_outside_the_mapping(
    clock: FixedClock, signing_key: Key
):
    with counting_server() as a, counting_server() as b:
        issuers = issuers_from_discovery(
            [a.url("/"), b.url("/")], allow_loopback_http=True, clock=clock
        )
        policy = VerificationPolicy.access_token(
            algorithms=["ES256"], issuers=issuers, audience="api", clock=clock
        )
        verifier = Verifier(policy)
        for iss in ("https://evil.example", a.url("/") + "x", a.url(""), "169.254.169.254"):
            token = sign_compact({"typ": "at+jwt"}, _claims(iss, clock), signing_key)
            with pytest.raises(WrongIssuerError):
                verifier.verify(token)
        assert (a.connections, b.connections) == (0, 0)


def test_should_use_each_issuers_own_key_set(clock: FixedClock, signing_key: Key, next_key: Key):
    with counting_server() as a, counting_server() as b:
        _serve_discovery(a, a.url(""), a.url("/keys"))
        a.serve_keys("/keys", [signing_key])
        _serve_discovery(b, b.url(""), b.url("/keys"))
        b.serve_keys("/keys", [next_key])
        issuers = issuers_from_discovery(
            [a.url(""), b.url("")], allow_loopback_http=True, clock=clock
        )
        verifier = Verifier(
            VerificationPolicy.access_token(
                algorithms=["ES256"], issuers=issuers, audience="api", clock=clock
            )
        )
        assert (
            verifier.verify(
                sign_compact({"typ": "at+jwt"}, _claims(b.url(""), clock), next_key)
            ).key.kid
            == "k2"
        )
        # A token claiming issuer b but signed with a's key: b's set does not have it.
        with pytest.raises(UnknownKeyError):
            verifier.verify(sign_compact({"typ": "at+jwt"}, _claims(b.url(""), clock), signing_key))
        assert a.total == 0 and b.total == 2


# --- jku ------------------------------------------------------------------------------------


def test_should_refuse_jku_by_default_without_any_request(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    issuer = "https://issuer.example"
    server.serve_keys("/attacker-keys", [signing_key])
    jwks = RemoteJWKS(server.url("/jwks"), allow_loopback_http=True, clock=clock)
    verifier = Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"], issuer=issuer, audience="api", keys=jwks, clock=clock
        )
    )
    for target in (server.url("/attacker-keys"), "http://169.254.169.254/latest/meta-data"):
        header = {"alg": "ES256", "typ": "at+jwt", "kid": "k1", "jku": target}
        with pytest.raises(ForbiddenHeaderError):
            verifier.verify(unsigned_token(header, _claims(issuer, clock)))
    # Each with the type RFC 7515 4.1 gives it (a wrong type is malformed before this rule).
    for name, value in (("x5u", server.url("/x")), ("x5c", ["MIIB"]), ("jwk", {"kty": "EC"})):
        header = {"alg": "ES256", "typ": "at+jwt", "kid": "k1", name: value}
        with pytest.raises(ForbiddenHeaderError):
            verifier.verify(unsigned_token(header, _claims(issuer, clock)))
    assert server.connections == 0


def _jku_verifier(source: TrustedJKU, issuer: str, clock: FixedClock) -> Verifier:
    return Verifier(
        VerificationPolicy.access_token(
            algorithms=["ES256"],
            issuer=issuer,
            audience="api",
            keys=source,
            clock=clock,
            allowed_headers={"jku"},
        )
    )


def test_should_fetch_an_allowlisted_jku_and_nothing_else(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    issuer = "https://issuer.example"
    server.serve_keys("/keys/v1.json", [signing_key])
    server.serve_keys("/other.json", [signing_key])
    source = TrustedJKU([server.url("/keys/v1.json")], allow_loopback_http=True, clock=clock)
    verifier = _jku_verifier(source, issuer, clock)
    claims = _claims(issuer, clock)
    good = sign_compact({"typ": "at+jwt", "jku": server.url("/keys/v1.json")}, claims, signing_key)
    assert verifier.verify(good).key.kid == "k1"
    for jku in (
        server.url("/other.json"),
        server.url("/keys/v1.json?x=1"),
        server.url("/keys/v1.json", host="localhost"),
        "https://169.254.169.254/",
    ):
        token = sign_compact({"typ": "at+jwt", "jku": jku}, claims, signing_key)
        with pytest.raises(ForbiddenHeaderError):
            verifier.verify(token)
    with pytest.raises(UnknownKeyError, match="no jku"):
        verifier.verify(sign_compact({"typ": "at+jwt"}, claims, signing_key))
    assert server.counts == {"/keys/v1.json": 1}


async def test_should_fetch_a_jku_under_a_trusted_prefix_but_never_a_path_that_escapes_it(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    issuer = "https://issuer.example"
    server.serve_keys("/keys/2024.json", [signing_key])
    source = TrustedJKU(prefixes=[server.url("/keys/")], allow_loopback_http=True, clock=clock)
    verifier = _jku_verifier(source, issuer, clock)
    claims = _claims(issuer, clock)
    ok = sign_compact({"typ": "at+jwt", "jku": server.url("/keys/2024.json")}, claims, signing_key)
    assert (await verifier.verify_async(ok)).key.kid == "k1"
    for tail in ("../admin", "%2e%2e/admin", "a/../../x", "x?y", "x#y", "x@evil", "..\\x"):
        bad = sign_compact(
            {"typ": "at+jwt", "jku": server.url("/keys/") + tail}, claims, signing_key
        )
        with pytest.raises(ForbiddenHeaderError):
            await verifier.verify_async(bad)
    assert server.total == 1


def test_should_still_guard_an_allowlisted_jku(clock: FixedClock):
    guard = SSRFGuard(resolver=lambda host, port: ["10.0.0.8"])
    source = TrustedJKU(["https://keys.example/jwks.json"], guard=guard, clock=clock)
    with pytest.raises(FetchRefusedError):
        source.select_for_header({"jku": "https://keys.example/jwks.json"}, "k1", "ES256")
    assert guard.refusals == 1


def test_should_refuse_unsafe_jku_configurations():
    with pytest.raises(ValueError):
        TrustedJKU([])
    with pytest.raises(ValueError):
        TrustedJKU(["http://keys.example/jwks.json"])
    with pytest.raises(ValueError):
        TrustedJKU(prefixes=["https://keys.example"])  # no trailing slash: keys.example.evil
    with pytest.raises(TypeError):
        TrustedJKU("https://keys.example/jwks.json")  # type: ignore[arg-type]


def test_should_answer_tokens_without_jku_from_the_default_source(
    clock: FixedClock, signing_key: Key
):
    source = TrustedJKU(["https://keys.example/jwks.json"], default=KeySet([signing_key]))
    verifier = _jku_verifier(source, "https://issuer.example", clock)
    token = sign_compact({"typ": "at+jwt"}, _claims("https://issuer.example", clock), signing_key)
    assert verifier.verify(token).key.kid == "k1"


def test_should_fall_back_to_rfc8414_metadata_when_openid_configuration_is_404(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    # An OAuth server that is no OpenID Provider (jwtwarden before OpenID Connect): RFC 8414
    # 3.1 puts the well-known segment before the issuer's path.
    issuer = server.url("/tenant")
    server.serve_json(
        "/.well-known/oauth-authorization-server/tenant",
        {"issuer": issuer, "jwks_uri": server.url("/tenant/keys")},
    )
    server.serve_keys("/tenant/keys", [signing_key])
    jwks = RemoteJWKS.from_discovery(issuer, allow_loopback_http=True, clock=clock)
    policy = VerificationPolicy.access_token(
        algorithms=["ES256"], issuer=issuer, audience="api", keys=jwks, clock=clock
    )
    token = sign_compact({"typ": "at+jwt"}, _claims(issuer, clock), signing_key)
    assert Verifier(policy).verify(token).claims["iss"] == issuer
    assert server.counts == {
        "/tenant/.well-known/openid-configuration": 1,
        "/.well-known/oauth-authorization-server/tenant": 1,
        "/tenant/keys": 1,
    }


def test_should_not_fall_back_when_openid_configuration_fails_otherwise(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    issuer = server.url("/down")
    server.routes["/down/.well-known/openid-configuration"] = Route(500, b"", {})
    server.serve_json(
        "/.well-known/oauth-authorization-server/down",
        {"issuer": issuer, "jwks_uri": server.url("/down/keys")},
    )
    jwks = RemoteJWKS.from_discovery(issuer, allow_loopback_http=True, clock=clock)
    with pytest.raises(JWKSFetchError, match="500"):
        jwks.select("k1", "ES256")
    assert "/.well-known/oauth-authorization-server/down" not in server.counts
