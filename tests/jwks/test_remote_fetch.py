"""The fetch on real sockets: no redirects, size cap, no cookies, no proxies, pinning, TLS."""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jwtwarden import FixedClock
from jwtwarden.errors import FetchRefusedError, JWKSFetchError
from jwtwarden.jwks import RemoteJWKS, SSRFGuard
from jwtwarden.keys.key import Key

from ._servers import CountingServer, Route, counting_server


def _jwks(
    server: CountingServer, clock: FixedClock, path: str = "/jwks", **kw: object
) -> RemoteJWKS:
    return RemoteJWKS(server.url(path), allow_loopback_http=True, clock=clock, **kw)  # type: ignore[arg-type]


def test_should_refuse_a_redirect_and_never_follow_it(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    server.serve_keys("/elsewhere", [signing_key])
    server.routes["/jwks"] = Route(302, b"", {"Location": server.url("/elsewhere")})
    jwks = _jwks(server, clock)
    with pytest.raises(FetchRefusedError, match="redirect"):
        jwks.select("k1", "ES256")
    assert server.counts["/elsewhere"] == 0
    assert (jwks.refusals, jwks.failures) == (1, 0)


@pytest.mark.parametrize("chunked", [False, True])
def test_should_stop_reading_at_the_size_cap(
    server: CountingServer, clock: FixedClock, chunked: bool
):
    body = b'{"keys": [], "padding": "' + b"x" * 40_000 + b'"}'
    server.routes["/jwks"] = Route(200, body, chunked=chunked)
    with pytest.raises(JWKSFetchError, match="32768"):
        _jwks(server, clock, max_bytes=32 * 1024).select("k1", "ES256")


def test_should_refuse_a_compressed_body_it_did_not_ask_for(
    server: CountingServer, clock: FixedClock
):
    server.routes["/jwks"] = Route(200, b"\x1f\x8b junk", {"Content-Encoding": "gzip"})
    with pytest.raises(JWKSFetchError, match="compressed"):
        _jwks(server, clock).select("k1", "ES256")
    assert server.seen[0][1]["Accept-Encoding"] == "identity"


def test_should_send_no_cookie_or_credential_back_to_the_key_server(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    server.serve_keys("/jwks", [signing_key], **{"Set-Cookie": "session=abc; Path=/"})
    jwks = _jwks(server, clock)
    jwks.refresh()
    jwks.refresh()
    assert server.counts["/jwks"] == 2
    assert [path for path, _ in server.seen] == ["/jwks", "/jwks"]  # headers of both requests
    for _, headers in server.seen:
        lowered = {k.lower() for k in headers}
        assert "cookie" not in lowered and "authorization" not in lowered


def test_should_ignore_proxy_settings_from_the_environment(
    server: CountingServer, clock: FixedClock, signing_key: Key, monkeypatch: pytest.MonkeyPatch
):
    with counting_server() as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.url(""))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        server.serve_keys("/jwks", [signing_key])
        assert _jwks(server, clock).select("k1", "ES256").kid == "k1"
        assert proxy.connections == 0
    assert server.counts["/jwks"] == 1


def test_should_connect_to_the_address_it_checked_once_with_the_name_in_the_host_header(
    server: CountingServer, clock: FixedClock, signing_key: Key
):
    answers: list[str] = []

    def rebinding_resolver(host: str, port: int) -> list[str]:
        # A rebinding DNS server: first a harmless answer, then the metadata address.
        answers.append(host)
        return ["127.0.0.1"] if len(answers) == 1 else ["169.254.169.254"]

    server.serve_keys("/jwks", [signing_key])
    guard = SSRFGuard(allow_loopback_http=True, resolver=rebinding_resolver)
    jwks = RemoteJWKS(f"http://jwks.test:{server.port}/jwks", guard=guard, clock=clock)
    assert jwks.select("k1", "ES256").kid == "k1"
    assert answers == ["jwks.test"]  # one answer, checked and used for the connection
    assert server.seen[0][1]["Host"] == f"jwks.test:{server.port}"
    with pytest.raises(FetchRefusedError, match="link_local"):
        jwks.refresh()  # the next fetch resolves again, and the new answer is refused
    assert server.counts["/jwks"] == 1


def test_should_report_a_closed_port_as_a_fetch_failure(clock: FixedClock):
    from ._servers import free_port

    jwks = RemoteJWKS(f"http://127.0.0.1:{free_port()}/jwks", allow_loopback_http=True)
    with pytest.raises(JWKSFetchError, match="ConnectError"):
        jwks.select("k1", "ES256")
    assert jwks.failures == 1


# --- TLS: the connection goes to the pinned address, the certificate is checked for the name --


def _certificate(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    ca: bool,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False
        ).add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        assert issuer is not None
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("jwtwarden test CA", ca_key, None, ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate("jwks.test", leaf_key, ca, ca_key, ca=False)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.key").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key"


@pytest.fixture
def tls_server(pki: tuple[Path, Path, Path]) -> Iterator[CountingServer]:
    _, cert, key = pki
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with counting_server(tls=context) as srv:
        yield srv


def _client_context(pki: tuple[Path, Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pki[0]))


@pytest.mark.parametrize("name", ["jwks.test", "other.test"])
def test_should_verify_tls_for_the_url_host_name_while_connecting_to_the_pinned_address(
    tls_server: CountingServer,
    clock: FixedClock,
    signing_key: Key,
    pki: tuple[Path, Path, Path],
    name: str,
):
    tls_server.serve_keys("/jwks", [signing_key])
    guard = SSRFGuard(allow_loopback_http=True, resolver=lambda host, port: ["127.0.0.1"])
    jwks = RemoteJWKS(
        f"https://{name}:{tls_server.port}/jwks",
        guard=guard,
        clock=clock,
        ssl_context=_client_context(pki),
    )
    if name == "jwks.test":
        assert jwks.select("k1", "ES256").kid == "k1"
        assert tls_server.seen[0][1]["Host"] == f"jwks.test:{tls_server.port}"
    else:  # the certificate names jwks.test: connecting to the same address as other.test fails
        with pytest.raises(JWKSFetchError):
            jwks.select("k1", "ES256")
        assert tls_server.counts["/jwks"] == 0
