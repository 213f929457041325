"""The tokens in account e-mail links: typed, short-lived, bound to the account's state, so
that a used or superseded link is dead without a table of issued links.

Two profiles, each its own ``typ`` and its own key (a verification link cannot be replayed as a
reset link, and neither is an access token: RFC 8725 3.11, explicit typing):

- ``reset`` (``reset+jwt``, 15 min): bound to the account's ``auth_version``. Using it sets a
  new password, which bumps the version, so the link is dead once used, and dead as soon as the
  password changes any other way (or the account is disabled).
- ``verify`` (``verify+jwt``, 1 h): bound to the ``auth_version`` and to a hash of the address
  being verified (the current email, or the pending new one of an e-mail change); dead once the
  address is verified or replaced by another change.

The keys are HMAC-SHA256 keys only this server holds (verified here, never published in the
JWKS): HKDF-SHA256 of the KEK with a per-purpose ``info``, or in development a random key file
in the data directory. Links carry the token in the URL fragment (``#token=``), which browsers
do not send to servers or in ``Referer`` (RFC 3986 3.5), so proxies and access logs never see
it; the page posts it to the JSON endpoint.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..clock import SYSTEM_CLOCK, Clock
from ..errors import InvalidLinkError, InvalidTokenError
from ..issue import RESET_TOKEN, Issuer
from ..keys.key import Key
from ..keys.keyset import KeySet
from ..sessions.ports import UserRecord
from ..token_profiles import TokenProfile
from ..verify import Verifier

__all__ = ["VERIFY_TOKEN", "InvalidLinkError", "LinkTokens", "Purpose", "derive_link_secret"]

Purpose = Literal["reset", "verify"]
VERIFY_TOKEN = TokenProfile(
    name="verify", typ="verify+jwt", token_use="verify", default_ttl=3600, min_ttl=60, max_ttl=3600
)
_PROFILES = {"reset": RESET_TOKEN, "verify": VERIFY_TOKEN}
_INFO = b"jwtwarden account links v1"
SECRET_BYTES = 32


def derive_link_secret(kek: bytes) -> bytes:
    """The links' root secret from the KEK (HKDF-SHA256, its own ``info``)."""
    if len(kek) < SECRET_BYTES:
        raise ValueError(f"the KEK must be at least {SECRET_BYTES} bytes")
    return HKDF(algorithm=hashes.SHA256(), length=SECRET_BYTES, salt=None, info=_INFO).derive(kek)


def email_binding(email: str) -> str:
    """What a verification link says about its address: a hash, not the address (the token
    is readable by whoever holds the link; the address need not be in it)."""
    return hashlib.sha256(email.encode()).hexdigest()[:32]


class _Keys:
    """A ``SigningKeyProvider`` of one HMAC key per purpose, derived from the root secret."""

    def __init__(self, secret: bytes) -> None:
        self._keys: dict[str, Key] = {}
        for purpose in _PROFILES:
            raw = hmac.new(secret, b"purpose:" + purpose.encode(), hashlib.sha256).digest()
            [key] = KeySet.from_secret(raw, algorithm="HS256", kid=f"link-{purpose}")
            self._keys[_PROFILES[purpose].token_use] = key

    def signing_key(self, token_use: str) -> Key:
        return self._keys[token_use]

    def verification_keys(self, token_use: str | None = None) -> KeySet:
        keys = [k for use, k in self._keys.items() if token_use in (None, use)]
        return KeySet(keys)

    def max_token_ttl(self, use: str) -> float:
        return 3600.0


@dataclass(frozen=True, kw_only=True, slots=True)
class LinkClaims:
    """A checked link: whose account, and the address a verification link is for."""

    user_id: str
    auth_version: int
    email_hash: str | None


class LinkTokens:
    """Mint and check the tokens of account links.

    Example:
        >>> links = LinkTokens(secret, issuer="https://auth.example.test")  # doctest: +SKIP
        >>> token = links.mint("reset", user)  # doctest: +SKIP
    """

    def __init__(self, secret: bytes, *, issuer: str, clock: Clock = SYSTEM_CLOCK) -> None:
        if len(secret) < SECRET_BYTES:
            raise ValueError(f"the link secret must be at least {SECRET_BYTES} bytes")
        keys = _Keys(secret)
        self.audience = issuer.rstrip("/") + "/account"
        self._issuer = Issuer(
            issuer=issuer, keys=keys, profiles=tuple(_PROFILES.values()), clock=clock
        )
        self._verifiers = {
            purpose: Verifier(
                self._issuer.verification_policy(
                    profile, audience=self.audience, algorithms=["HS256"], leeway=0
                )
            )
            for purpose, profile in _PROFILES.items()
        }

    def mint(self, purpose: Purpose, user: UserRecord, *, email: str | None = None) -> str:
        """A link token for ``user``: ``reset``, or ``verify`` of ``email`` (its address by
        default)."""
        claims: dict[str, Any] = {"auth_version": user.auth_version}
        if purpose == "verify":
            claims["binding"] = email_binding(email or user.email)
        token, _ = self._issuer.mint_with_claims(
            _PROFILES[purpose], sub=user.id, audience=self.audience, claims=claims
        )
        return token

    def check(self, purpose: Purpose, token: object) -> LinkClaims:
        """The claims of a valid link token of ``purpose`` (signature, type, expiry; the
        binding to the account's current state is the caller's, who has the account).

        Raises:
            InvalidLinkError: anything wrong, one error for every cause.
        """
        if not isinstance(token, str) or not 0 < len(token) <= 2048:
            raise InvalidLinkError("the link is not valid")
        try:
            claims = self._verifiers[purpose].verify(token).claims
        except InvalidTokenError:
            raise InvalidLinkError("the link is not valid or has expired") from None
        version, address = claims.get("auth_version"), claims.get("binding")
        if type(version) is not int or (purpose == "verify") != isinstance(address, str):
            raise InvalidLinkError("the link is not valid")
        return LinkClaims(
            user_id=str(claims["sub"]),
            auth_version=version,
            email_hash=address if isinstance(address, str) else None,
        )

    def bound_to(self, link: LinkClaims, user: UserRecord | None, *, email: str | None) -> bool:
        """Whether ``link`` still matches the account: same account, same auth version, and
        (verification) the same address."""
        if user is None or user.disabled or user.id != link.user_id:
            return False
        if user.auth_version != link.auth_version:
            return False
        if link.email_hash is None:
            return True
        return email is not None and hmac.compare_digest(link.email_hash, email_binding(email))
