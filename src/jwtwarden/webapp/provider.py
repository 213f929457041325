"""The OpenID provider as the SDK sees it: its discovery document, keys and verifiers.

OpenID Connect Discovery 1.0: the document is fetched from ``issuer + /.well-known/openid-
configuration`` through the SSRF guard (``jwks._fetch``), its ``issuer`` must be *identical*
to the configured one (section 4.3), and every endpoint it names must pass the same guard
before anything is sent there: a document cannot point the application's token request (which
carries the client secret) at an internal address. The ID and access token verifiers share one
``RemoteJWKS`` over its ``jwks_uri``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._jose.strict_json import JSONRefused, loads_object
from ..cache import CachedVerifier
from ..errors import FetchRefusedError, JWKSFetchError, ProviderUnavailableError
from ..jwks.discovery import MAX_DISCOVERY_BYTES, discovery_url
from ..jwks.guard import SSRFGuard
from ..jwks.remote import RemoteJWKS
from ..policy import VerificationPolicy
from ..verify import Verifier
from .settings import WebAppSettings

__all__ = [
    "MAX_DISCOVERY_BYTES",
    "Provider",
    "ProviderMetadata",
    "discovery_failure",
    "parse_metadata",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class ProviderMetadata:
    """The parts of a discovery document the SDK uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None = None
    revocation_endpoint: str | None = None
    # Core 5.3: the claims of the profile and email scopes, for the code flow (Core 5.4).
    userinfo_endpoint: str | None = None
    # RFC 9207 3: the provider puts ``iss`` in every authorization response.
    iss_parameter_supported: bool = False
    id_token_algorithms: tuple[str, ...] = ()


def _endpoint(document: Mapping[str, Any], name: str, guard: SSRFGuard, *, required: bool) -> Any:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ProviderUnavailableError(f"the provider's discovery document has no {name}")
    try:
        guard.validate(value)
    except FetchRefusedError as exc:
        raise ProviderUnavailableError(f"the provider's {name} is refused: {exc.detail}") from None
    return value


def parse_metadata(body: bytes, *, issuer: str, guard: SSRFGuard) -> ProviderMetadata:
    """Read and check a discovery document for ``issuer``.

    Raises:
        ProviderUnavailableError: not JSON, another issuer, an endpoint missing or refused,
            or PKCE S256 explicitly unsupported.
    """
    try:
        document = loads_object(body, "the discovery document")
    except JSONRefused as exc:
        raise ProviderUnavailableError(str(exc)) from None
    if document.get("issuer") != issuer:
        # Discovery 1.0 4.3: identical, no normalisation (a trailing slash is another issuer).
        raise ProviderUnavailableError(
            f"the discovery document at {discovery_url(issuer)!r} names another issuer"
        )
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        # RFC 8414 2: listed methods are all the provider supports; PKCE S256 is required.
        raise ProviderUnavailableError("the provider does not support PKCE S256")
    algs = document.get("id_token_signing_alg_values_supported")
    return ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=_endpoint(document, "authorization_endpoint", guard, required=True),
        token_endpoint=_endpoint(document, "token_endpoint", guard, required=True),
        jwks_uri=_endpoint(document, "jwks_uri", guard, required=True),
        end_session_endpoint=_endpoint(document, "end_session_endpoint", guard, required=False),
        revocation_endpoint=_endpoint(document, "revocation_endpoint", guard, required=False),
        userinfo_endpoint=_endpoint(document, "userinfo_endpoint", guard, required=False),
        iss_parameter_supported=document.get("authorization_response_iss_parameter_supported")
        is True,
        id_token_algorithms=tuple(a for a in algs if isinstance(a, str))
        if isinstance(algs, list)
        else (),
    )


class Provider:
    """A discovered provider: metadata, key set and the verifiers built over it.

    Built by ``RelyingParty`` on first use (a provider that is down at start-up is a 503 on
    the first request, not a crash).
    """

    __slots__ = ("_clock", "access_verifier", "jwks", "metadata", "settings")

    def __init__(
        self,
        settings: WebAppSettings,
        metadata: ProviderMetadata,
        guard: SSRFGuard,
        *,
        transport: Any = None,
        clock: Any = None,
    ) -> None:
        options: dict[str, Any] = {"guard": guard, "timeout": settings.timeout}
        if transport is not None:
            options["transport"] = transport
        self._clock: dict[str, Any] = {"clock": clock} if clock is not None else {}
        options.update(self._clock)
        self.settings = settings
        self.metadata = metadata
        self.jwks = RemoteJWKS(metadata.jwks_uri, **options)
        self.access_verifier: CachedVerifier | None = None
        if settings.audience is not None:
            policy = VerificationPolicy.access_token(
                algorithms=settings.algorithms,
                issuer=settings.issuer,
                audience=settings.audience,
                keys=self.jwks,
                **self._clock,
            )
            # Every request re-checks the session's access token: cached, so that costs a
            # dictionary lookup and the claim times, not a signature (bench/webapp).
            self.access_verifier = CachedVerifier(Verifier(policy))

    def id_token_verifier(self, nonce: str) -> Verifier:
        """The ID token verifier for one sign-in (OpenID Connect Core 3.1.3.7).

        ``aud`` must contain ``client_id`` (item 3), ``iss`` is the issuer exactly (item 2),
        the algorithm is allowed (item 6-8), ``exp`` and ``iat`` are checked (items 9-10) and
        ``nonce`` must equal the one this sign-in sent (item 11).
        """
        policy = VerificationPolicy.id_token(
            algorithms=self.settings.algorithms,
            issuer=self.settings.issuer,
            audience=self.settings.client_id,
            keys=self.jwks,
            nonce=nonce,
            **self._clock,
        )
        return Verifier(policy)


def discovery_failure(exc: JWKSFetchError) -> ProviderUnavailableError:
    """A failed discovery fetch as the SDK reports it (503)."""
    return ProviderUnavailableError(f"the provider's discovery failed: {exc.detail}")
