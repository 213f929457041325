"""Verification: structure -> header -> issuer -> key -> signature -> claims -> hooks.

One call checks the signature *and* every claim; there is no second step to forget. The token
is parsed once, by our strict parser, and the signature is checked by ``joserfc``'s algorithm
object for the key's own pinned algorithm.

    >>> verifier = Verifier(policy)            # doctest: +SKIP
    >>> token = verifier.verify(raw_token)     # doctest: +SKIP
    >>> token.claims["sub"]                    # doctest: +SKIP
"""

from __future__ import annotations

import hmac
import inspect
import math
from collections.abc import Collection
from typing import Any, NamedTuple

from ._jose.b64 import b64url_decode
from ._jose.claim_types import TYPED_CLAIMS, wrong_claim_type
from ._jose.compact import Segments, split_compact
from ._jose.header import check_header, json_type, normalize_typ
from ._jose.strict_json import JSONRefused, loads_object
from ._key_sources import AsyncKeySource, HeaderKeySource, KeySelector, KeySource, key_selector
from .errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    IssuedInFutureError,
    JWTWardenError,
    MalformedTokenError,
    MissingClaimError,
    NotYetValidError,
    RevocationUnavailableError,
    RevokedTokenError,
    TokenTooOldError,
    WrongAudienceError,
    WrongIssuerError,
    WrongTypeError,
)
from .keys.key import Key
from .keys.keyset import KeySet
from .policy import VerificationPolicy

__all__ = [
    "AsyncKeySource",
    "HeaderKeySource",
    "JWSVerifier",
    "KeySource",
    "VerifiedJWS",
    "VerifiedToken",
    "Verifier",
    "verify",
    "verify_async",
    "verify_compact",
]


class VerifiedToken(NamedTuple):
    """A token that passed every check: its protected header, its claims, and the key."""

    header: dict[str, Any]
    claims: dict[str, Any]
    key: Key


class VerifiedJWS(NamedTuple):
    """A compact JWS whose signature verified (no claims semantics)."""

    header: dict[str, Any]
    payload: bytes
    key: Key


def _json(segment: str, what: str) -> dict[str, Any]:
    try:
        return loads_object(b64url_decode(segment), what)
    except JSONRefused as exc:
        raise MalformedTokenError(str(exc)) from None


def _check_signature(seg: Segments, key: Key) -> None:
    sig = seg.signature
    size = key.spec.signature_bytes
    if size and len(sig) != size:
        raise BadSignatureError(f"a {key.alg} signature is {size} bytes, not {len(sig)}")
    try:
        ok = key.impl.verify(seg.signing_input, sig, key.jwk)
    except Exception:  # joserfc/cryptography refusing a malformed signature
        ok = False
    if not ok:
        raise BadSignatureError("the signature does not verify with the trusted key")


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


def _refuse_if_false(outcome: object) -> None:
    # Hooks refuse by raising RevokedTokenError; one written as a predicate that returns False
    # must not let the token through (fail closed).
    if outcome is False:
        raise RevokedTokenError("a revocation check refused the token")


class JWSVerifier:
    """Compact JWS verification with a pinned key set, no claims (the JOSE layer).

    Use ``Verifier`` for JWTs; this is for signed payloads that are not claim sets.
    """

    __slots__ = ("_algorithms", "_allowed_headers", "_keys", "_max_size")

    def __init__(
        self,
        *,
        keys: KeySet | KeySource,
        algorithms: Collection[str],
        max_token_size: int = 8192,
        allowed_headers: Collection[str] = (),
    ) -> None:
        # Build (and so validate) through a policy: same rules for algorithms and headers.
        probe = VerificationPolicy(
            algorithms=algorithms,
            audience="-",
            issuer="-",
            keys=keys,
            max_token_size=max_token_size,
            allowed_headers=allowed_headers,
        )
        self._algorithms = probe.allowed_algorithms
        self._allowed_headers = frozenset(probe.allowed_headers)
        self._keys = keys
        self._max_size = max_token_size

    def verify(self, token: str | bytes) -> VerifiedJWS:
        """Verify a compact JWS; raise an ``InvalidTokenError`` subclass otherwise."""
        try:
            seg = split_compact(token, self._max_size)
            header = _json(seg.header_b64, "header")
            alg, kid = check_header(header, self._algorithms, self._allowed_headers)
            key = self._keys.select(kid, alg)
            _check_signature(seg, key)
            return VerifiedJWS(header, b64url_decode(seg.payload_b64), key)
        except JWTWardenError:
            raise
        except Exception:
            raise MalformedTokenError("the token could not be processed") from None


class Verifier:
    """A compiled ``VerificationPolicy``: build once, call ``verify`` per request.

    Thread-safe and allocation-light: nothing is built per call but the result.
    """

    __slots__ = (
        "_absent_typ_ok",
        "_algorithms",
        "_allowed_headers",
        "_audiences",
        "_checks",
        "_clock",
        "_forbidden",
        "_leeway",
        "_max_age",
        "_max_size",
        "_nonce",
        "_require_nonce",
        "_required",
        "_selectors",
        "_subject_exists",
        "_typ_memo",
        "_typs",
        "policy",
    )

    def __init__(self, policy: VerificationPolicy) -> None:
        if not isinstance(policy, VerificationPolicy):
            raise TypeError("Verifier takes a VerificationPolicy")
        self.policy = policy
        self._algorithms = policy.allowed_algorithms
        self._allowed_headers = frozenset(policy.allowed_headers)
        # How each issuer's source is asked for a key, decided once (see _key_sources).
        by_header = bool(self._allowed_headers)
        self._selectors: dict[str, KeySelector] = {
            iss: key_selector(source, by_header=by_header)
            for iss, source in policy.key_sources.items()
        }
        self._audiences = policy.audiences
        self._typs = policy.expected_typs
        self._absent_typ_ok = policy.typ_absent_ok
        self._leeway = float(policy.leeway)
        self._max_age = policy.max_age
        self._max_size = policy.max_token_size
        self._required = frozenset(policy.required_claims)
        self._forbidden = frozenset(policy.forbidden_claims)
        self._nonce = policy.nonce
        self._require_nonce = policy.require_nonce
        self._subject_exists = policy.subject_exists
        self._checks = policy.checks
        self._clock = policy.clock
        self._typ_memo: dict[str, str] = {}

    # --- the pipeline -----------------------------------------------------------------------

    def _parse(
        self, token: str | bytes
    ) -> tuple[Segments, dict[str, Any], dict[str, Any], KeySelector, str, str | None]:
        seg = split_compact(token, self._max_size)
        header = _json(seg.header_b64, "header")
        alg, kid = check_header(header, self._algorithms, self._allowed_headers)
        claims = _json(seg.payload_b64, "payload")
        # Present is tested with "in": {"iss": null} is a wrong type, not a missing claim.
        if "iss" not in claims:
            raise MissingClaimError("the token has no 'iss'", claim="iss", reason="missing")
        iss = claims["iss"]
        if type(iss) is not str:
            raise InvalidClaimError(
                f"'iss' must be a string, not {json_type(iss)}", claim="iss", reason="not_a_string"
            )
        selector = self._selectors.get(iss)
        if selector is None:
            # Exact match only: never a prefix, substring or normalised URL.
            raise WrongIssuerError(
                f"issuer is not trusted; expected {' or '.join(sorted(self._selectors))}",
                claim="iss",
                reason="untrusted",
            )
        return seg, header, claims, selector, alg, kid

    def verify(self, token: str | bytes) -> VerifiedToken:
        """Verify signature and claims; return the ``VerifiedToken`` or raise.

        Raises:
            InvalidTokenError: a subclass per stable code (see ``jwtwarden.errors``).
            RevocationUnavailableError: a revocation hook could not answer (fail closed).
        """
        try:
            seg, header, claims, selector, alg, kid = self._parse(token)
            key = selector.select(header, kid, alg)
            _check_signature(seg, key)
            self._check_claims(header, claims)
            result = VerifiedToken(header, claims, key)
        except JWTWardenError:
            raise
        except Exception:
            raise MalformedTokenError("the token could not be processed") from None
        if self._checks:
            self._run_hooks(result)
        return result

    async def verify_async(self, token: str | bytes) -> VerifiedToken:
        """Like ``verify``, awaiting async key sources (``aselect``) and async hooks."""
        try:
            seg, header, claims, selector, alg, kid = self._parse(token)
            key = await selector.aselect(header, kid, alg)
            _check_signature(seg, key)
            self._check_claims(header, claims)
            result = VerifiedToken(header, claims, key)
        except JWTWardenError:
            raise
        except Exception:
            raise MalformedTokenError("the token could not be processed") from None
        if self._checks:
            await self.run_hooks_async(result)
        return result

    def key_selector(self, iss: str) -> KeySelector | None:
        """How the source of issuer ``iss`` is asked for a key (``None``: not trusted).

        The verified-token cache asks through this, so a hit selects the key exactly as a
        cold ``verify`` does.
        """
        return self._selectors.get(iss)

    def check_claims(self, result: VerifiedToken) -> None:
        """Re-run the time-dependent and claim checks on an already verified token
        (the verified-token cache calls this on every hit)."""
        self._check_claims(result.header, result.claims)

    def run_hooks(self, result: VerifiedToken) -> None:
        """Run the policy's revocation hooks (``policy.checks``) on a verified token.

        Raises:
            JWTWardenError: what a hook raised (``RevokedTokenError``, ...).
            RevocationUnavailableError: a hook failed in any other way (fail closed).
            TypeError: a hook is async (use ``run_hooks_async``).
        """
        if self._checks:
            self._run_hooks(result)

    async def run_hooks_async(self, result: VerifiedToken) -> None:
        """Like ``run_hooks``, awaiting async hooks (``verify_async`` and the cache use it)."""
        for hook in self._checks:
            try:
                outcome = hook(result)
                if inspect.isawaitable(outcome):
                    outcome = await outcome
            except JWTWardenError:
                raise
            except Exception as exc:
                raise RevocationUnavailableError(
                    f"a revocation check failed ({type(exc).__name__}); refusing"
                ) from None
            _refuse_if_false(outcome)

    def _run_hooks(self, result: VerifiedToken) -> None:
        for hook in self._checks:
            try:
                outcome = hook(result)
            except JWTWardenError:
                raise
            except Exception as exc:
                raise RevocationUnavailableError(
                    f"a revocation check failed ({type(exc).__name__}); refusing"
                ) from None
            if inspect.isawaitable(outcome):
                if hasattr(outcome, "close"):
                    outcome.close()
                raise TypeError("an async hook needs verify_async")
            _refuse_if_false(outcome)

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

    def _check_claims(self, header: dict[str, Any], claims: dict[str, Any]) -> None:
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
        raise WrongAudienceError(
            "the token is not meant for this audience", claim="aud", reason="mismatch"
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


def verify(token: str | bytes, policy: VerificationPolicy) -> VerifiedToken:
    """Verify ``token`` against ``policy`` (builds a ``Verifier``; keep one for hot paths)."""
    return Verifier(policy).verify(token)


async def verify_async(token: str | bytes, policy: VerificationPolicy) -> VerifiedToken:
    """Like ``verify``, awaiting async key sources and hooks (keep a ``Verifier`` for hot paths)."""
    return await Verifier(policy).verify_async(token)


def verify_compact(
    token: str | bytes, *, keys: KeySet | KeySource, algorithms: Collection[str]
) -> VerifiedJWS:
    """Verify a compact JWS with no claims semantics (see ``JWSVerifier``)."""
    return JWSVerifier(keys=keys, algorithms=algorithms).verify(token)
