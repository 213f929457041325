"""The ``Issuer``: mint a token for a profile, signed with that profile's own active key.

Every token gets ``iss``, ``sub``, ``aud``, ``iat``, ``exp`` and a ``jti`` of 256 random bits
(RFC 7519 section 4.1), ``nbf`` when asked, and the profile's ``typ`` header (RFC 8725
section 3.11: explicit typing). Custom claims cannot override those, are linted for secrets
before signing (``jwtwarden.lint``), and the token must fit the size budget.

Profiles are mutually exclusive by construction (cross-JWT confusion, RFC 8725 section 2.8):
each has its own ``typ``, its own signing key (``token_use``), and ``verification_policy``
builds the verifier profile that accepts it and refuses every other profile's tokens.

Example:
    >>> issuer = Issuer(issuer="https://auth.example.com", keys=ring)       # doctest: +SKIP
    >>> token = issuer.mint("access", sub="user-1", audience="https://api.example.com")
    ...                                                                     # doctest: +SKIP
    >>> policy = issuer.verification_policy("access", audience="https://api.example.com")
    ...                                                                     # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from . import _mint_checks as checks
from ._issued_policy import policy_for
from ._jose.b64 import b64url_encode
from ._jose.sign import dumps, json_segment, sign_segments
from .clock import SYSTEM_CLOCK, Clock
from .errors import ClaimLintError, TokenBudgetError
from .keys.key import Key
from .keys.keyset import KeySet
from .lint import LintFinding
from .policy import VerificationPolicy
from .token_profiles import (
    ACCESS_TOKEN,
    DEFAULT_PROFILES,
    ID_TOKEN,
    RESERVED_CLAIMS,
    RESET_TOKEN,
    TokenProfile,
)

__all__ = [
    "ACCESS_TOKEN",
    "DEFAULT_PROFILES",
    "ID_TOKEN",
    "RESERVED_CLAIMS",
    "RESET_TOKEN",
    "Issuer",
    "SigningKeyProvider",
    "TokenProfile",
]

_log = logging.getLogger("jwtwarden.issue")
_MAX_BUDGET = 65536

_HEADER_ENTRIES = 64


@runtime_checkable
class SigningKeyProvider(Protocol):
    """Where the issuer gets keys (``KeyRing`` implements it).

    ``signing_key(use)`` returns the active private key of a token use or raises
    ``NoSigningKeyError``; ``verification_keys(use)`` the keys that verify that use's tokens
    now. A provider may also offer ``max_token_ttl(use)``: the issuer then refuses tokens that
    would outlive the key's publication.
    """

    def signing_key(self, token_use: str) -> Key: ...

    def verification_keys(self, token_use: str | None = None) -> KeySet: ...


@runtime_checkable
class _LifetimeBound(Protocol):
    def max_token_ttl(self, use: str) -> float: ...


class Issuer:
    """Mints tokens per profile. Build one at start-up and share it (thread-safe).

    Parameters:
        issuer: the ``iss`` value (your authorization server's URL).
        keys: a ``SigningKeyProvider`` (usually a ``KeyRing``).
        profiles: the token kinds (default access, ID and reset tokens).
        clock: where "now" comes from.
        size_budget: refuse tokens longer than this (default 4096 bytes).
        size_warning: log a warning for tokens longer than this (default 1024 bytes).
        environment: refuse signing keys of any other environment (``None``: not checked).
        client_id: the ``client_id`` claim of access tokens minted without one in ``claims``
            (RFC 9068 2.2 makes it REQUIRED): the first-party client, ``"jwtwarden"`` by
            default, as the server's ``JWTWARDEN_CLIENT_ID``.

    Raises:
        ValueError, TypeError: an unsafe or inconsistent configuration.
    """

    __slots__ = (
        "_access_profiles",
        "_budget",
        "_client_id",
        "_environment",
        "_headers",
        "_id_profiles",
        "_keys",
        "_lint_memo",
        "_max_token_ttl",
        "_profiles",
        "_warned",
        "_warning",
        "clock",
        "issuer",
    )

    def __init__(
        self,
        *,
        issuer: str,
        keys: SigningKeyProvider,
        profiles: Iterable[TokenProfile] = DEFAULT_PROFILES,
        clock: Clock = SYSTEM_CLOCK,
        size_budget: int = 4096,
        size_warning: int = 1024,
        environment: str | None = None,
        client_id: str = "jwtwarden",
    ) -> None:
        if not isinstance(issuer, str) or not issuer.strip():
            raise ValueError("issuer must be a non-empty string (your server's URL)")
        if not isinstance(keys, SigningKeyProvider):
            raise TypeError("keys must provide signing_key() and verification_keys()")
        table = checks.profile_table(profiles)
        if not 0 < size_warning <= size_budget <= _MAX_BUDGET:
            raise ValueError(f"need 0 < size_warning <= size_budget <= {_MAX_BUDGET}")
        if environment is not None and (not isinstance(environment, str) or not environment):
            raise ValueError("environment must be a non-empty string or None")
        if not isinstance(client_id, str) or not client_id:
            raise ValueError("client_id must be a non-empty string")
        self.issuer = issuer
        self.clock = clock
        self._client_id = client_id
        self._keys = keys
        self._profiles = table
        self._budget = size_budget
        self._warning = size_warning
        self._environment = environment
        # Warnings are logged once per profile and cause, not on every token minted.
        self._warned: set[tuple[str, str, str]] = set()
        # Decided once: an isinstance check against a runtime-checkable Protocol walks the
        # protocol's members on every call (about 10 us), and a provider's methods do not
        # come and go.
        self._max_token_ttl = keys.max_token_ttl if isinstance(keys, _LifetimeBound) else None
        # What each kind carries (token_profiles.KIND_RULES), decided once per profile.
        self._id_profiles = frozenset(name for name, p in table.items() if p.rules.nonce)
        self._access_profiles = frozenset(n for n, p in table.items() if p.rules.client_id)
        # Caches of work that depends on neither the call nor the time (_mint_checks.py).
        self._lint_memo: dict[tuple[str, type, object], tuple[LintFinding, ...]] = {}
        self._headers: dict[tuple[str, str, str], str] = {}

    @property
    def profiles(self) -> Mapping[str, TokenProfile]:
        return dict(self._profiles)

    def profile(self, name: str | TokenProfile) -> TokenProfile:
        """The registered profile of that name; ``ValueError`` if there is none."""
        key = name.name if isinstance(name, TokenProfile) else name
        found = self._profiles.get(key) if isinstance(key, str) else None
        if found is None:
            raise ValueError(f"unknown token profile {key!r}; known: {', '.join(self._profiles)}")
        return found

    def mint(
        self,
        profile: str | TokenProfile = "access",
        *,
        sub: str,
        audience: str | Sequence[str],
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
        not_before: float | None = None,
        nonce: str | None = None,
        allow_long_ttl: bool = False,
    ) -> str:
        """Mint and sign one token; return the compact JWS.

        Parameters:
            profile: the profile's name (default ``access``).
            sub: the subject (the user's stable id, never an email).
            audience: the ``aud``: who the token is for.
            claims: extra claims (no reserved ones; linted for secrets).
            ttl: lifetime in seconds (default: the profile's); longer than ``max_ttl`` needs
                ``allow_long_ttl`` and is still capped.
            not_before: an ``nbf`` (seconds since the epoch), before ``exp``.
            nonce: the OpenID Connect nonce (ID tokens only, and required there).

        Raises:
            ClaimLintError: a claim looks like a secret, or overrides a reserved claim.
            TokenBudgetError: the token is over the size budget.
            NoSigningKeyError, KeyEnvironmentError: no usable key for the profile.
            ValueError, TypeError: a bad call (lifetime out of range, missing nonce...).

        Example:
            >>> issuer.mint("access", sub="u1", audience="api", claims={"scope": "read"})
            ...                                                   # doctest: +SKIP
        """
        return self._mint(profile, sub, audience, claims, ttl, not_before, nonce, allow_long_ttl)[0]

    def mint_with_claims(
        self,
        profile: str | TokenProfile = "access",
        *,
        sub: str,
        audience: str | Sequence[str],
        claims: Mapping[str, Any] | None = None,
        ttl: float | None = None,
        not_before: float | None = None,
        nonce: str | None = None,
        allow_long_ttl: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        """Like ``mint``; also returns the claim set that was signed."""
        return self._mint(profile, sub, audience, claims, ttl, not_before, nonce, allow_long_ttl)

    def _mint(
        self,
        profile: str | TokenProfile,
        sub: str,
        audience: str | Sequence[str],
        claims: Mapping[str, Any] | None,
        ttl: float | None,
        not_before: float | None,
        nonce: str | None,
        allow_long_ttl: bool,
    ) -> tuple[str, dict[str, Any]]:
        profile = self.profile(profile)
        if not isinstance(sub, str) or not sub:
            raise ValueError("sub must be a non-empty string")
        aud = checks.audience(audience)
        extra = self._custom_claims(profile, claims)
        lifetime = checks.lifetime(profile, ttl, allow_long_ttl, self._max_token_ttl)
        nonce = checks.check_nonce(profile, nonce, carries_nonce=profile.name in self._id_profiles)
        key = checks.check_signing_key(
            self._keys.signing_key(profile.token_use), profile, self._environment
        )
        iat = int(self.clock.now())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": sub,
            "aud": aud,
            "iat": iat,
            "exp": iat + lifetime,
        }
        if not_before is not None or profile.set_nbf:
            payload["nbf"] = checks.not_before(not_before, iat, iat + lifetime)
        payload["jti"] = secrets.token_urlsafe(32)  # 256 bits from the OS CSPRNG
        if nonce is not None:
            payload["nonce"] = nonce
        if extra:
            payload.update(extra)
        if profile.name in self._access_profiles:
            # RFC 9068 2.2: client_id is REQUIRED in a JWT access token (a caller's own is
            # checked with the other registered claims above).
            payload.setdefault("client_id", self._client_id)
        token = self._sign(profile, payload, key)
        self._check_size(profile, token, extra)
        return token, payload

    def _sign(self, profile: TokenProfile, payload: dict[str, Any], key: Key) -> str:
        """``sign_compact`` with the header segment encoded once per profile and key: the
        same bytes, signed through the same ``sign_segments``."""
        try:
            body = dumps(payload)
        except (TypeError, ValueError):
            # ValueError: NaN or an infinity; UnicodeEncodeError (a ValueError): a lone
            # surrogate, which has no UTF-8 form.
            raise TypeError(
                "claims must be JSON values (no NaN, no infinities, no lone surrogates)"
            ) from None
        cached = (profile.typ, key.alg, key.kid)
        head = self._headers.get(cached)
        if head is None:
            head = json_segment({"typ": profile.typ, "alg": key.alg, "kid": key.kid})
            if len(self._headers) >= _HEADER_ENTRIES:
                self._headers.clear()
            self._headers[cached] = head
        return sign_segments(head, b64url_encode(body), key)

    # --- the checks -------------------------------------------------------------------------

    def _custom_claims(
        self, profile: TokenProfile, claims: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        if not claims:
            # Nothing of the caller's to lint: the claims the issuer sets itself are known.
            if profile.required_claims:
                wanted = list(profile.required_claims)
                raise ValueError(f"the {profile.name} profile requires the claims {wanted}")
            return {}
        extra = dict(claims)
        findings = checks.screen(self._lint_memo, extra)
        missing = [c for c in profile.required_claims if c not in extra]
        if missing:
            raise ValueError(f"the {profile.name} profile requires the claims {missing}")
        if findings is None:
            findings = checks.lint_whole(extra)
        for finding in findings:
            if finding.severity == "refuse":
                raise ClaimLintError(finding.message, claim=finding.claim, reason=finding.reason)
            self._warn_once(
                (profile.name, finding.claim, finding.reason),
                "%s token: %s [%s]",
                profile.name,
                finding.message,
                finding.reason,
            )
        return extra

    def _check_size(self, profile: TokenProfile, token: str, extra: Mapping[str, Any]) -> None:
        size = len(token)
        if size <= self._warning:
            return
        largest = max(extra, key=lambda n: len(json.dumps(extra[n])), default=None)
        hint = f"; the largest custom claim is {largest!r}" if largest else ""
        if size > self._budget:
            raise TokenBudgetError(
                f"the {profile.name} token is {size} bytes, over the budget of {self._budget}{hint}"
            )
        self._warn_once(
            (profile.name, "size", str(largest)),
            "%s token is %d bytes (over %d): tokens travel on every request%s",
            profile.name,
            size,
            self._warning,
            hint,
        )

    def _warn_once(self, cause: tuple[str, str, str], message: str, *args: object) -> None:
        if cause in self._warned:
            return
        if len(self._warned) < 1024:
            self._warned.add(cause)
        _log.warning(message, *args)

    # --- the verifier side ------------------------------------------------------------------

    def verification_policy(
        self,
        profile: str | TokenProfile = "access",
        *,
        audience: str | Collection[str],
        **overrides: Any,
    ) -> VerificationPolicy:
        """The ``VerificationPolicy`` that accepts this profile's tokens and refuses every
        other profile's. Keys are looked up live (rotation is followed).

        ``overrides`` go to the policy (``leeway``, ``max_age``, ``nonce`` for ID tokens,
        ``checks``, ``algorithms``, ``keys``...).

        Raises:
            ValueError: no verification keys for the profile's use (and none given).
        """
        return policy_for(
            self.profile(profile),
            provider=self._keys,
            issuer=self.issuer,
            clock=self.clock,
            audience=audience,
            overrides=overrides,
        )

    def __repr__(self) -> str:
        return f"Issuer(issuer={self.issuer!r}, profiles={list(self._profiles)})"
