"""The SSRF guard: every refused address class, the development switch, DNS answers, pinning."""

from __future__ import annotations

import httpx
import pytest

from jwtwarden.errors import FetchRefusedError, JWKSFetchError
from jwtwarden.jwks import RemoteJWKS, SSRFGuard, address_refusal

from ._servers import CountingServer

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.169.254", "link_local"),
    ("fe80::1", "link_local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("100.64.0.1", "shared"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("2001:db8::1", "documentation"),
    ("::ffff:127.0.0.1", "ipv4_mapped:loopback"),
    ("::ffff:169.254.169.254", "ipv4_mapped:link_local"),
    ("::ffff:10.0.0.1", "ipv4_mapped:private"),
    ("::ffff:93.184.216.34", "ipv4_mapped"),
    ("::127.0.0.1", "ipv4_compatible:loopback"),
    ("2002:7f00:1::", "6to4:loopback"),
    ("2002:a9fe:a9fe::", "6to4:link_local"),
    ("64:ff9b::a9fe:a9fe", "nat64:link_local"),
    ("64:ff9b::7f00:1", "nat64:loopback"),
    ("2001::1", "reserved"),
    ("fec0::1", "site_local"),
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_should_refuse_every_inward_or_special_address_class(address: str, reason: str):
    assert address_refusal(address) == reason


@pytest.mark.parametrize("address", [PUBLIC_V4, PUBLIC_V6, "64:ff9b::5db8:d822", "8.8.8.8"])
def test_should_allow_public_addresses_including_nat64_of_a_public_one(address: str):
    assert address_refusal(address) is None


def _resolver(table: dict[str, list[str]]):
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return table[host]

    return resolve, calls


@pytest.mark.parametrize("address", [a for a, _ in REFUSED])
def test_should_refuse_a_name_that_resolves_to_a_refused_address(address: str):
    resolve, calls = _resolver({"jwks.example": [address]})
    guard = SSRFGuard(resolver=resolve)
    with pytest.raises(FetchRefusedError, match="refused address"):
        guard.check("https://jwks.example/keys")
    assert calls == ["jwks.example"]
    assert guard.refusals == 1


def test_should_refuse_a_name_when_any_one_of_its_addresses_is_refused():
    resolve, _ = _resolver({"jwks.example": [PUBLIC_V4, "10.0.0.7"]})
    with pytest.raises(FetchRefusedError, match="private"):
        SSRFGuard(resolver=resolve).check("https://jwks.example/keys")


def test_should_return_the_checked_addresses_for_a_public_name():
    resolve, _ = _resolver({"jwks.example": [PUBLIC_V4, PUBLIC_V6]})
    target = SSRFGuard(resolver=resolve).check("https://jwks.example/keys")
    assert [str(a) for a in target.addresses] == [PUBLIC_V4, PUBLIC_V6]
    assert str(target.pinned_url(target.addresses[0])) == f"https://{PUBLIC_V4}/keys"
    assert target.headers() == {"Host": "jwks.example"}
    assert target.extensions() == {"sni_hostname": "jwks.example"}


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://jwks.example/keys", "plain http"),
        ("ftp://jwks.example/keys", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("https://user:pw@jwks.example/keys", "credentials"),
        ("https:///keys", "host"),
        ("not a url", "scheme|valid"),
    ],
)
def test_should_refuse_urls_of_the_wrong_form_before_resolving(url: str, match: str):
    resolve, calls = _resolver({})
    with pytest.raises(FetchRefusedError, match=match):
        SSRFGuard(resolver=resolve).check(url)
    assert calls == []


def test_should_refuse_plain_http_to_a_public_address_even_with_the_switch():
    resolve, _ = _resolver({"jwks.example": [PUBLIC_V4]})
    guard = SSRFGuard(allow_loopback_http=True, resolver=resolve)
    with pytest.raises(FetchRefusedError, match="only to loopback"):
        guard.check("http://jwks.example/keys")


def test_should_allow_loopback_only_with_the_switch_and_still_refuse_private_and_metadata():
    on = SSRFGuard(allow_loopback_http=True)
    assert str(on.check("http://127.0.0.1:8080/k").addresses[0]) == "127.0.0.1"
    for address in ("10.0.0.1", "169.254.169.254", "[::ffff:127.0.0.1]", "[fe80::1]"):
        with pytest.raises(FetchRefusedError):
            on.check(f"https://{address}/k")
    with pytest.raises(FetchRefusedError, match="loopback"):
        SSRFGuard().check("https://127.0.0.1:8080/k")


def test_should_report_a_name_that_does_not_resolve_as_a_fetch_failure():
    def fail(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(JWKSFetchError) as info:
        SSRFGuard(resolver=fail).check("https://nowhere.example/keys")
    assert not isinstance(info.value, FetchRefusedError)


async def test_should_check_in_the_async_path_too():
    resolve, _ = _resolver({"jwks.example": ["169.254.169.254"]})
    with pytest.raises(FetchRefusedError, match="link_local"):
        await SSRFGuard(resolver=resolve).acheck("https://jwks.example/keys")


def test_should_refuse_blocked_networks_the_application_adds():
    resolve, _ = _resolver({"jwks.example": [PUBLIC_V4]})
    guard = SSRFGuard(resolver=resolve, blocked_networks=["93.184.216.0/24"])
    with pytest.raises(FetchRefusedError, match="blocked_network"):
        guard.check("https://jwks.example/keys")


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_should_refuse_loopback_and_the_real_name_localhost_without_any_connection(
    server: CountingServer, host: str
):
    server.serve_json("/jwks", {"keys": []})
    jwks = RemoteJWKS(f"https://{host}:{server.port}/jwks")  # the switch is off
    with pytest.raises(FetchRefusedError, match="loopback"):
        jwks.select("k1", "ES256")
    assert jwks.refusals == 1
    with pytest.raises(ValueError, match="plain http"):
        RemoteJWKS(f"http://{host}:{server.port}/jwks")
    assert server.connections == 0


def test_should_refuse_the_metadata_address_without_any_connection_even_with_the_switch():
    jwks = RemoteJWKS("http://169.254.169.254/latest/meta-data", allow_loopback_http=True)
    with pytest.raises(FetchRefusedError, match="link_local"):
        jwks.select("k1", "ES256")
    assert (jwks.refusals, jwks.failures, jwks.fetches) == (1, 0, 1)


def test_should_connect_to_the_checked_address_with_the_original_host_and_tls_name():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    resolve, calls = _resolver({"jwks.example": [PUBLIC_V4]})
    jwks = RemoteJWKS(
        "https://jwks.example/keys.json",
        guard=SSRFGuard(resolver=resolve),
        transport=httpx.MockTransport(handler),
    )
    with pytest.raises(JWKSFetchError, match="HTTP 500"):
        jwks.select("k1", "ES256")
    (request,) = seen
    assert request.url.host == PUBLIC_V4  # connected to the checked address...
    assert request.headers["Host"] == "jwks.example"  # ...speaking to the named host
    assert request.extensions["sni_hostname"] == "jwks.example"  # TLS SNI + verification
    assert "authorization" not in request.headers and "cookie" not in request.headers
    assert calls == ["jwks.example"]  # resolved once: no second answer can be swapped in


def test_should_refuse_as_a_bad_call_a_configuration_that_can_never_fetch():
    with pytest.raises(ValueError):
        RemoteJWKS("http://jwks.example/keys")
    with pytest.raises(ValueError):
        RemoteJWKS("https://jwks.example/keys", guard=SSRFGuard(), allow_loopback_http=True)
    with pytest.raises(ValueError):
        RemoteJWKS("https://jwks.example/keys", timeout=0)
    with pytest.raises(ValueError):
        RemoteJWKS("https://jwks.example/keys", min_cache=100, max_cache=10)
    with pytest.raises(TypeError):
        RemoteJWKS("https://jwks.example/keys", transport=object())  # type: ignore[arg-type]
