"""Attacks on the remote key set fetch: every way to reach inward, redirects, slow and huge
answers, hostile documents. Real sockets on 127.0.0.1 where the network matters; an injected
resolver where a test needs a name to resolve somewhere no test may go (nothing connects to
those addresses: the guard refuses them first, or the fetch is pinned to 127.0.0.1)."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jwtwarden import FixedClock, generate_key
from jwtwarden.errors import FetchRefusedError, JWKSFetchError
from jwtwarden.jwks import RemoteJWKS, SSRFGuard, address_refusal
from jwtwarden.jwks._document import cache_seconds
from jwtwarden.keys.key import Key

from ..jwks._servers import CountingServer, Route, counting_server, wait_until

NOW = 1_800_000_000.0
PUBLIC_V4 = "93.184.216.34"


@pytest.fixture(scope="module")
def key() -> Key:
    return generate_key("ES256", kid="k1")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with counting_server() as srv:
        yield srv


@pytest.fixture
def other() -> Iterator[CountingServer]:
    """A second origin on 127.0.0.1 (another port): where an attacker wants requests to go."""
    with counting_server() as srv:
        yield srv


def _table(mapping: dict[str, list[str]]) -> Any:
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return mapping[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


# --- the address forms ------------------------------------------------------------------------

# Numeric and odd spellings of inward addresses, resolved by the real system resolver (they are
# numeric: no DNS involved). Each must be refused; "invalid" forms never even parse.
INWARD_SPELLINGS = [
    "https://2130706433/",  # decimal 127.0.0.1
    "https://0x7f.1/",  # hex, short form
    "https://0x7f000001/",
    "https://017700000001/",  # octal
    "https://0x7f.0x0.0x0.0x1/",
    "https://127.1/",  # short form
    "https://0177.0.0.1/",  # octal dotted (httpx refuses to parse it)
    "https://127.000.000.001/",
    "https://[::1]/",
    "https://[0:0::1]/",
    "https://[0000:0000:0000:0000:0000:0000:0000:0001]/",
    "https://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "https://[::ffff:7f00:1]/",
    "https://[::127.0.0.1]/",  # IPv4-compatible
    "https://[fe80::1%25eth0]/",  # zone id
    "https://[::]/",
    "https://0.0.0.0/",
    "https://0/",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "HtTpS://169.254.169.254/",  # mixed-case scheme
    "https://[::ffff:a9fe:a9fe]/",  # metadata, IPv4-mapped
    "https://[fd00:ec2::254]/",  # AWS metadata over IPv6
    "https://[64:ff9b::a9fe:a9fe]/",  # metadata through NAT64
    "https://[2002:a9fe:a9fe::]/",  # metadata through 6to4
    "https://10.0.0.1/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",
    "https://127.0.0.1:22/",  # any port
    "https://１２７.０.０.１/",  # noqa: RUF001  (fullwidth digits: the attack)
    "https://①②⑦.0.0.1/",  # circled digits
    "https://ⅰ27.0.0.1/",  # noqa: RUF001  (a Roman numeral one)
]


@pytest.mark.parametrize("url", INWARD_SPELLINGS)
def test_should_refuse_every_spelling_of_an_inward_address(url: str):
    guard = SSRFGuard()
    with pytest.raises(FetchRefusedError):
        guard.check(url)
    assert guard.refusals == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://[::ffff:127.0.0.1]/",  # loopback, but only in its plain form
        "https://[::127.0.0.1]/",
        "https://[fe80::1%25eth0]/",
        "https://0.0.0.0/",
        "https://[::]/",
        "http://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "http://10.0.0.1/",
        "https://192.168.1.1/",
        "https://100.64.0.1/",
    ],
)
def test_should_refuse_everything_but_plain_loopback_even_with_the_development_switch(url: str):
    with pytest.raises(FetchRefusedError):
        SSRFGuard(allow_loopback_http=True).check(url)


@pytest.mark.parametrize(
    "host",
    ["2130706433", "0x7f.1", "127.1", "0x7f000001", "[::ffff:127.0.0.1]", "localhost"],
)
def test_should_make_no_connection_to_a_loopback_server_named_in_any_spelling(
    server: CountingServer, clock: FixedClock, host: str
):
    server.serve_json("/jwks", {"keys": []})
    jwks = RemoteJWKS(f"https://{host}:{server.port}/jwks", clock=clock)  # switch off
    with pytest.raises(FetchRefusedError):
        jwks.select("k1", "ES256")
    assert server.connections == 0


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("https://localhost./", {"localhost.": ["127.0.0.1"]}),  # trailing dot
        ("https://LOCALHOST/", {"localhost": ["127.0.0.1"]}),  # case
        ("https://Metadata.Google.Internal./", {"metadata.google.internal.": ["169.254.169.254"]}),
        ("https://xn--bcher-kva.example/", {"xn--bcher-kva.example": ["10.0.0.1"]}),  # punycode
        ("https://bücher.example/", {"xn--bcher-kva.example": ["10.0.0.1"]}),  # IDNA
        ("https://jwks.example/", {"jwks.example": [PUBLIC_V4, "10.1.2.3"]}),  # mixed answer
        ("https://jwks.example/", {"jwks.example": [PUBLIC_V4, "::ffff:7f00:1"]}),
        ("https://jwks.example/", {"jwks.example": ["fe80::1%eth0"]}),
        ("https://jwks.example/", {"jwks.example": [PUBLIC_V4] * 0 + ["0.0.0.0"]}),
    ],
)
def test_should_refuse_a_name_whose_answer_holds_any_inward_address(
    url: str, names: dict[str, list[str]]
):
    resolve = _table(names)
    with pytest.raises(FetchRefusedError, match="refused address"):
        SSRFGuard(resolver=resolve).check(url)
    assert resolve.calls == list(names)  # resolved exactly the name httpx would connect to


def test_should_refuse_a_name_resolving_to_more_addresses_than_it_will_check():
    resolve = _table({"jwks.example": [f"93.184.216.{i}" for i in range(1, 40)]})
    with pytest.raises(FetchRefusedError, match="more than"):
        SSRFGuard(resolver=resolve).check("https://jwks.example/")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("https://good.example@evil.example/", "credentials"),
        ("https://user:secret@good.example/", "credentials"),
        ("https://:@good.example/", "credentials"),
        ("https://good.example\\@evil.example/", "credentials"),
        ("https://good.example%2f@evil.example/", "credentials"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://127.0.0.1:6379/_INFO", "scheme"),
        ("data:application/json,{}", "scheme"),
        ("ftp://good.example/jwks", "scheme"),
        ("ws://good.example/jwks", "scheme"),
        ("//good.example/jwks", "scheme"),
        ("https:/good.example/jwks", "host"),
        ("http://good.example/jwks", "plain http"),
        ("HTTP://good.example/jwks", "plain http"),
    ],
)
def test_should_refuse_credentials_other_schemes_and_plain_http_before_resolving(
    url: str, match: str
):
    resolve = _table({})
    with pytest.raises(FetchRefusedError, match=match):
        SSRFGuard(resolver=resolve).check(url)
    assert resolve.calls == []


def test_should_judge_the_host_the_client_connects_to_not_the_one_after_a_fragment_at_sign():
    # "https://evil#@good/": the host is evil (WHATWG and httpx agree); judging "good" would
    # let evil through.
    resolve = _table({"evil.example": ["10.0.0.9"], "good.example": [PUBLIC_V4]})
    with pytest.raises(FetchRefusedError, match="private"):
        SSRFGuard(resolver=resolve).check("https://evil.example#@good.example/")
    assert resolve.calls == ["evil.example"]


def test_should_refuse_plain_http_to_a_loopback_name_resolving_elsewhere_too():
    resolve = _table({"dev.example": ["127.0.0.1", PUBLIC_V4]})
    with pytest.raises(FetchRefusedError, match="only to loopback"):
        SSRFGuard(allow_loopback_http=True, resolver=resolve).check("http://dev.example/")


# --- NAT64 (fixed) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b:1:7f00:0:100:808:808",  # /48 layout: 127.0.0.1; the last 32 bits say 8.8.8.8
        "64:ff9b:1::808:808",
        "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
    ],
)
def test_should_refuse_the_local_use_nat64_prefix_whose_layout_it_cannot_know(address: str):
    # RFC 8215: under 64:ff9b:1::/48 the network chooses where the IPv4 address sits, so an
    # address that looks public in its last 32 bits may reach loopback. Without the fix the
    # first address passed as "NAT64 of 8.8.8.8".
    assert address_refusal(address) == "nat64_local"


def test_should_refuse_a_blocked_ipv4_network_reached_through_its_nat64_form():
    resolve = _table({"jwks.example": ["64:ff9b::808:808"]})  # NAT64 of 8.8.8.8
    guard = SSRFGuard(resolver=resolve, blocked_networks=["8.8.8.0/24"])
    with pytest.raises(FetchRefusedError, match="blocked_network"):
        guard.check("https://jwks.example/")


def test_should_still_allow_the_well_known_nat64_form_of_a_public_address():
    assert address_refusal("64:ff9b::808:808") is None


# --- rebinding ----------------------------------------------------------------------------------


def test_should_connect_to_the_address_it_checked_and_never_resolve_again(
    server: CountingServer, clock: FixedClock, key: Key
):
    # The second answer would be private; "rebind.example" does not exist in real DNS, so a
    # client resolving again by itself would fail. The fetch works: it used the checked address.
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]])
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    server.serve_keys("/jwks", [key.public_key()])
    guard = SSRFGuard(allow_loopback_http=True, resolver=resolve)
    jwks = RemoteJWKS(f"http://rebind.example:{server.port}/jwks", guard=guard, clock=clock)
    assert jwks.select("k1", "ES256").kid == "k1"
    assert calls == ["rebind.example"]
    assert server.seen[0][1]["Host"] == f"rebind.example:{server.port}"


# --- redirects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_should_never_follow_a_redirect_of_any_kind_to_another_origin(
    server: CountingServer, other: CountingServer, clock: FixedClock, key: Key, status: int
):
    other.serve_keys("/jwks", [key.public_key()])
    server.routes["/jwks"] = Route(status, b"", {"Location": other.url("/jwks")})
    jwks = RemoteJWKS(server.url("/jwks"), allow_loopback_http=True, clock=clock)
    with pytest.raises(FetchRefusedError, match="redirect"):
        jwks.select("k1", "ES256")
    assert other.connections == 0


@pytest.mark.parametrize(
    "location",
    ["/jwks2", "//127.0.0.1:{port}/jwks", "/\\127.0.0.1:{port}/jwks", "", "http://[::1]:{port}/"],
)
def test_should_refuse_every_redirect_whatever_its_location_says(
    server: CountingServer, other: CountingServer, clock: FixedClock, key: Key, location: str
):
    server.serve_keys("/jwks2", [key.public_key()])
    server.routes["/jwks"] = Route(302, b"", {"Location": location.format(port=other.port)})
    with pytest.raises(FetchRefusedError, match="redirect"):
        RemoteJWKS(server.url("/jwks"), allow_loopback_http=True, clock=clock).select("k1", "ES256")
    assert other.connections == 0
    assert server.counts["/jwks2"] == 0


def test_should_not_follow_a_redirect_of_the_discovery_document_either(
    server: CountingServer, other: CountingServer, clock: FixedClock
):
    issuer = server.url("")
    other.serve_json(
        "/.well-known/openid-configuration", {"issuer": issuer, "jwks_uri": other.url("/jwks")}
    )
    server.routes["/.well-known/openid-configuration"] = Route(
        307, b"", {"Location": other.url("/.well-known/openid-configuration")}
    )
    jwks = RemoteJWKS.from_discovery(issuer, allow_loopback_http=True, clock=clock)
    with pytest.raises(FetchRefusedError, match="redirect"):
        jwks.select("k1", "ES256")
    assert other.connections == 0


# --- slow answers (fixed: the whole fetch has a deadline) ---------------------------------------


class DripServer:
    """A raw TCP server on 127.0.0.1 that sends ``head`` and then one byte of ``drip`` every
    ``interval`` seconds, ``count`` times: slow enough per byte never to trip a per-read
    timeout. ``finished`` tells whether it could send it all (the client never hung up)."""

    def __init__(self, head: bytes, drip: bytes, *, interval: float, count: int) -> None:
        self.finished: bool | None = None
        self.done = threading.Event()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(4)
        self.port = self._sock.getsockname()[1]
        self._head, self._drip, self._interval, self._count = head, drip, interval, count
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except OSError:
            return
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(self._head)
                for _ in range(self._count):
                    if self._stop.wait(self._interval):
                        break
                    conn.sendall(self._drip)
                self.finished = not self._stop.is_set()
            except OSError:
                self.finished = False  # the client hung up part way
            finally:
                self.done.set()

    def close(self) -> None:
        self._stop.set()
        self._sock.close()


HEADER_DRIP = (b"HTTP/1.1 200 OK\r\n", b"X")
BODY_DRIP = (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b" ")


@pytest.mark.parametrize(("head", "drip"), [HEADER_DRIP, BODY_DRIP], ids=["headers", "body"])
def test_should_give_up_on_a_server_dripping_bytes_by_the_overall_deadline(
    clock: FixedClock, head: bytes, drip: bytes
):
    # 0.05 s per byte never trips the 0.2 s per-read timeout; 200 bytes would take 10 s.
    # Without the overall deadline the header drip ran to its end (the server "finished");
    # the body already had a deadline of its own.
    drip_server = DripServer(head, drip, interval=0.05, count=200)
    try:
        jwks = RemoteJWKS(
            f"http://127.0.0.1:{drip_server.port}/jwks",
            allow_loopback_http=True,
            timeout=0.2,
            clock=clock,
        )
        with pytest.raises(JWKSFetchError, match=r"deadline|too slow"):
            jwks.refresh()
        wait_until(drip_server.done.is_set, "the drip server to see the client go")
        assert drip_server.finished is False
    finally:
        drip_server.close()


@pytest.mark.parametrize(("head", "drip"), [HEADER_DRIP, BODY_DRIP], ids=["headers", "body"])
async def test_should_give_up_on_a_dripping_server_by_the_deadline_in_async_code_too(
    clock: FixedClock, head: bytes, drip: bytes
):
    drip_server = DripServer(head, drip, interval=0.05, count=200)
    try:
        jwks = RemoteJWKS(
            f"http://127.0.0.1:{drip_server.port}/jwks",
            allow_loopback_http=True,
            timeout=0.2,
            clock=clock,
        )
        with pytest.raises(JWKSFetchError, match=r"deadline|too slow"):
            await jwks.arefresh()
        await asyncio.to_thread(drip_server.done.wait, 20)
        assert drip_server.finished is False
    finally:
        drip_server.close()


# --- huge and hostile documents -----------------------------------------------------------------


def test_should_refuse_a_gzip_bomb_without_inflating_it(server: CountingServer, clock: FixedClock):
    bomb = gzip.compress(b'{"keys":[' + b" " * 20_000_000 + b"]}")
    server.routes["/jwks"] = Route(200, bomb, {"Content-Encoding": "gzip"})
    jwks = RemoteJWKS(server.url("/jwks"), allow_loopback_http=True, clock=clock)
    with pytest.raises(JWKSFetchError, match="compressed"):
        jwks.select("k1", "ES256")
    assert server.seen[0][1]["Accept-Encoding"] == "identity"


def test_should_stop_a_chunked_body_at_the_cap_even_when_no_length_is_announced(
    server: CountingServer, clock: FixedClock
):
    server.routes["/jwks"] = Route(200, b"[" * 3_000_000, chunked=True)
    jwks = RemoteJWKS(server.url("/jwks"), allow_loopback_http=True, clock=clock)
    with pytest.raises(JWKSFetchError, match="more than 524288 bytes"):
        jwks.select("k1", "ES256")


def test_should_refuse_an_announced_length_over_the_cap_before_reading(
    server: CountingServer, clock: FixedClock
):
    server.routes["/jwks"] = Route(200, b" " * 600_000)
    with pytest.raises(JWKSFetchError, match="the limit is"):
        RemoteJWKS(server.url("/jwks"), allow_loopback_http=True, clock=clock).refresh()


def _ec_jwk(key: Key) -> dict[str, Any]:
    return dict(key.public_key().public_jwk())


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json</html>",
        b'{"keys": []}',
        b'{"keys": {}}',
        b"[]",
        b'{"keys": [], "keys": []}',
        b'{"keys": [{"kty": "EC", "kty": "RSA"}]}',
        b'{"keys": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
        b'{"keys": [{"kty": "EC", "crv": "P-256", "x": NaN}]}',
        b'\xff\xfe{"keys": []}',
        json.dumps({"keys": [{"kty": "EC"}] * 1000}).encode(),  # thousands of keys
    ],
    ids=[
        "html",
        "empty",
        "keys-object",
        "array",
        "duplicate-keys",
        "duplicate-in-key",
        "deep",
        "nan",
        "utf16",
        "1000-keys",
    ],
)
def test_should_refuse_a_hostile_document_whole_and_keep_serving_the_last_good_set(
    server: CountingServer, clock: FixedClock, key: Key, body: bytes
):
    server.serve_keys("/jwks", [key.public_key()])
    jwks = RemoteJWKS(server.url("/jwks"), allow_loopback_http=True, clock=clock)
    assert jwks.select("k1", "ES256").kid == "k1"
    server.routes["/jwks"] = Route(200, body, {"Content-Type": "application/json"})
    with pytest.raises(JWKSFetchError):
        jwks.refresh()
    assert jwks.select("k1", "ES256").kid == "k1"


# --- Cache-Control (fixed: Age is honoured) ----------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({}, 600),
        ({"Cache-Control": "max-age=300"}, 300),
        ({"Cache-Control": "max-age=999999999999999999999999"}, 86400),  # absurd
        ({"Cache-Control": "max-age=-5"}, 600),  # negative: unreadable, the default
        ({"Cache-Control": "max-age=ten"}, 600),
        ({"Cache-Control": "max-age=1e9"}, 600),
        ({"Cache-Control": "max-age=٣٠٠".encode()}, 600),  # not HTTP digits
        ({"Cache-Control": "max-age=0"}, 60),
        ({"Cache-Control": "no-store, max-age=9000"}, 60),
        ({"Cache-Control": 'max-age="3000"'}, 3000),
        ({"Cache-Control": "max-age=3000", "Age": "2900"}, 100),  # a cache held it 2900 s
        ({"Cache-Control": "max-age=3000", "Age": "9999"}, 60),
        ({"Cache-Control": "max-age=3000", "Age": "-10"}, 3000),
    ],
)
def test_should_bound_freshness_whatever_cache_control_and_age_say(
    headers: dict[str, Any], seconds: float
):
    # Without the fix, Age was ignored: a copy a CDN had held for 2900 s stayed fresh 3000 s
    # more, so a removed key stayed trusted for longer than the issuer said.
    assert cache_seconds(httpx.Headers(headers), default=600, minimum=60, maximum=86400) == seconds


# --- discovery ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "claimed", ["{issuer}/", "{issuer_upper}", "{issuer}/other", "https://evil.example", None, 7]
)
def test_should_refuse_a_discovery_document_whose_issuer_is_not_exactly_ours(
    server: CountingServer, clock: FixedClock, key: Key, claimed: Any
):
    issuer = server.url("")
    if isinstance(claimed, str):
        claimed = claimed.format(issuer=issuer, issuer_upper=issuer.upper())
    server.serve_json(
        "/.well-known/openid-configuration", {"issuer": claimed, "jwks_uri": server.url("/jwks")}
    )
    server.serve_keys("/jwks", [key.public_key()])
    jwks = RemoteJWKS.from_discovery(issuer, allow_loopback_http=True, clock=clock)
    with pytest.raises(JWKSFetchError, match="another issuer"):
        jwks.select("k1", "ES256")
    assert server.counts["/jwks"] == 0


@pytest.mark.parametrize(
    "jwks_uri",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/jwks",
        "file:///etc/passwd",
        "http://user:pw@127.0.0.1:{port}/jwks",
        "https://[::ffff:169.254.169.254]/",
    ],
)
def test_should_pass_a_discovered_jwks_uri_through_the_guard(
    server: CountingServer, other: CountingServer, clock: FixedClock, jwks_uri: str
):
    issuer = server.url("")
    server.serve_json(
        "/.well-known/openid-configuration",
        {"issuer": issuer, "jwks_uri": jwks_uri.format(port=other.port)},
    )
    jwks = RemoteJWKS.from_discovery(issuer, allow_loopback_http=True, clock=clock)
    with pytest.raises(FetchRefusedError):
        jwks.select("k1", "ES256")
    assert other.connections == 0
