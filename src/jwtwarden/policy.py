"""``VerificationPolicy``: what the application expects, validated when built.

A policy names the algorithms, the key set per trusted issuer, the audience, the token type and
the claim rules. Anything unsafe (no algorithms, ``none``, an empty audience, a key set with no
key for any allowed algorithm) is refused here, at construction, not at the first request.

Profiles make token types mutually exclusive (cross-JWT confusion, RFC 8725 section 3.12);
their ``typ``, required and forbidden claims are spelled once, in ``token_profiles.KIND_RULES``:

- ``access_token``: RFC 9068, ``typ`` must be ``at+jwt``; ``client_id`` required (RFC 9068
  2.2; ``require_client_id=False`` for issuers that omit it); ``nonce`` is refused.
- ``id_token``: OpenID Connect, ``typ`` absent or ``JWT``; ``nonce`` required.
- ``custom``: an application type such as ``reset+jwt``, ``typ`` required and exact.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._jose.algorithms import ALGORITHMS, unknown_algorithm_message
from ._jose.header import KEY_URL_HEADERS, is_media_type, normalize_typ
from .clock import SYSTEM_CLOCK, Clock
from .keys.keyset import KeySet
from .token_profiles import BUILT_IN_TYPS, ID_TOKEN_TYP, KIND_RULES, TokenProfile

if TYPE_CHECKING:
    from .verify import KeySource, VerifiedToken

__all__ = ["VerificationPolicy"]

_ACCESS, _ID, _CUSTOM = KIND_RULES["access"], KIND_RULES["id"], KIND_RULES["custom"]
MAX_LEEWAY = 300.0
MAX_TOKEN_SIZE_CEILING = 65536

Hook = Callable[["VerifiedToken"], Any]


def _strings(value: str | Collection[str], what: str) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise ValueError(f"{what} must be a non-empty string or a non-empty list of them")
    return items


@dataclass(frozen=True, kw_only=True, slots=True)
class VerificationPolicy:
    """Everything a verifier checks. Build one at start-up and share it.

    Parameters:
        algorithms: the allowlist, e.g. ``["ES256"]``. ``none`` is never accepted.
        issuer: the one trusted ``iss`` (exact match), with ``keys`` its key set; or
        issuers: a mapping of each trusted ``iss`` to its own key set (``keys`` unset).
        audience: the ``aud`` value(s) that mean "this service"; one must be in the token.
        typ: the expected ``typ`` header, compared as a media type. ``None``: not checked.
        leeway: clock skew allowed on ``exp``, ``nbf`` and ``iat`` (default 30 s, max 300).
        max_age: refuse tokens whose ``iat`` is older than this many seconds.
        required_claims: claims that must be present (default ``exp`` and ``sub``).
        max_token_size: refuse longer tokens before any work (default 8 KiB).
        allowed_headers: key-location headers tolerated (``jku``, ``x5u``, ``jwk``, ``x5c``);
            keys are still only ever taken from the key set.
        nonce: for ID tokens, the nonce the client sent (compared in constant time).
        forbidden_claims: claims that must be absent (the access profile forbids ``nonce``).
        subject_exists: ``sub -> bool``; ``False`` refuses the token (``invalid_claim``).
        checks: hooks run on every verified token (denylist, auth version); they raise
            ``RevokedTokenError`` to refuse. Coroutine hooks need ``verify_async``.
        clock: where "now" comes from.

    Raises:
        ValueError, TypeError: the policy cannot be safe.

    Example:
        >>> policy = VerificationPolicy.access_token(  # doctest: +SKIP
        ...     algorithms=["ES256"], issuer="https://auth.example.com",
        ...     audience="https://api.example.com", keys=KeySet.from_jwks(jwks_json))
    """

    algorithms: Collection[str]
    audience: str | Collection[str]
    issuer: str | None = None
    keys: KeySet | KeySource | None = None
    issuers: Mapping[str, KeySet | KeySource] | None = None
    typ: str | None = None
    leeway: float = 30.0
    max_age: float | None = None
    required_claims: Collection[str] = ("exp", "sub")
    max_token_size: int = 8192
    allowed_headers: Collection[str] = ()
    nonce: str | None = None
    require_nonce: bool = False
    forbidden_claims: Collection[str] = ()
    typ_absent_ok: bool = False
    subject_exists: Callable[[str], bool] | None = None
    checks: tuple[Hook, ...] = ()
    clock: Clock = SYSTEM_CLOCK
    profile: str = "generic"
    # derived, filled in by __post_init__
    allowed_algorithms: frozenset[str] = field(init=False, repr=False, compare=False)
    audiences: frozenset[str] = field(init=False, repr=False, compare=False)
    key_sources: Mapping[str, Any] = field(init=False, repr=False, compare=False)
    expected_typs: frozenset[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "allowed_algorithms", check_algorithms(self.algorithms))
        setattr_(self, "audiences", frozenset(_strings(self.audience, "audience")))
        if self.issuers is not None:
            if self.issuer is not None or self.keys is not None:
                raise ValueError("give either issuer= and keys=, or issuers=, not both")
            if not isinstance(self.issuers, Mapping) or not self.issuers:
                raise ValueError("issuers must map each trusted issuer to its key set")
            sources = dict(self.issuers)
        else:
            if self.issuer is None or self.keys is None:
                raise ValueError("a policy needs the trusted issuer and its keys (or issuers=)")
            sources = {self.issuer: self.keys}
        for iss, source in sources.items():
            _strings(iss, "issuer")
            check_key_source(source, self.allowed_algorithms, f"the keys of {iss!r}")
        setattr_(self, "key_sources", sources)
        if self.typ is not None:
            if not is_media_type(self.typ):
                # Compared exactly (RFC 7515 4.1.9), " at+jwt" or "at+jwt;v=1" would never match.
                raise ValueError(
                    f"typ must be a bare media type such as 'at+jwt', not {self.typ!r}"
                )
            typs: frozenset[str] | None = frozenset({normalize_typ(self.typ)})
        elif self.typ_absent_ok:
            typs = frozenset({ID_TOKEN_TYP})
        else:
            typs = None
        setattr_(self, "expected_typs", typs)
        if not (isinstance(self.leeway, int | float) and 0 <= self.leeway <= MAX_LEEWAY):
            raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY:g} seconds")
        if self.max_age is not None and not (
            isinstance(self.max_age, int | float)
            and math.isfinite(self.max_age)
            and self.max_age > 0
        ):
            raise ValueError("max_age must be a positive number of seconds")
        check_max_token_size(self.max_token_size)
        setattr_(self, "allowed_headers", check_allowed_headers(self.allowed_headers))
        setattr_(self, "required_claims", frozenset(self.required_claims))
        setattr_(self, "forbidden_claims", frozenset(self.forbidden_claims))
        setattr_(self, "checks", tuple(self.checks))
        if self.nonce is not None and not self.require_nonce:
            raise ValueError("nonce is only checked by the id_token profile")
        if self.subject_exists is not None and (
            not callable(self.subject_exists) or inspect.iscoroutinefunction(self.subject_exists)
        ):
            # An async hook returns a coroutine, which is truthy: it would accept every subject.
            raise TypeError("subject_exists must be a plain function sub -> bool")

    # --- profiles ---------------------------------------------------------------------------

    @classmethod
    def access_token(cls, *, require_client_id: bool = True, **kwargs: Any) -> VerificationPolicy:
        """RFC 9068 access tokens: ``typ`` ``at+jwt``; ``exp``, ``iat``, ``sub``, ``jti`` and
        ``client_id`` required; ``nonce`` refused (so an ID token never passes).

        Parameters:
            require_client_id: RFC 9068 2.2 makes ``client_id`` REQUIRED, and it is added to
                ``required_claims`` (yours or the default). ``False`` relaxes it for issuers
                that omit it; a ``client_id`` that is present must still be a string.
        """
        if type(require_client_id) is not bool:
            raise TypeError("require_client_id must be True or False")
        required = tuple(kwargs.pop("required_claims", _ACCESS.required_claims))
        if _ACCESS.client_id and require_client_id and "client_id" not in required:
            required = (*required, "client_id")
        kwargs["required_claims"] = required
        _no_overrides(kwargs, "typ", "forbidden_claims", "require_nonce", "typ_absent_ok")
        return cls(
            typ=_ACCESS.typ,
            forbidden_claims=_ACCESS.forbidden_claims,
            profile=_ACCESS.kind,
            **kwargs,
        )

    @classmethod
    def id_token(
        cls, *, nonce: str | None = None, expect_nonce: bool = True, **kwargs: Any
    ) -> VerificationPolicy:
        """OpenID Connect ID tokens: ``typ`` absent or ``JWT``; ``nonce`` required (and equal
        to ``nonce`` when given); ``exp``, ``iat``, ``sub`` required.

        Parameters:
            expect_nonce: ``False`` when the authentication request sent no nonce (OpenID
                Connect Core 3.1.2.1 makes it OPTIONAL in the code flow) or for an
                ``id_token_hint`` (RP-Initiated Logout 1.0 2): the token's ``nonce`` is then
                not demanded. ``typ`` and the ID-token key still keep access tokens out.
        """
        if type(expect_nonce) is not bool:
            raise TypeError("expect_nonce must be True or False")
        if nonce is not None and not expect_nonce:
            raise ValueError("a nonce to compare needs expect_nonce=True")
        kwargs.setdefault("required_claims", _ID.required_claims)
        _no_overrides(kwargs, "typ", "forbidden_claims", "require_nonce", "typ_absent_ok")
        return cls(
            typ=_ID.typ,
            typ_absent_ok=_ID.typ_absent_ok,
            require_nonce=_ID.nonce and expect_nonce,
            nonce=nonce,
            forbidden_claims=_ID.forbidden_claims,
            profile=_ID.kind,
            **kwargs,
        )

    @classmethod
    def custom(cls, *, typ: str, **kwargs: Any) -> VerificationPolicy:
        """An application token type (``reset+jwt``, ...): ``typ`` required and exact;
        ``nonce`` refused. ``at+jwt`` and ``JWT`` belong to the built-in profiles."""
        if not is_media_type(typ):
            raise ValueError(f"typ must be a bare media type such as 'reset+jwt', not {typ!r}")
        if normalize_typ(typ) in BUILT_IN_TYPS:
            raise ValueError(f"typ {typ!r} belongs to a built-in profile; choose your own")
        kwargs.setdefault("required_claims", _CUSTOM.required_claims)
        _no_overrides(kwargs, "forbidden_claims", "require_nonce", "typ_absent_ok")
        return cls(
            typ=typ,
            forbidden_claims=_CUSTOM.forbidden_claims,
            profile=f"{_CUSTOM.kind}:{typ}",
            **kwargs,
        )

    @classmethod
    def for_profile(cls, profile: TokenProfile, **kwargs: Any) -> VerificationPolicy:
        """The policy that accepts the tokens of an issuer's ``TokenProfile`` and refuses every
        other profile's: its kind's rules, plus the profile's own required claims.

        ``kwargs`` are the policy's other fields (``issuer``, ``keys``, ``audience``, ...);
        ``required_claims`` given there replaces the kind's and the profile's.
        """
        rules = profile.rules
        if profile.required_claims and "required_claims" not in kwargs:
            kwargs["required_claims"] = (*rules.required_claims, *profile.required_claims)
        if rules is _ACCESS:
            return cls.access_token(**kwargs)
        if rules is _ID:
            return cls.id_token(**kwargs)
        return cls.custom(typ=profile.typ, **kwargs)


# --- the JOSE-layer rules, shared with JWSVerifier (which has no issuer, audience or claims) ---


def check_algorithms(algorithms: str | Collection[str]) -> frozenset[str]:
    """The allowed algorithms: named, never ``none``, each one jwtwarden supports."""
    algs = _strings(algorithms, "algorithms")
    for alg in algs:
        if alg.lower() == "none":
            raise ValueError("the 'none' algorithm is never allowed")
        if alg not in ALGORITHMS:
            raise ValueError(unknown_algorithm_message(alg))
    return frozenset(algs)


def check_key_source(source: object, algorithms: frozenset[str], what: str) -> None:
    """``source`` is a key source; a ``KeySet`` must hold a key for one of ``algorithms``."""
    if not hasattr(source, "select"):
        raise TypeError(f"{what} must be a KeySet or a key source")
    if isinstance(source, KeySet) and not len(source):
        raise ValueError(f"{what.replace('the keys', 'the key set', 1)} has no keys")
    if isinstance(source, KeySet) and not (source.algorithms & algorithms):
        raise ValueError(
            f"{what.replace('the keys', 'the key set', 1)} has no key for the allowed "
            f"algorithms ({', '.join(sorted(algorithms))})"
        )


def check_max_token_size(size: int) -> None:
    if not 0 < size <= MAX_TOKEN_SIZE_CEILING:
        raise ValueError(f"max_token_size must be between 1 and {MAX_TOKEN_SIZE_CEILING}")


def check_allowed_headers(headers: Collection[str]) -> frozenset[str]:
    """Only the key-URL headers (``jku``...) can be allowed, each explicitly (RFC 8725 3.10)."""
    unknown = set(headers) - KEY_URL_HEADERS
    if unknown:
        raise ValueError(f"allowed_headers may only name {sorted(KEY_URL_HEADERS)}")
    return frozenset(headers)


def _no_overrides(kwargs: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if name in kwargs:
            raise TypeError(f"{name} is fixed by the profile")
