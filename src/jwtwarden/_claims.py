"""The claim rules of a ``VerificationPolicy``, compiled once: ``typ``, required and forbidden
claims, the time claims (RFC 7519 4.1.4-4.1.6, with leeway and ``max_age``), ``aud``, ``sub``,
``jti``, the registered claim types and the OpenID Connect ``nonce``.

``Verifier`` runs them after the signature verified; the verified-token cache re-runs them on
every hit; ``explain`` runs them one claim at a time. One implementation for the three.
"""

from __future__ import annotations

import hmac
import inspect
import math
from typing import TYPE_CHECKING, Any

from ._jose.claim_types import TYPED_CLAIMS, wrong_claim_type
from ._jose.header import json_type, normalize_typ
from .errors import (
    ExpiredTokenError,
    InvalidClaimError,
    IssuedInFutureError,
    JWTWardenError,
    MalformedTokenError,
    MissingClaimError,
    NotYetValidError,
    RevocationUnavailableError,
    TokenTooOldError,
    WrongAudienceError,
    WrongTypeError,
)

if TYPE_CHECKING:
    from .policy import VerificationPolicy

__all__ = ["ClaimRules", "quoted"]


def quoted(value: object, limit: int = 80) -> str:
    """``value`` for a message: ``repr``-quoted (control characters escaped), cut at ``limit``."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _numeric_date(claims: dict[str, Any], name: str) -> float | None:
    if name not in claims:
        return None
    value = claims[name]
    # RFC 7519 2: a NumericDate is a JSON number. Not null, not a string, not a boolean,
    # finite; an integer too large for a float (10**400) is no date either.
    if (type(value) is not int and type(value) is not float) or not _finite(value):
        raise InvalidClaimError(
            f"{name!r} must be a finite number of seconds, not {_found(value)}",
            claim=name,
            reason="not_a_number",
        )
    return value


def _found(value: object) -> str:
    return "a non-finite number" if type(value) in (int, float) else json_type(value)


def _check_registered_types(claims: dict[str, Any]) -> None:
    for name in TYPED_CLAIMS:
        if name in claims:
            problem = wrong_claim_type(name, claims[name])
            if problem is not None:
                raise InvalidClaimError(problem[0], claim=name, reason=problem[1])


def _empty_or(value: object) -> str:
    return "an empty string" if value == "" else json_type(value)


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


class ClaimRules:
    """The claim checks of one policy; ``check(header, claims)`` raises the first failure."""

    __slots__ = (
        "_absent_typ_ok",
        "_audiences",
        "_clock",
        "_forbidden",
        "_leeway",
        "_max_age",
        "_nonce",
        "_require_nonce",
        "_required",
        "_subject_exists",
        "_typ_memo",
        "_typs",
    )

    def __init__(self, policy: VerificationPolicy) -> None:
        self._audiences = policy.audiences
        self._typs = policy.expected_typs
        self._absent_typ_ok = policy.typ_absent_ok
        self._leeway = float(policy.leeway)
        self._max_age = policy.max_age
        self._required = frozenset(policy.required_claims)
        self._forbidden = frozenset(policy.forbidden_claims)
        self._nonce = policy.nonce
        self._require_nonce = policy.require_nonce
        self._subject_exists = policy.subject_exists
        self._clock = policy.clock
        self._typ_memo: dict[str, str] = {}

    def _check_typ(self, header: dict[str, Any]) -> None:
        typs = self._typs
        if typs is None:
            return
        if "typ" not in header:
            if self._absent_typ_ok:
                return
            raise WrongTypeError(
                f"the token has no 'typ'; expected {' or '.join(sorted(typs))}",
                claim="typ",
                reason="missing",
            )
        typ = header["typ"]
        if type(typ) is not str:  # check_header refused it already; a cached header re-runs
            raise MalformedTokenError(
                f"the header parameter 'typ' must be a string, not {json_type(typ)}"
            )
        norm = self._typ_memo.get(typ)
        if norm is None:
            norm = normalize_typ(typ)
            if len(self._typ_memo) < 64:
                self._typ_memo[typ] = norm
        if norm not in typs:
            raise WrongTypeError(
                f"typ {typ[:40]!r} is not {' or '.join(sorted(typs))}",
                claim="typ",
                reason="mismatch",
            )

    def check(self, header: dict[str, Any], claims: dict[str, Any]) -> None:
        """Every claim rule, in the verifier's order; raise the first failure."""
        self._check_typ(header)
        for name in self._required:
            if name not in claims:
                raise MissingClaimError(f"the token has no {name!r}", claim=name, reason="missing")
        for name in self._forbidden:
            if name in claims:
                raise InvalidClaimError(
                    f"{name!r} is not allowed in this token type (cross-JWT confusion)",
                    claim=name,
                    reason="forbidden",
                )
        now = self._clock.now()
        leeway = self._leeway
        exp = _numeric_date(claims, "exp")
        if exp is not None and now >= exp + leeway:
            raise ExpiredTokenError("the token has expired", claim="exp", reason="expired")
        nbf = _numeric_date(claims, "nbf")
        if nbf is not None and now + leeway < nbf:
            raise NotYetValidError("the token is not valid yet", claim="nbf", reason="future")
        iat = _numeric_date(claims, "iat")
        if iat is not None and iat > now + leeway:
            raise IssuedInFutureError(
                "the token was issued in the future", claim="iat", reason="future"
            )
        if self._max_age is not None:
            if iat is None:
                raise MissingClaimError(
                    "max_age needs an 'iat' claim", claim="iat", reason="missing"
                )
            if now - iat > self._max_age + leeway:
                raise TokenTooOldError(
                    f"the token is older than {self._max_age:g} s", claim="iat", reason="too_old"
                )
        self._check_audience(claims)
        if "sub" in claims:
            sub = claims["sub"]
            if type(sub) is not str or not sub:
                raise InvalidClaimError(
                    f"'sub' must be a non-empty string, not {_empty_or(sub)}",
                    claim="sub",
                    reason="not_a_string",
                )
            if self._subject_exists is not None and not self._subject_known(sub):
                raise InvalidClaimError(
                    "the subject is not a known account", claim="sub", reason="unknown_subject"
                )
        if "jti" in claims and (type(claims["jti"]) is not str or not claims["jti"]):
            raise InvalidClaimError(
                f"'jti' must be a non-empty string, not {_empty_or(claims['jti'])}",
                claim="jti",
                reason="not_a_string",
            )
        _check_registered_types(claims)
        if self._require_nonce:
            self._check_nonce(claims)

    def _subject_known(self, sub: str) -> bool:
        # A lookup that cannot answer (database down) refuses the token as "unavailable", not
        # as "malformed": the token may be fine, the service is not (fail closed, HTTP 503).
        assert self._subject_exists is not None
        try:
            known = self._subject_exists(sub)
        except JWTWardenError:
            raise
        except Exception as exc:
            raise RevocationUnavailableError(
                f"the subject_exists hook failed ({type(exc).__name__}); refusing"
            ) from None
        if inspect.isawaitable(known):
            # A coroutine is truthy: accepting it would let every subject through.
            if hasattr(known, "close"):
                known.close()
            raise RevocationUnavailableError("subject_exists returned an awaitable; refusing")
        return bool(known)

    def _check_audience(self, claims: dict[str, Any]) -> None:
        if "aud" not in claims:
            raise MissingClaimError("the token has no 'aud'", claim="aud", reason="missing")
        aud = claims["aud"]
        if type(aud) is str:
            if aud in self._audiences:
                return
        elif type(aud) is list and aud and all(type(a) is str for a in aud):
            if not self._audiences.isdisjoint(aud):
                return
        else:
            raise InvalidClaimError(
                f"'aud' must be a string or a non-empty list of strings, not {json_type(aud)}",
                claim="aud",
                reason="not_a_string",
            )
        # Both values are safe to show: the token's own claim, and the verifier's configuration.
        raise WrongAudienceError(
            f"the token is not meant for this audience: its aud is {quoted(aud)}, expected "
            f"{' or '.join(quoted(a) for a in sorted(self._audiences))}",
            claim="aud",
            reason="mismatch",
        )

    def _check_nonce(self, claims: dict[str, Any]) -> None:
        if "nonce" not in claims:
            raise MissingClaimError("an ID token needs a 'nonce'", claim="nonce", reason="missing")
        nonce = claims["nonce"]
        if type(nonce) is not str:
            raise InvalidClaimError(
                f"'nonce' must be a string, not {json_type(nonce)}",
                claim="nonce",
                reason="not_a_string",
            )
        if self._nonce is not None and not hmac.compare_digest(
            nonce.encode(), self._nonce.encode()
        ):
            raise InvalidClaimError("the nonce does not match", claim="nonce", reason="mismatch")
