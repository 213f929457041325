"""Explain a token without trusting it: what it says, what looks wrong, and, given a policy,
which of the verifier's checks pass, which fail, and why.

This is a debugging aid. It decodes through ``jwtwarden.unsafe`` (nothing it shows is trusted)
and never grants anything: the verdict it reports comes from the real ``Verifier``, and the
step-by-step results beside it run the verifier's own code one check at a time.

    >>> report = explain(token, policy)           # doctest: +SKIP
    >>> [f.code for f in report.findings]         # doctest: +SKIP
    ['hmac', 'no_exp']
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

from ._explain_findings import (
    TIME_CLAIMS,
    Finding,
    claim_findings,
    finite_number,
    header_findings,
    human_time,
    lint_findings,
    redacted,
    severity_rank,
    size_findings,
    times,
)
from .clock import SYSTEM_CLOCK, Clock
from .errors import JWTWardenError, MalformedTokenError
from .keys.key import Key
from .policy import VerificationPolicy
from .unsafe import UnverifiedToken, decode_unverified
from .verify import Trace, VerifiedToken, Verifier

__all__ = ["CheckResult", "Explanation", "Finding", "explain"]

_INSPECT_MAX_SIZE = 65536
_CLAIM_ORDER = ("exp", "nbf", "iat", "aud", "sub", "jti", "nonce")


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckResult:
    """One verifier step: ``passed`` is ``None`` when the step could not run (an earlier step
    failed); ``code`` is the error code of a failure."""

    step: str
    passed: bool | None
    detail: str
    code: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Explanation:
    """What ``explain`` found. ``valid`` is ``None`` when no policy was given."""

    size: int
    decoded: bool
    header: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] | None = None
    times: dict[str, str] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    checks: tuple[CheckResult, ...] = ()
    valid: bool | None = None
    error: str | None = None
    error_detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready document (what ``jwtwarden inspect --json`` prints)."""
        return {
            "size": self.size,
            "decoded": self.decoded,
            "header": self.header,
            "claims": self.claims,
            "times": self.times,
            "findings": [
                {"severity": f.severity, "code": f.code, "message": f.message}
                for f in self.findings
            ],
            "checks": [
                {"step": c.step, "passed": c.passed, "detail": c.detail, "code": c.code}
                for c in self.checks
            ],
            "valid": self.valid,
            "error": self.error,
            "error_detail": self.error_detail,
        }


def explain(
    token: str | bytes, policy: VerificationPolicy | None = None, *, clock: Clock | None = None
) -> Explanation:
    """Decode ``token`` without trusting it and explain it; with ``policy``, run each check.

    Never raises for a bad token (a token that cannot be decoded is explained as such).
    Claim values that look like secrets are redacted from ``claims``.

    Parameters:
        token: the compact JWS, as text or ASCII bytes.
        policy: what the application expects; ``None`` only decodes and lists findings.
        clock: "now" for relative times (default: the policy's clock, else the system's).

    Raises:
        TypeError: ``policy`` is not a ``VerificationPolicy``.

    Example:
        >>> explain("eyJhbGciOiJub25lIn0.e30.c2ln").findings[0].code  # doctest: +SKIP
        'alg_none'
    """
    if policy is not None and not isinstance(policy, VerificationPolicy):
        raise TypeError("explain takes a VerificationPolicy (or None)")
    now = (clock or (policy.clock if policy is not None else SYSTEM_CLOCK)).now()
    size = len(token)
    findings: list[Finding] = size_findings(size)
    try:
        decoded, unsigned = _decode(token)
    except JWTWardenError as exc:
        findings.insert(0, Finding(severity="danger", code=exc.code, message=exc.detail))
        checks: tuple[CheckResult, ...] = ()
        if policy is not None:
            checks = (
                CheckResult(step="structure", passed=False, detail=exc.detail, code=exc.code),
            )
        return Explanation(
            size=size,
            decoded=False,
            findings=tuple(findings),
            checks=checks,
            valid=False if policy is not None else None,
            error=exc.code,
            error_detail=exc.detail,
        )
    header, claims = decoded.header, decoded.claims
    findings[:0] = header_findings(header, unsigned)
    secret_claims: set[str] = set()
    if claims is None:
        findings.append(
            Finding(
                severity="danger",
                code="payload_not_json",
                message="the payload is not a JSON object: not a JWT",
            )
        )
    else:
        findings += claim_findings(header, claims, now, policy)
        linted, secret_claims = lint_findings(claims)
        findings += linted
    explanation = Explanation(
        size=size,
        decoded=True,
        header=header,
        claims=redacted(claims, secret_claims),
        times=times(claims or {}, now),
        findings=tuple(sorted(findings, key=severity_rank)),
    )
    if policy is None:
        return explanation
    checks_, valid, error, detail = _run_checks(token, policy, decoded)
    return Explanation(
        size=explanation.size,
        decoded=True,
        header=explanation.header,
        claims=explanation.claims,
        times=explanation.times,
        findings=explanation.findings,
        checks=tuple(checks_),
        valid=valid,
        error=error,
        error_detail=detail,
    )


# --- decoding ---------------------------------------------------------------------------------


def _decode(token: str | bytes) -> tuple[UnverifiedToken, bool]:
    """The unverified token, and whether it was unsigned (an empty signature segment)."""
    try:
        return decode_unverified(token, max_size=_INSPECT_MAX_SIZE), False
    except MalformedTokenError:
        text = token.decode("ascii", "replace") if isinstance(token, bytes) else token
        if not (isinstance(text, str) and text.endswith(".") and text.count(".") == 2):
            raise
    # "header.payload." is the shape of an alg none token (RFC 7519 6.1). The strict parser
    # refuses an empty signature; to explain such a token, parse it with a one-byte stand-in
    # signature ("AA") and report it as unsigned.
    decoded = decode_unverified(text + "AA", max_size=_INSPECT_MAX_SIZE + 2)
    return decoded._replace(signature=b""), True


# --- checks -----------------------------------------------------------------------------------


def _skipped(step: str) -> CheckResult:
    return CheckResult(step=step, passed=None, detail="not run: an earlier step failed")


def _passed(step: str, t: Trace) -> str:
    """What a step that passed established, for humans."""
    if step == "structure":
        return f"three canonical base64url segments, {len(t.token)} bytes"
    if step == "header":
        return f"alg {t.alg} is allowed" + (f", kid {t.kid!r}" if t.kid else ", no kid")
    if step == "payload":
        return "a JSON object"
    if step == "issuer":
        return f"{(t.claims or {}).get('iss')} is trusted (exact match)"
    if step == "key" and t.key is not None:
        return f"key {t.key.kid!r}, pinned to {t.key.alg}"
    if step == "signature" and t.key is not None:
        return f"verifies with {t.key.kid!r} ({t.key.alg})"
    return "passed"


def _run_checks(
    token: str | bytes, policy: VerificationPolicy, decoded: UnverifiedToken
) -> tuple[list[CheckResult], bool, str | None, str | None]:
    """The verifier's own steps (``Verifier.steps``), one at a time, then each claim rule
    and the verdict of a real ``verify``."""
    verifier = Verifier(policy)
    trace = Trace(token)
    checks: list[CheckResult] = []
    failed = False
    for name, step in verifier.steps():
        if failed:
            checks.append(_skipped(name))
            continue
        try:
            step(trace)
        except JWTWardenError as exc:
            checks.append(CheckResult(step=name, passed=False, detail=exc.detail, code=exc.code))
            failed = True
        except Exception:  # as verify: anything else is a token that could not be processed
            checks.append(
                CheckResult(
                    step=name,
                    passed=False,
                    detail="the token could not be processed",
                    code=MalformedTokenError.code,
                )
            )
            failed = True
        else:
            checks.append(CheckResult(step=name, passed=True, detail=_passed(name, trace)))
    if decoded.claims is not None:
        checks += _claim_checks(verifier, policy, decoded.header, decoded.claims, trace.key)
    try:
        verifier.verify(token)
    except JWTWardenError as exc:
        checks.append(CheckResult(step="verdict", passed=False, detail=exc.detail, code=exc.code))
        return checks, False, exc.code, exc.detail
    checks.append(CheckResult(step="verdict", passed=True, detail="every check passed"))
    return checks, True, None, None


def _claim_checks(
    verifier: Verifier,
    policy: VerificationPolicy,
    header: dict[str, Any],
    claims: dict[str, Any],
    key: Key | None,
) -> list[CheckResult]:
    """Each claim rule on its own, through the verifier's own ``check_claims``: a baseline claim
    set that passes every rule, with one claim at a time taken from the token."""
    now = policy.clock.now()
    baseline: dict[str, Any] = {
        "iss": next(iter(policy.key_sources)),
        "aud": sorted(policy.audiences)[0],
        "sub": "inspect",
        "iat": int(now),
        "exp": int(now) + 60,
        "jti": "inspect",
    }
    if policy.require_nonce:
        baseline["nonce"] = policy.nonce or "inspect"
    for name in policy.required_claims:
        baseline.setdefault(name, "inspect")
    good_header = {k: v for k, v in header.items() if k != "typ"}
    if policy.expected_typs and not policy.typ_absent_ok:
        good_header["typ"] = sorted(policy.expected_typs)[0]
    holder = cast(Key, key)  # check_claims reads only the header and the claims

    def run(step: str, hdr: dict[str, Any], trial: dict[str, Any], ok: str) -> CheckResult:
        try:
            verifier.check_claims(VerifiedToken(hdr, trial, holder))
        except JWTWardenError as exc:
            return CheckResult(step=step, passed=False, detail=exc.detail, code=exc.code)
        return CheckResult(step=step, passed=True, detail=ok)

    sanity = run("claims", good_header, baseline, "")
    if not sanity.passed:  # a policy rule this explainer does not model (a subject hook, ...)
        return [
            CheckResult(
                step="claims",
                passed=None,
                detail="claim rules not shown one by one for this policy",
            )
        ]
    out = [run("typ", header, baseline, _typ_ok(header, policy))]
    names = list(_CLAIM_ORDER)
    names += sorted(
        (set(policy.required_claims) | set(policy.forbidden_claims)) - set(names) - {"iss"}
    )
    for name in names:
        trial = dict(baseline)
        if name in claims:
            trial[name] = claims[name]
            ok = _claim_ok(name, claims[name], now)
        else:
            trial.pop(name, None)
            ok = "absent (optional)"
        out.append(run(name, good_header, trial, ok))
    return out


def _typ_ok(header: dict[str, Any], policy: VerificationPolicy) -> str:
    if policy.expected_typs is None:
        return "not checked by this policy"
    return f"{header['typ']!r} is expected" if "typ" in header else "absent, allowed for ID tokens"


def _claim_ok(name: str, value: Any, now: float) -> str:
    seconds = finite_number(value)
    if name in TIME_CLAIMS and seconds is not None:
        return human_time(seconds, now)
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 80 else text[:77] + "..."
