"""The verifier side of the ``Issuer``: the ``VerificationPolicy`` that accepts one profile's
tokens and refuses every other profile's (RFC 8725 section 2.8, cross-JWT confusion).

The policy's keys are the provider's *current* verification keys of the profile's use, looked
up on every token (``UseKeys``), so a rotation is followed without building a new policy, and a
token of another use (signed with another use's key) fails with ``unknown_key``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Protocol

from .clock import Clock
from .policy import VerificationPolicy
from .token_profiles import TokenProfile

if TYPE_CHECKING:
    from .keys.key import Key
    from .keys.keyset import KeySet

__all__ = ["UseKeys", "VerificationKeyProvider", "policy_for"]


class VerificationKeyProvider(Protocol):
    def verification_keys(self, token_use: str | None = None) -> KeySet: ...


class UseKeys:
    """A live key source: the provider's current verification keys of one use."""

    __slots__ = ("_provider", "_use")

    def __init__(self, provider: VerificationKeyProvider, use: str) -> None:
        self._provider = provider
        self._use = use

    def select(self, kid: str | None, alg: str) -> Key:
        return self._provider.verification_keys(self._use).select(kid, alg)

    def __repr__(self) -> str:
        return f"UseKeys(use={self._use!r})"


def policy_for(
    profile: TokenProfile,
    *,
    provider: VerificationKeyProvider,
    issuer: str,
    clock: Clock,
    audience: str | Collection[str],
    overrides: dict[str, Any],
) -> VerificationPolicy:
    """See ``Issuer.verification_policy``; ``overrides`` is the caller's own dict (consumed)."""
    keys = overrides.pop("keys", None) or UseKeys(provider, profile.token_use)
    algorithms = overrides.pop("algorithms", None)
    if algorithms is None:
        algorithms = sorted(provider.verification_keys(profile.token_use).algorithms)
        if not algorithms:
            raise ValueError(f"no verification keys for {profile.token_use!r} tokens yet")
    kwargs: dict[str, Any] = {
        "algorithms": algorithms,
        "issuer": issuer,
        "keys": keys,
        "audience": audience,
        "clock": clock,
        **overrides,
    }
    return VerificationPolicy.for_profile(profile, **kwargs)
