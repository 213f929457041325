"""``private_key_jwt`` client authentication (RFC 7523 2.2 and 3; OpenID Connect Core 9).

The client signs a short JWT with a key of its own JWK Set (registered inline, or at a
``jwks_uri`` fetched through ``RemoteJWKS`` and its SSRF guard). The assertion is checked by
the library's strict ``Verifier``: an asymmetric algorithm from the allowlist (no HMAC: a
shared secret is what ``client_secret_*`` is for), ``iss`` = ``sub`` = client_id (RFC 7523
3 items 1-2), ``aud`` the token endpoint or the issuer (item 3), ``exp`` present (item 4) and
at most ``max_lifetime`` ahead, ``jti`` present and never accepted twice before it expires
(item 7: the ``AssertionReplayStore``).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Protocol

from .._jose.algorithms import ASYMMETRIC
from ..clock import SYSTEM_CLOCK, Clock
from ..errors import InvalidClientError, JWKSFetchError, JWTWardenError, KeyRejectedError
from ..jwks.guard import SSRFGuard
from ..jwks.remote import RemoteJWKS
from ..keys.keyset import KeySet
from ..policy import VerificationPolicy
from ..unsafe import decode_unverified
from ..verify import Verifier
from .clients import Client

__all__ = ["ASSERTION_ALGORITHMS", "AssertionReplayStore", "AssertionVerifier"]

# RFC 7518 asymmetric algorithms the library verifies (RS*, PS*, ES*, EdDSA).
ASSERTION_ALGORITHMS = frozenset(ASYMMETRIC)
_MAX_ASSERTION = 8192
_REMOTE_SOURCES = 256  # jwks_uri sources kept (least recently used dropped first)


class AssertionReplayStore(Protocol):
    """Single use of assertion ``jti`` values (RFC 7523 3 item 7)."""

    async def use_once(self, key: bytes, *, expires_at: float, now: float) -> bool:
        """Record ``key`` until ``expires_at``; ``True`` the first time, ``False`` for a key
        already recorded and not yet expired. Atomic across processes sharing the store."""
        ...

    async def purge(self, now: float) -> int:
        """Forget the keys that have expired; how many."""
        ...


class AssertionVerifier:
    """Verifies client assertions (implements ``authentication.ClientAssertionVerifier``).

    Parameters:
        audiences: the accepted ``aud`` values: the token endpoint URL and the issuer.
        replay: the ``AssertionReplayStore``.
        guard: the SSRF guard for ``jwks_uri`` fetches (shared with the server's).
        max_lifetime: the longest ``exp`` ahead of now an assertion may have (default 300 s).
        leeway: clock skew allowed on ``exp``, ``nbf`` and ``iat``.
        transport: an httpx transport for ``jwks_uri`` fetches (tests); default real TCP.
    """

    def __init__(
        self,
        *,
        audiences: tuple[str, ...],
        replay: AssertionReplayStore,
        guard: SSRFGuard | None = None,
        max_lifetime: float = 300.0,
        leeway: float = 30.0,
        clock: Clock = SYSTEM_CLOCK,
        transport: Any = None,
    ) -> None:
        if not audiences:
            raise ValueError("audiences must name the token endpoint and/or the issuer")
        if not 0 < max_lifetime <= 3600:
            raise ValueError("max_lifetime must be between 0 and 3600 seconds")
        self.audiences = audiences
        self.replay = replay
        self.guard = guard or SSRFGuard()
        self.max_lifetime = max_lifetime
        self.leeway = leeway
        self.clock = clock
        self._transport = transport
        self._remote: OrderedDict[tuple[str, str], RemoteJWKS] = OrderedDict()

    async def client_id_of(self, assertion: str) -> str:
        """The assertion's ``sub``, read without verifying: a lookup key only (like a
        ``kid``); ``verify`` then checks it against the keys of that very client."""
        try:
            claims = decode_unverified(assertion, max_size=_MAX_ASSERTION).claims
        except JWTWardenError:
            raise InvalidClientError("client_assertion is not a JWT") from None
        sub = claims.get("sub") if claims is not None else None
        if not isinstance(sub, str) or not sub or len(sub) > 128:
            raise InvalidClientError("client_assertion has no sub")
        return sub

    async def verify(self, assertion: str, client: Client) -> None:
        """Verify ``assertion`` for ``client`` and spend its ``jti``.

        Raises:
            InvalidClientError: any failure (the detail says which, for the log).
        """
        policy = VerificationPolicy(
            algorithms=ASSERTION_ALGORITHMS,
            issuer=client.client_id,
            keys=self._keys(client),
            audience=self.audiences,
            required_claims=("iss", "sub", "aud", "exp", "jti"),
            forbidden_claims=("nonce",),
            leeway=self.leeway,
            max_token_size=_MAX_ASSERTION,
            clock=self.clock,
        )
        try:
            claims = (await Verifier(policy).verify_async(assertion)).claims
        except JWKSFetchError:
            raise InvalidClientError("the client's jwks_uri could not be fetched") from None
        except JWTWardenError as exc:
            raise InvalidClientError(f"client_assertion refused ({exc.code})") from None
        now = self.clock.now()
        if claims["sub"] != client.client_id:
            raise InvalidClientError("client_assertion sub must be the client_id")
        exp = float(claims["exp"])
        if exp - now > self.max_lifetime:
            raise InvalidClientError("client_assertion lives too long")
        jti = claims["jti"]
        if not isinstance(jti, str) or len(jti) > 256:
            raise InvalidClientError("client_assertion jti is malformed")
        key = hashlib.sha256(f"{client.client_id}\x00{jti}".encode()).digest()
        if not await self.replay.use_once(key, expires_at=exp + self.leeway, now=now):
            raise InvalidClientError("client_assertion was already used (jti)")

    def _keys(self, client: Client) -> KeySet | RemoteJWKS:
        if client.jwks is not None:
            try:
                return KeySet.from_jwks(client.jwks)
            except KeyRejectedError:
                raise InvalidClientError("the client's registered JWKS is unusable") from None
        if client.jwks_uri is None:
            raise InvalidClientError("the client has no keys")
        cache_key = (client.client_id, client.jwks_uri)
        source = self._remote.get(cache_key)
        if source is None:
            try:
                source = RemoteJWKS(
                    client.jwks_uri, guard=self.guard, clock=self.clock, transport=self._transport
                )
            except (ValueError, TypeError, JWTWardenError):
                raise InvalidClientError("the client's jwks_uri is refused") from None
            self._remote[cache_key] = source
            if len(self._remote) > _REMOTE_SOURCES:
                self._remote.popitem(last=False)
        self._remote.move_to_end(cache_key)
        return source
