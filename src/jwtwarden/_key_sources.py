"""The key-source protocols and how a verifier asks one source for a key.

A verifier asks the source of the token's issuer for the one key matching the token's ``kid``
and ``alg``. Three shapes of source exist, each an explicit protocol:

- ``KeySource``: ``select(kid, alg)`` (a ``KeySet``, any custom source);
- ``AsyncKeySource``: also ``async aselect(kid, alg)`` (``RemoteJWKS``), preferred by
  ``verify_async`` so a refresh never blocks the event loop;
- ``HeaderKeySource``: ``select_for_header(header, kid, alg)`` and its async twin
  (``TrustedJKU``), for a source that needs the protected header (an allowlisted ``jku``).
  It is asked with the header only when the policy allows such headers.

Which method answers is decided once, when the verifier is built (``key_selector``), not
looked up on every token: the verifier, the verified-token cache and ``explain`` all call the
same ``KeySelector``, so they cannot disagree on which key a token gets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .keys.key import Key

__all__ = [
    "AsyncKeySource",
    "HeaderKeySource",
    "KeySelector",
    "KeySource",
    "key_selector",
]


@runtime_checkable
class KeySource(Protocol):
    """Where a verifier gets keys: a ``KeySet``, or a remote JWKS client.

    ``select`` returns the one key for the token's ``kid`` and ``alg`` or raises
    ``UnknownKeyError`` / ``AlgorithmNotAllowedError``. A source may also be an
    ``AsyncKeySource`` (``aselect``, for ``verify_async``) or a ``HeaderKeySource``
    (``select_for_header`` / ``aselect_for_header``, when it needs the protected header, as
    ``TrustedJKU`` does); the verifier prefers those when present.
    """

    def select(self, kid: str | None, alg: str) -> Key: ...


@runtime_checkable
class AsyncKeySource(KeySource, Protocol):
    """A ``KeySource`` that can also be awaited (``verify_async`` prefers ``aselect``)."""

    async def aselect(self, kid: str | None, alg: str) -> Key: ...


@runtime_checkable
class HeaderKeySource(KeySource, Protocol):
    """A ``KeySource`` that picks the key from the whole protected header (``TrustedJKU``).

    Both methods are part of the protocol: a source with only one of them is asked by
    ``kid`` and ``alg`` like any ``KeySource``.
    """

    def select_for_header(self, header: dict[str, Any], kid: str | None, alg: str) -> Key: ...

    async def aselect_for_header(
        self, header: dict[str, Any], kid: str | None, alg: str
    ) -> Key: ...


SelectKey = Callable[[dict[str, Any], str | None, str], "Key"]
ASelectKey = Callable[[dict[str, Any], str | None, str], Awaitable["Key"]]


class KeySelector(NamedTuple):
    """One source's key lookup, resolved once: ``select(header, kid, alg)`` and its async twin."""

    source: KeySource
    select: SelectKey
    aselect: ASelectKey


def key_selector(source: KeySource, *, by_header: bool) -> KeySelector:
    """Resolve how ``source`` is asked for a key (``by_header``: the policy allows headers
    such as ``jku`` that a ``HeaderKeySource`` reads).

    The methods are looked up on the source at each call, as before, so a source that swaps
    its methods (a test double, a hot-reloaded client) is still asked through the new ones.
    """
    if by_header and isinstance(source, HeaderKeySource):
        header_source = source

        def by_header_sync(header: dict[str, Any], kid: str | None, alg: str) -> Key:
            return header_source.select_for_header(header, kid, alg)

        async def by_header_async(header: dict[str, Any], kid: str | None, alg: str) -> Key:
            return await header_source.aselect_for_header(header, kid, alg)

        return KeySelector(source, by_header_sync, by_header_async)

    def by_kid(header: dict[str, Any], kid: str | None, alg: str) -> Key:
        return source.select(kid, alg)

    if isinstance(source, AsyncKeySource):
        async_source = source

        async def by_kid_async(header: dict[str, Any], kid: str | None, alg: str) -> Key:
            return await async_source.aselect(kid, alg)

    else:

        async def by_kid_async(header: dict[str, Any], kid: str | None, alg: str) -> Key:
            return source.select(kid, alg)

    return KeySelector(source, by_kid, by_kid_async)
