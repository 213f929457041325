"""Remote key sets for resource servers: ``RemoteJWKS`` (cache, cooldown, single flight,
stale-while-revalidate), the ``SSRFGuard`` every fetch passes, OpenID discovery, several
issuers, and the opt-in ``TrustedJKU``. Needs the ``remote`` extra (``httpx``).

    >>> jwks = RemoteJWKS.from_discovery("https://auth.example.com")  # doctest: +SKIP
    >>> policy = VerificationPolicy.access_token(  # doctest: +SKIP
    ...     algorithms=["ES256"], issuer="https://auth.example.com", audience="api", keys=jwks)
"""

from __future__ import annotations

from .discovery import discovery_url
from .guard import SSRFGuard, Target, address_refusal
from .issuers import issuers_from_discovery
from .jku import TrustedJKU
from .options import CachePolicy, FetchLimits, JWKSStats
from .remote import RemoteJWKS

__all__ = [
    "CachePolicy",
    "FetchLimits",
    "JWKSStats",
    "RemoteJWKS",
    "SSRFGuard",
    "Target",
    "TrustedJKU",
    "address_refusal",
    "discovery_url",
    "issuers_from_discovery",
]
