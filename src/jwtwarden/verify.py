"""Verification: structure -> header -> issuer -> key -> signature -> claims -> hooks.

One call checks the signature *and* every claim; there is no second step to forget. The token
is parsed once, by our strict parser, and the signature is checked by ``joserfc``'s algorithm
object for the key's own pinned algorithm.

    >>> verifier = Verifier(policy)            # doctest: +SKIP
    >>> token = verifier.verify(raw_token)     # doctest: +SKIP
    >>> token.claims["sub"]                    # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, NamedTuple

from ._claims import ClaimRules, quoted
from ._jose.b64 import b64url_decode
from ._jose.compact import Segments, split_compact
from ._jose.header import check_header, json_type
from ._jose.strict_json import JSONRefused, loads_object
from ._key_sources import AsyncKeySource, HeaderKeySource, KeySelector, KeySource, key_selector
from .errors import (
    BadSignatureError,
    InvalidClaimError,
    JWTWardenError,
    MalformedTokenError,
    MissingClaimError,
    RevocationUnavailableError,
    RevokedTokenError,
    WrongIssuerError,
)
from .keys.key import Key
from .keys.keyset import KeySet
from .policy import (
    VerificationPolicy,
    check_algorithms,
    check_allowed_headers,
    check_key_source,
    check_max_token_size,
)

__all__ = [
    "AsyncKeySource",
    "HeaderKeySource",
    "JWSVerifier",
    "KeySource",
    "Trace",
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


@dataclass(slots=True)
class Trace:
    """How far one token got through ``Verifier.steps()`` (what ``explain`` reports)."""

    token: str | bytes
    seg: Segments | None = None
    header: dict[str, Any] | None = None
    claims: dict[str, Any] | None = None
    alg: str | None = None
    kid: str | None = None
    selector: KeySelector | None = None
    key: Key | None = None


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
        # The JOSE-layer rules of a policy, without the issuer, audience and claims it lacks.
        self._algorithms = check_algorithms(algorithms)
        check_key_source(keys, self._algorithms, "the keys of a JWSVerifier")
        check_max_token_size(max_token_size)
        self._allowed_headers = check_allowed_headers(allowed_headers)
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
        "_algorithms",
        "_allowed_headers",
        "_check_claims",
        "_checks",
        "_max_size",
        "_selectors",
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
        self._max_size = policy.max_token_size
        self._checks = policy.checks
        # The claim rules live in _claims (one implementation for verify, cache and explain).
        self._check_claims = ClaimRules(policy).check

    # --- the pipeline -----------------------------------------------------------------------
    # Each step is one small method, called inline by verify/verify_async (no loop on the hot
    # path) and listed once, by name, in ``steps()`` for ``explain``'s step-by-step report.

    def _parse(
        self, token: str | bytes
    ) -> tuple[Segments, dict[str, Any], dict[str, Any], KeySelector, str, str | None]:
        seg = split_compact(token, self._max_size)
        header, alg, kid = self._read_header(seg)
        claims = _json(seg.payload_b64, "payload")
        return seg, header, claims, self._trusted_issuer(claims), alg, kid

    def _read_header(self, seg: Segments) -> tuple[dict[str, Any], str, str | None]:
        header = _json(seg.header_b64, "header")
        alg, kid = check_header(header, self._algorithms, self._allowed_headers)
        return header, alg, kid

    def _trusted_issuer(self, claims: dict[str, Any]) -> KeySelector:
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
                f"issuer {quoted(iss)} is not trusted; expected "
                f"{' or '.join(sorted(self._selectors))}",
                claim="iss",
                reason="untrusted",
            )
        return selector

    def steps(self) -> tuple[tuple[str, Callable[[Trace], None]], ...]:
        """The signature half of ``verify`` as named steps, in ``verify``'s order.

        Each step reads and fills a ``Trace`` and raises the error ``verify`` would raise at
        that point; ``explain`` runs them one by one (the claim rules follow, then the hooks).
        """

        def structure(t: Trace) -> None:
            t.seg = split_compact(t.token, self._max_size)

        def header(t: Trace) -> None:
            assert t.seg is not None
            t.header, t.alg, t.kid = self._read_header(t.seg)

        def payload(t: Trace) -> None:
            assert t.seg is not None
            t.claims = _json(t.seg.payload_b64, "payload")

        def issuer(t: Trace) -> None:
            assert t.claims is not None
            t.selector = self._trusted_issuer(t.claims)

        def key(t: Trace) -> None:
            assert t.selector is not None and t.header is not None and t.alg is not None
            t.key = t.selector.select(t.header, t.kid, t.alg)

        def signature(t: Trace) -> None:
            assert t.seg is not None and t.key is not None
            _check_signature(t.seg, t.key)

        return (
            ("structure", structure),
            ("header", header),
            ("payload", payload),
            ("issuer", issuer),
            ("key", key),
            ("signature", signature),
        )

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
