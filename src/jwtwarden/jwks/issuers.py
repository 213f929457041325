"""Several trusted issuers, each with its own remote key set.

The mapping goes straight into ``VerificationPolicy(issuers=...)``: the verifier looks the
token's ``iss`` up in it (exact match) *before* any key is fetched, so a token naming an
issuer outside the mapping causes no network traffic at all, and no URL is ever derived from
the token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .guard import SSRFGuard
from .remote import RemoteJWKS

__all__ = ["issuers_from_discovery"]


def issuers_from_discovery(
    issuers: Iterable[str], *, guard: SSRFGuard | None = None, **options: Any
) -> dict[str, RemoteJWKS]:
    """One ``RemoteJWKS.from_discovery`` per trusted issuer, sharing one guard.

    Nothing is fetched here: each source discovers its ``jwks_uri`` on first use.

    Raises:
        ValueError: an issuer URL the guard can never fetch, or no issuer at all.

    Example:
        >>> policy = VerificationPolicy.access_token(  # doctest: +SKIP
        ...     algorithms=["RS256"], audience="api",
        ...     issuers=issuers_from_discovery(["https://a.example", "https://b.example"]))
    """
    names = list(issuers)
    if not names or any(not isinstance(n, str) for n in names):
        raise ValueError("issuers must be a non-empty list of issuer URLs")
    if guard is None:
        guard = SSRFGuard(allow_loopback_http=bool(options.pop("allow_loopback_http", False)))
    return {iss: RemoteJWKS.from_discovery(iss, guard=guard, **options) for iss in names}
