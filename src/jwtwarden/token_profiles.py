"""Token profiles: the kinds of token the ``Issuer`` mints (access, ID, reset, yours), and the
one place where each kind's ``typ``, required and forbidden claims are spelled.

``KIND_RULES`` says what every token of a kind carries, so what its verifier demands: the
issuer mints from it (``nonce`` only in ID tokens, ``client_id`` in access tokens) and
``VerificationPolicy.access_token`` / ``id_token`` / ``custom`` / ``for_profile`` are built
from it. A ``TokenProfile`` adds the signing key's use and the lifetimes. Profiles are
mutually exclusive by construction (cross-JWT confusion, RFC 8725 section 2.8): each has its
own ``typ`` and its own key, and ``Issuer.verification_policy`` builds the verifier profile
that accepts it and refuses every other profile's tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._jose.header import is_media_type, normalize_typ

__all__ = [
    "ACCESS_TOKEN",
    "ACCESS_TOKEN_TYP",
    "BUILT_IN_TYPS",
    "DEFAULT_PROFILES",
    "ID_TOKEN",
    "ID_TOKEN_TYP",
    "KIND_RULES",
    "RESERVED_CLAIMS",
    "RESET_TOKEN",
    "KindRules",
    "TokenProfile",
]

# RFC 9068 2.1: "at+jwt", compared as the media type "application/at+jwt".
ACCESS_TOKEN_TYP = "application/at+jwt"
# OpenID Connect Core 2: an ID token's typ is absent or "JWT" (RFC 7519 5.1).
ID_TOKEN_TYP = "application/jwt"


@dataclass(frozen=True, kw_only=True, slots=True)
class KindRules:
    """What every token of one kind carries, and so what a verifier of that kind demands.

    Parameters:
        kind: ``access``, ``id`` or ``custom``.
        typ: the ``typ`` header as a media type; ``None`` for ``custom`` (the profile's own).
        typ_absent_ok: a token without ``typ`` passes (ID tokens only).
        required_claims: the verifier's default required claims.
        forbidden_claims: claims a token of this kind never carries.
        client_id: ``client_id`` is required too (RFC 9068 2.2; the verifier may relax it).
        nonce: the token carries the client's ``nonce`` (OpenID Connect Core 3.1.3.7).
    """

    kind: str
    typ: str | None
    typ_absent_ok: bool = False
    required_claims: tuple[str, ...]
    forbidden_claims: tuple[str, ...] = ()
    client_id: bool = False
    nonce: bool = False


KIND_RULES: dict[str, KindRules] = {
    rules.kind: rules
    for rules in (
        KindRules(
            kind="access",
            typ=ACCESS_TOKEN_TYP,
            required_claims=("exp", "iat", "sub", "jti"),
            forbidden_claims=("nonce",),  # so an ID token never passes as an access token
            client_id=True,
        ),
        KindRules(
            kind="id",
            typ=None,
            typ_absent_ok=True,
            required_claims=("exp", "iat", "sub"),
            nonce=True,
        ),
        KindRules(
            kind="custom",
            typ=None,
            required_claims=("exp", "iat", "sub", "jti"),
            forbidden_claims=("nonce",),
        ),
    )
}
# The typs of the built-in kinds: a custom profile must choose its own.
BUILT_IN_TYPS = frozenset({ACCESS_TOKEN_TYP, ID_TOKEN_TYP})

# Set by the issuer only. "typ", "token_use" and "nonce" are reserved too: some verifiers read
# a token's kind from a payload "typ" (Keycloak) or "token_use" (Cognito), so a caller-chosen
# value would be a cross-JWT confusion vector; "nonce" goes through its own parameter.
RESERVED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "iat", "exp", "nbf", "jti", "typ", "nonce", "token_use"}
)


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenProfile:
    """A kind of token the issuer mints.

    Parameters:
        name: the profile's name (``access``, ``id``, ``reset``, ...).
        typ: the ``typ`` header. ``at+jwt`` makes an RFC 9068 access token, ``JWT`` an OpenID
            Connect ID token (``nonce`` required); anything else is an application type.
        token_use: which ``KeyRing`` use signs it (its own key).
        default_ttl: lifetime in seconds when the caller gives none.
        max_ttl: the longest lifetime without ``allow_long_ttl``.
        min_ttl: the shortest lifetime accepted (default 1 s).
        long_ttl_cap: the hard cap with ``allow_long_ttl`` (default: ``max_ttl``).
        required_claims: custom claims every token of this profile must carry.
        set_nbf: always set ``nbf`` (to ``iat`` unless ``not_before`` is given).

    Raises:
        ValueError: inconsistent lifetimes, empty names, reserved required claims.
    """

    name: str
    typ: str
    token_use: str
    default_ttl: int
    max_ttl: int
    min_ttl: int = 1
    long_ttl_cap: int | None = None
    required_claims: tuple[str, ...] = ()
    set_nbf: bool = False

    def __post_init__(self) -> None:
        for field_name in ("name", "typ", "token_use"):
            value = getattr(self, field_name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"TokenProfile.{field_name} must be a non-empty string")
        if not is_media_type(self.typ):
            # RFC 7515 4.1.9 comparisons are exact: " at+jwt" would mint tokens no verifier
            # of this profile accepts (and would not be an access token for TokenProfile.kind).
            raise ValueError(f"TokenProfile.typ must be a bare media type, not {self.typ!r}")
        cap = self.max_ttl if self.long_ttl_cap is None else self.long_ttl_cap
        lifetimes = (self.min_ttl, self.default_ttl, self.max_ttl, cap)
        if not all(type(t) is int for t in lifetimes):
            raise ValueError("TokenProfile lifetimes must be whole seconds")
        if not 0 < self.min_ttl <= self.default_ttl <= self.max_ttl <= cap:
            raise ValueError("TokenProfile needs 0 < min_ttl <= default_ttl <= max_ttl <= cap")
        object.__setattr__(self, "long_ttl_cap", cap)
        object.__setattr__(self, "required_claims", tuple(self.required_claims))
        reserved = RESERVED_CLAIMS.intersection(self.required_claims)
        if reserved:
            raise ValueError(f"required_claims may not name reserved claims {sorted(reserved)}")

    @property
    def kind(self) -> str:
        """``access`` (``at+jwt``), ``id`` (``JWT``) or ``custom``: the verifier profile."""
        typ = normalize_typ(self.typ)
        if typ == ACCESS_TOKEN_TYP:
            return "access"
        return "id" if typ == ID_TOKEN_TYP else "custom"

    @property
    def rules(self) -> KindRules:
        """The claims every token of this profile's kind carries (``KIND_RULES``)."""
        return KIND_RULES[self.kind]


ACCESS_TOKEN = TokenProfile(
    name="access",
    typ="at+jwt",
    token_use="access",
    default_ttl=600,
    min_ttl=300,
    max_ttl=900,
    long_ttl_cap=3600,
)
ID_TOKEN = TokenProfile(name="id", typ="JWT", token_use="id", default_ttl=600, max_ttl=3600)
RESET_TOKEN = TokenProfile(
    name="reset", typ="reset+jwt", token_use="reset", default_ttl=900, min_ttl=60, max_ttl=900
)
DEFAULT_PROFILES: tuple[TokenProfile, ...] = (ACCESS_TOKEN, ID_TOKEN, RESET_TOKEN)
