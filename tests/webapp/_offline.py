"""A relying party whose provider is already discovered, with its key in hand: the per-request
path (cookies, the session store, the cached access-token check) without any network."""

from __future__ import annotations

from typing import Any

from jwtwarden import CachedVerifier, Clock, KeySet, VerificationPolicy, Verifier, generate_key
from jwtwarden._jose.sign import sign_compact
from jwtwarden.webapp import RelyingParty, WebAppSettings, WebSession
from jwtwarden.webapp.provider import Provider, ProviderMetadata

ISS = "https://id.example"
API = "https://api.example"
BASE = "https://app.example"
SESSION_SECRET = "s" * 32


class Offline:
    """``rp`` and what a test needs to make sessions for it."""

    def __init__(
        self, clock: Clock, *, store: Any = None, lifetime: float = 3600.0, key: Any = None
    ) -> None:
        self.clock = clock
        settings = WebAppSettings(
            issuer=ISS,
            client_id="webapp",
            client_secret="c" * 32,
            base_url=BASE,
            session_secrets=[SESSION_SECRET],
            audience=API,
            session_lifetime=lifetime,
        )
        self.rp = RelyingParty(settings, clock=clock, store=store)
        # ``key``: the provider's signing key, to share with another process of the app.
        self.key = key if key is not None else generate_key("ES256", kid="k1")
        metadata = ProviderMetadata(
            issuer=ISS,
            authorization_endpoint=f"{ISS}/auth",
            token_endpoint=f"{ISS}/token",
            jwks_uri=f"{ISS}/jwks",
        )
        provider = Provider(settings, metadata, self.rp.guard, clock=clock)
        policy = VerificationPolicy.access_token(
            algorithms=["ES256"], issuer=ISS, audience=API, keys=KeySet([self.key]), clock=clock
        )
        provider.access_verifier = CachedVerifier(Verifier(policy))
        self.rp._provider = provider  # discovered already: no network in these tests

    def access_token(self, lifetime: float = 3600.0, jti: str = "j1") -> str:
        now = int(self.clock.now())
        claims = {
            "iss": ISS,
            "aud": API,
            "sub": "alice",
            "client_id": "webapp",
            "iat": now,
            "exp": now + int(lifetime),
            "jti": jti,
        }
        return sign_compact({"typ": "at+jwt"}, claims, self.key)

    def session(self, **claims: Any) -> WebSession:
        return WebSession.new(
            claims={"sub": "alice", "email": "alice@example.test", **claims},
            access_token=self.access_token(),
            access_expires_at=self.clock.now() + 3600,
            refresh_token="r" * 43,
            id_token=None,
            now=self.clock.now(),
        )
