"""The framework-free OAuth client core: redirect URI rules, secrets, client authentication
(memory store, fixed clock) and the grant registry."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from jwtwarden.clock import FixedClock
from jwtwarden.errors import InvalidClientError
from jwtwarden.oauth.authentication import ClientAuthenticator
from jwtwarden.oauth.client_secrets import SecretHasher, load_pepper
from jwtwarden.oauth.clients import (
    Client,
    ClientType,
    match_redirect_uri,
    validate_redirect_uri,
)
from jwtwarden.oauth.grants import GrantRegistry, TokenRequest, TokenResult
from jwtwarden.oauth.registry import ClientRegistry, ServerLimits
from jwtwarden.stores.memory import MemoryClientStore

NOW = 1_800_000_000.0
REGISTERED = "https://app.example.com/callback"


@pytest.mark.parametrize(
    "variant",
    [
        "https://app.example.com/callback/",  # trailing slash
        "https://APP.example.com/callback",  # case of the host
        "https://app.example.com/Callback",  # case of the path
        "https://app.example.com/callback/more",  # a longer path
        "https://app.example.com/callback?x=1",  # a query
        "https://app.example.com/callback#f",  # a fragment
        "https://evil@app.example.com/callback",  # userinfo
        "https://app.example.com:443/callback",  # an explicit default port
        "http://app.example.com/callback",  # another scheme
        "https://app.example.com.evil.example/callback",  # a suffix host
        "https://app.example.com/%63allback",  # percent-encoding
    ],
)
def test_should_match_a_redirect_uri_only_as_the_exact_registered_string(variant: str) -> None:
    assert match_redirect_uri([REGISTERED], REGISTERED, loopback_any_port=True)
    assert not match_redirect_uri([REGISTERED], variant, loopback_any_port=True)


def test_should_let_a_public_clients_loopback_uri_match_any_port_and_nothing_else() -> None:
    registered = ["http://127.0.0.1/cb", "http://[::1]:8080/cb"]
    for uri in ("http://127.0.0.1:51234/cb", "http://127.0.0.1/cb", "http://[::1]:1/cb"):
        assert match_redirect_uri(registered, uri, loopback_any_port=True), uri
    for uri in (
        "http://127.0.0.1:51234/cb/",  # the path still exact
        "http://localhost:51234/cb",  # never localhost (RFC 8252 8.3)
        "http://127.0.0.2:51234/cb",
        "https://127.0.0.1:51234/cb",
        "http://127.0.0.1:99999/cb",
    ):
        assert not match_redirect_uri(registered, uri, loopback_any_port=True), uri
    # A confidential client: the port is part of the exact string.
    assert not match_redirect_uri(registered, "http://127.0.0.1:51234/cb", loopback_any_port=False)
    public = Client(
        client_id="p", name="P", type=ClientType.PUBLIC, redirect_uris=("http://127.0.0.1/cb",)
    )
    assert public.redirect_uri_allowed("http://127.0.0.1:4000/cb")


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost/cb",
        "https://localhost/cb",
        "http://app.example.com/cb",
        "https://user@app.example.com/cb",
        "https://app.example.com/cb#frag",
        "https://*.example.com/cb",
        "javascript:alert(1)",
        "custom.scheme:/cb",
        "https://app.example.com/c b",
        "https://app.example.com:70000/cb",
        "",
    ],
)
def test_should_refuse_to_register_an_unsafe_redirect_uri(uri: str) -> None:
    with pytest.raises(ValueError):
        validate_redirect_uri(uri)


def test_should_accept_https_and_loopback_redirect_uris() -> None:
    for uri in ("https://app.example.com/cb?x=1", "http://127.0.0.1:8000/cb", "http://[::1]/"):
        assert validate_redirect_uri(uri) == uri


def test_should_refuse_an_inconsistent_client() -> None:
    with pytest.raises(ValueError, match="confidential clients only"):
        Client(
            client_id="p",
            name="P",
            type=ClientType.PUBLIC,
            grant_types=frozenset({"client_credentials"}),
        )
    with pytest.raises(ValueError, match="exactly one of jwks and jwks_uri"):
        Client(
            client_id="c",
            name="C",
            type=ClientType.CONFIDENTIAL,
            grant_types=frozenset({"client_credentials"}),
            token_endpoint_auth_method="private_key_jwt",
        )


def test_should_never_show_a_secret_or_its_hash_in_repr() -> None:
    hasher = SecretHasher(b"k" * 32)
    secret, record = hasher.new_secret(NOW)
    client = _confidential(record)
    for text in (repr(client), repr(record), repr(hasher)):
        assert secret not in text and record.digest.hex() not in text and "kkkk" not in text


def test_should_keep_the_pepper_file_private_and_stable(tmp_path: Any) -> None:
    data = tmp_path / "data"
    first = load_pepper(None, data)
    assert load_pepper(None, data) == first
    assert (data / "client-secret-pepper.key").stat().st_mode & 0o077 == 0
    assert load_pepper(b"K" * 32, None) != first  # from the KEK: the file is not used


def _confidential(record: Any, method: str = "client_secret_basic") -> Client:
    return Client(
        client_id="svc",
        name="Service",
        type=ClientType.CONFIDENTIAL,
        grant_types=frozenset({"client_credentials"}),
        token_endpoint_auth_method=method,
        secret_hashes=(record,),
    )


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def _authenticator() -> tuple[ClientAuthenticator, str, MemoryClientStore, FixedClock]:
    clock = FixedClock(NOW)
    hasher = SecretHasher(b"k" * 32)
    store = MemoryClientStore()
    registry = ClientRegistry(
        store,
        hasher,
        ServerLimits(
            scopes=frozenset({"read"}),
            audiences=("https://api.example.com",),
            access_token_ttl=600,
            refresh_idle_ttl=3600,
            refresh_absolute_ttl=7200,
            reserved_ids=frozenset({"jwtwarden"}),
        ),
        clock=clock,
    )
    created = await registry.create(name="Svc", grant_types=["client_credentials"])
    assert created.client_secret is not None
    first_party = Client(
        client_id="jwtwarden",
        name="first-party",
        type=ClientType.PUBLIC,
        grant_types=frozenset({"refresh_token"}),
    )
    auth = ClientAuthenticator(clients=store, secrets=hasher, first_party=first_party, clock=clock)
    return auth, created.client.client_id + ":" + created.client_secret, store, clock


async def test_should_authenticate_with_basic_in_both_encodings() -> None:
    auth, pair, _, _ = await _authenticator()
    client_id, secret = pair.split(":", 1)
    for given in (secret, secret.replace("-", "%2D")):
        result = await auth.authenticate(authorization=_basic(client_id, given), form={})
        assert result.client.client_id == client_id and result.method == "client_secret_basic"
    with pytest.raises(InvalidClientError) as refused:
        await auth.authenticate(authorization=_basic(client_id, secret + "+"), form={})
    assert refused.value.header_used is True


async def test_should_refuse_two_methods_a_wrong_method_and_an_unknown_client() -> None:
    auth, pair, _, _ = await _authenticator()
    client_id, secret = pair.split(":", 1)
    cases: list[tuple[str | None, dict[str, str]]] = [
        (_basic(client_id, secret), {"client_secret": secret, "client_id": client_id}),
        (None, {"client_id": client_id, "client_secret": secret}),  # post, registered basic
        (None, {"client_id": client_id}),  # no credentials for a confidential client
        (_basic("nobody", secret), {}),
        (_basic(client_id, secret), {"client_id": "someone-else"}),
        ("Bearer abc", {}),
        (None, {}),  # nobody named, and no anonymous access here
    ]
    for header, form in cases:
        with pytest.raises(InvalidClientError):
            await auth.authenticate(authorization=header, form=form)


async def test_should_refuse_credentials_for_the_first_party_client_and_allow_it_anonymous() -> (
    None
):
    auth, _, _, _ = await _authenticator()
    anonymous = await auth.authenticate(authorization=None, form={}, anonymous_ok=True)
    assert anonymous.client.client_id == "jwtwarden" and anonymous.method == "none"
    with pytest.raises(InvalidClientError):
        await auth.authenticate(authorization=_basic("jwtwarden", "guess"), form={})


async def test_should_accept_the_previous_secret_until_the_overlap_ends_exactly() -> None:
    auth, pair, store, clock = await _authenticator()
    client_id, old = pair.split(":", 1)
    hasher = auth.secrets
    new, record = hasher.new_secret(NOW)
    await store.rotate_secret(client_id, record, previous_expires_at=NOW + 100, now=NOW)
    clock.set(NOW + 99.999)
    await auth.authenticate(authorization=_basic(client_id, old), form={})
    clock.set(NOW + 100)
    with pytest.raises(InvalidClientError):
        await auth.authenticate(authorization=_basic(client_id, old), form={})
    await auth.authenticate(authorization=_basic(client_id, new), form={})


async def test_should_refuse_a_disabled_client() -> None:
    auth, pair, store, _ = await _authenticator()
    client_id, secret = pair.split(":", 1)
    await store.set_disabled(client_id, True)
    with pytest.raises(InvalidClientError):
        await auth.authenticate(authorization=_basic(client_id, secret), form={})


class _Echo:
    grant_type = "urn:example:echo"

    async def exchange(self, request: TokenRequest) -> TokenResult:
        return TokenResult(access_token="a", expires_in=1, scope=request.parameters["scope"])


def test_should_dispatch_grants_by_type_and_refuse_a_second_registration() -> None:
    registry = GrantRegistry([_Echo()])
    assert registry.get("urn:example:echo") is not None and registry.get("password") is None
    assert registry.grant_types == ("urn:example:echo",)
    with pytest.raises(ValueError, match="registered already"):
        registry.register(_Echo())


async def test_should_never_generate_a_client_id_a_command_line_reads_as_an_option() -> None:
    _, _, store, _ = await _authenticator()
    registry = ClientRegistry(
        store,
        SecretHasher(b"k" * 32),
        ServerLimits(
            scopes=frozenset(),
            audiences=("https://api.example.com",),
            access_token_ttl=600,
            refresh_idle_ttl=3600,
            refresh_absolute_ttl=7200,
        ),
    )
    # About one id in 32 would start with "-" or "_" without the rule (base64url alphabet).
    ids = [registry._new_id() for _ in range(2000)]
    assert all(client_id[0].isalnum() for client_id in ids)
