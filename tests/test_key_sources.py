"""Key sources are typed protocols, and one ``KeySelector`` per issuer decides how each is asked.

``KeySource`` (``select``), ``AsyncKeySource`` (also ``aselect``) and ``HeaderKeySource``
(``select_for_header`` / ``aselect_for_header``) are explicit protocols; ``Verifier`` resolves
once, when it is built, which method answers, and the verified-token cache asks through the
verifier's selector, so a hit and a cold verify always ask the source the same way.
"""

from __future__ import annotations

from typing import Any

import pytest

from jwtwarden import CachedVerifier, KeySet, Verifier
from jwtwarden.errors import UnknownKeyError
from jwtwarden.jwks.jku import TrustedJKU
from jwtwarden.jwks.remote import RemoteJWKS
from jwtwarden.keys.key import Key
from jwtwarden.verify import AsyncKeySource, HeaderKeySource, KeySource
from tests._verify_support import access_claims, key_for, policy, sign

KEY = key_for("ES256")
PUBLIC = KeySet([KEY.public_key()])
JKU = "https://keys.example/a.json"


class SyncOnly:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def select(self, kid: str | None, alg: str) -> Key:
        self.calls.append("select")
        return PUBLIC.select(kid, alg)


class AsyncToo(SyncOnly):
    async def aselect(self, kid: str | None, alg: str) -> Key:
        self.calls.append("aselect")
        return PUBLIC.select(kid, alg)


class ByHeader(AsyncToo):
    def select_for_header(self, header: dict[str, Any], kid: str | None, alg: str) -> Key:
        self.calls.append(f"select_for_header:{header.get('jku')}")
        return PUBLIC.select(kid, alg)

    async def aselect_for_header(self, header: dict[str, Any], kid: str | None, alg: str) -> Key:
        self.calls.append(f"aselect_for_header:{header.get('jku')}")
        return PUBLIC.select(kid, alg)


@pytest.mark.parametrize(
    ("source", "protocols"),
    [
        pytest.param(PUBLIC, {KeySource}, id="a KeySet is a plain KeySource"),
        pytest.param(
            RemoteJWKS("https://issuer.example/jwks.json"),
            {KeySource, AsyncKeySource},
            id="a RemoteJWKS is an AsyncKeySource",
        ),
        pytest.param(
            TrustedJKU([JKU]),
            {KeySource, AsyncKeySource, HeaderKeySource},
            id="a TrustedJKU is a HeaderKeySource",
        ),
    ],
)
def test_should_type_each_shipped_key_source_with_its_protocols(
    source: object, protocols: set[type]
) -> None:
    found = {p for p in (KeySource, AsyncKeySource, HeaderKeySource) if isinstance(source, p)}
    assert found == protocols


# (source, allowed headers, what verify asks, what verify_async asks)
ASKED = [
    pytest.param(SyncOnly, set(), ["select"], ["select"], id="a sync source by select"),
    pytest.param(AsyncToo, set(), ["select"], ["aselect"], id="an async source by aselect"),
    pytest.param(
        ByHeader, set(), ["select"], ["aselect"], id="a header source by kid without jku allowed"
    ),
    pytest.param(
        ByHeader,
        {"jku"},
        [f"select_for_header:{JKU}"],
        [f"aselect_for_header:{JKU}"],
        id="a header source with the header once jku is allowed",
    ),
]


@pytest.mark.parametrize(("kind", "allowed", "sync_calls", "async_calls"), ASKED)
async def test_should_ask_each_kind_of_key_source_through_its_own_protocol_method(
    kind: type[SyncOnly], allowed: set[str], sync_calls: list[str], async_calls: list[str]
) -> None:
    source = kind()
    token = sign(access_claims(), jku=JKU) if allowed else sign(access_claims())
    verifier = Verifier(policy(keys=source, allowed_headers=allowed))
    assert verifier.verify(token).key is PUBLIC.select(KEY.kid, "ES256")
    assert source.calls == sync_calls
    source.calls.clear()
    await verifier.verify_async(token)
    assert source.calls == async_calls


@pytest.mark.parametrize(("kind", "allowed", "sync_calls", "async_calls"), ASKED)
async def test_should_ask_the_key_source_the_same_way_on_a_cache_hit_as_cold(
    kind: type[SyncOnly], allowed: set[str], sync_calls: list[str], async_calls: list[str]
) -> None:
    source = kind()
    token = sign(access_claims(), jku=JKU) if allowed else sign(access_claims())
    cached = CachedVerifier(Verifier(policy(keys=source, allowed_headers=allowed)))
    cached.verify(token)  # cold
    source.calls.clear()
    cached.verify(token)  # hit: the key must still be the one selected
    assert cached.stats.hits == 1
    assert source.calls == sync_calls
    source.calls.clear()
    await cached.verify_async(token)
    assert cached.stats.hits == 2
    assert source.calls == async_calls


async def test_should_ask_a_trusted_jku_default_source_by_aselect_in_verify_async() -> None:
    default = AsyncToo()
    jku = TrustedJKU([JKU], default=default)
    token = sign(access_claims())  # no jku: the default source answers
    verifier = Verifier(policy(keys=jku, allowed_headers={"jku"}))
    verifier.verify(token)
    await verifier.verify_async(token)
    assert default.calls == ["select", "aselect"]


def test_should_refuse_a_trusted_jku_default_that_is_no_key_source() -> None:
    with pytest.raises(TypeError, match="default must be a key source"):
        TrustedJKU([JKU], default=object())  # type: ignore[arg-type]


def test_should_refuse_a_token_without_jku_when_trusted_jku_has_no_default() -> None:
    verifier = Verifier(policy(keys=TrustedJKU([JKU]), allowed_headers={"jku"}))
    with pytest.raises(UnknownKeyError) as info:
        verifier.verify(sign(access_claims()))
    assert info.value.code == "unknown_key"


class HeaderOnly(ByHeader):
    def select(self, kid: str | None, alg: str) -> Key:
        raise UnknownKeyError("this source needs the header")


def test_should_explain_the_key_step_with_the_key_the_verifier_selects() -> None:
    # explain runs Verifier.steps(): its key step asks a HeaderKeySource with the header, as
    # verify does, instead of a copy of the pipeline that asked select(kid, alg).
    from jwtwarden.explain import explain

    source = HeaderOnly()
    token = sign(access_claims(), jku=JKU)
    report = explain(token, policy(keys=source, allowed_headers={"jku"}))
    steps = {c.step: c for c in report.checks}
    assert report.valid is True
    assert [steps[s].passed for s in ("issuer", "key", "signature")] == [True, True, True]
    assert source.calls == [f"select_for_header:{JKU}"] * 2  # the key step, then the verdict


def test_should_list_the_verifier_steps_in_the_order_verify_runs_them() -> None:
    steps = [name for name, _ in Verifier(policy()).steps()]
    assert steps == ["structure", "header", "payload", "issuer", "key", "signature"]
