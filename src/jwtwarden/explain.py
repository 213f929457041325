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
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from ._jose.algorithms import ALGORITHMS
from ._jose.compact import split_compact
from ._jose.header import JWE_HEADERS, KEY_URL_HEADERS, check_header, json_type, normalize_typ
from .clock import SYSTEM_CLOCK, Clock
from .errors import JWTWardenError, MalformedTokenError
from .keys.key import Key
from .keys.keyset import KeySet
from .policy import ACCESS_TOKEN_TYP, VerificationPolicy
from .unsafe import UnverifiedToken, decode_unverified
from .verify import JWSVerifier, VerifiedToken, Verifier

__all__ = ["CheckResult", "Explanation", "Finding", "explain"]

Severity = Literal["danger", "warn", "info"]

# Sizes the guide calls out: tokens travel on every request, and large ones break header limits.
SIZE_NOTE = 1024
SIZE_WARN = 4096
ACCESS_TOKEN_MAX_LIFETIME = 15 * 60
_INSPECT_MAX_SIZE = 65536
_TIME_CLAIMS = ("exp", "nbf", "iat", "auth_time")
_CLAIM_ORDER = ("exp", "nbf", "iat", "aud", "sub", "jti", "nonce")


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """Something worth knowing about a token: ``danger``, ``warn`` or ``info``, a stable short
    ``code`` (``alg_none``, ``no_exp``, ``key_in_header``...) and a message for humans."""

    severity: Severity
    code: str
    message: str


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
    findings: list[Finding] = _size_findings(size)
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
    findings[:0] = _header_findings(header, unsigned)
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
        findings += _claim_findings(header, claims, now, policy)
        lint, secret_claims = _lint(claims)
        findings += lint
    explanation = Explanation(
        size=size,
        decoded=True,
        header=header,
        claims=_redacted(claims, secret_claims),
        times=_times(claims or {}, now),
        findings=tuple(sorted(findings, key=_severity_rank)),
    )
    if policy is None:
        return explanation
    checks_, valid, error, detail = _run_checks(token, policy, decoded, unsigned)
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


# --- findings -----------------------------------------------------------------------------------


def _severity_rank(finding: Finding) -> int:
    return {"danger": 0, "warn": 1, "info": 2}[finding.severity]


def _size_findings(size: int) -> list[Finding]:
    if size > SIZE_WARN:
        return [
            Finding(
                severity="warn",
                code="size_over_4k",
                message=f"{size} bytes: large tokens break header limits of servers and "
                "proxies; keep payloads small",
            )
        ]
    if size > SIZE_NOTE:
        return [
            Finding(
                severity="info",
                code="size_over_1k",
                message=f"{size} bytes: the token travels on every request",
            )
        ]
    return []


def _header_findings(header: dict[str, Any], unsigned: bool) -> list[Finding]:
    out: list[Finding] = []
    alg = header.get("alg")
    if unsigned:
        out.append(
            Finding(
                severity="danger",
                code="unsigned",
                message="the signature segment is empty: an unsigned token",
            )
        )
    if not isinstance(alg, str):
        out.append(
            Finding(
                severity="danger", code="alg_invalid", message="'alg' is missing or not a string"
            )
        )
    elif alg.lower() == "none":
        out.append(
            Finding(
                severity="danger",
                code="alg_none",
                message=f"alg {alg!r}: an unsecured token; never accept it (CVE-2015-9235 class)",
            )
        )
    elif alg.startswith("HS"):
        out.append(
            Finding(
                severity="warn",
                code="hmac",
                message=f"{alg} is a shared secret: every service that can verify "
                "can also mint tokens; prefer RS256/ES256/Ed25519 when "
                "several services verify",
            )
        )
    elif alg not in ALGORITHMS:
        out.append(
            Finding(
                severity="warn",
                code="alg_unsupported",
                message=f"alg {alg[:40]!r} is not a JWS algorithm jwtwarden accepts",
            )
        )
    elif alg == "EdDSA":
        out.append(
            Finding(
                severity="info",
                code="eddsa_legacy",
                message="'EdDSA' is deprecated by RFC 9864; prefer 'Ed25519'",
            )
        )
    for name in sorted(KEY_URL_HEADERS & header.keys()):
        out.append(
            Finding(
                severity="danger",
                code="key_in_header",
                message=f"{name!r} in the header: the token names its own key or "
                "where to fetch it (CVE-2018-0114, SSRF); keys must come "
                "only from the verifier's trusted set",
            )
        )
    if "crit" in header or "b64" in header:
        out.append(
            Finding(
                severity="warn",
                code="crit",
                message="critical extensions ('crit'/'b64'): jwtwarden refuses them",
            )
        )
    jwe = [name for name in JWE_HEADERS if name in header]
    if jwe:
        out.append(
            Finding(
                severity="danger",
                code="jwe_header",
                message=f"JWE header members ({', '.join(jwe)}): decryption is not "
                "authentication (CVE-2023-51774 class)",
            )
        )
    if "typ" not in header:
        out.append(
            Finding(
                severity="info",
                code="no_typ",
                message="no 'typ': explicit typing (RFC 8725 3.11) stops cross-JWT confusion",
            )
        )
    if "kid" not in header:
        out.append(
            Finding(
                severity="info",
                code="no_kid",
                message="no 'kid': accepted only when exactly one trusted key fits",
            )
        )
    return out


def _number(value: Any) -> float | None:
    if type(value) not in (int, float):
        return None
    try:
        # An int beyond any float (10**400) makes isfinite raise: it is no date either.
        return float(value) if math.isfinite(value) else None
    except OverflowError:
        return None


def _is_access_token(header: dict[str, Any], policy: VerificationPolicy | None) -> bool:
    typ = header.get("typ")
    if isinstance(typ, str) and normalize_typ(typ) == ACCESS_TOKEN_TYP:
        return True
    return policy is not None and policy.profile == "access"


def _claim_findings(
    header: dict[str, Any], claims: dict[str, Any], now: float, policy: VerificationPolicy | None
) -> list[Finding]:
    out: list[Finding] = []
    exp = _number(claims.get("exp"))
    if "exp" not in claims:
        out.append(
            Finding(severity="danger", code="no_exp", message="no 'exp': the token never expires")
        )
    elif exp is None:
        out.append(
            Finding(
                severity="danger",
                code="exp_invalid",
                message="'exp' is not a finite number of seconds",
            )
        )
    else:
        start = _number(claims.get("iat"))
        if start is None:
            start = _number(claims.get("nbf"))
        if start is not None and _is_access_token(header, policy):
            lifetime = exp - start
            if lifetime > ACCESS_TOKEN_MAX_LIFETIME:
                out.append(
                    Finding(
                        severity="warn",
                        code="long_lifetime",
                        message=f"an access token valid for {_duration(lifetime)}; "
                        "keep access tokens to 5-15 minutes",
                    )
                )
        if exp <= now:
            out.append(
                Finding(
                    severity="info", code="expired", message=f"expired {_duration(now - exp)} ago"
                )
            )
    nbf = _number(claims.get("nbf"))
    if nbf is not None and nbf > now:
        out.append(
            Finding(
                severity="info",
                code="not_yet_valid",
                message=f"not valid for another {_duration(nbf - now)}",
            )
        )
    iat = _number(claims.get("iat"))
    if iat is not None and iat > now:
        out.append(
            Finding(
                severity="info",
                code="issued_in_future",
                message=f"issued {_duration(iat - now)} in the future",
            )
        )
    if "aud" not in claims:
        out.append(
            Finding(
                severity="warn",
                code="no_aud",
                message="no 'aud': any service trusting the issuer would accept it",
            )
        )
    return out


def _lint(claims: dict[str, Any]) -> tuple[list[Finding], set[str]]:
    """Findings from ``jwtwarden.lint`` and the top-level claims holding secrets."""
    try:
        from .lint import lint_claims
    except ImportError:  # pragma: no cover - the lint module ships with jwtwarden
        return [
            Finding(severity="info", code="lint_unavailable", message="claim lint is not available")
        ], set()
    out: list[Finding] = []
    secret: set[str] = set()
    for item in lint_claims(claims):
        if item.severity == "refuse":
            out.append(
                Finding(
                    severity="danger",
                    code="secret_in_claims",
                    message=f"{item.claim}: {item.message}",
                )
            )
            secret.add(_top_level(item.claim))
        else:
            out.append(
                Finding(
                    severity="warn", code="personal_data", message=f"{item.claim}: {item.message}"
                )
            )
    return out, secret


def _top_level(path: str) -> str:
    for i, ch in enumerate(path):
        if ch in ".[" and i:
            return path[:i]
    return path


def _redacted(claims: dict[str, Any] | None, secret: set[str]) -> dict[str, Any] | None:
    # No secret ever leaves: a value the lint takes for a secret is not printed back.
    if claims is None or not secret:
        return claims
    return {k: ("<redacted: looks like a secret>" if k in secret else v) for k, v in claims.items()}


# --- times ------------------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            value = seconds / size
            return (
                f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}".replace(".0 ", " ")
            )
    return f"{seconds:.0f} s"


def _human_time(value: float, now: float) -> str:
    try:
        iso = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return "out of range"
    delta = value - now
    when = f"in {_duration(delta)}" if delta > 0 else f"{_duration(delta)} ago"
    return f"{iso} ({when})"


def _times(claims: dict[str, Any], now: float) -> dict[str, str]:
    out = {}
    for name in _TIME_CLAIMS:
        value = _number(claims.get(name))
        if value is not None:
            out[name] = _human_time(value, now)
        elif name in claims:
            out[name] = "not a finite number"
    return out


# --- checks -----------------------------------------------------------------------------------


def _step(step: str, action: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(step=step, passed=True, detail=action())
    except JWTWardenError as exc:
        return CheckResult(step=step, passed=False, detail=exc.detail, code=exc.code)


def _skipped(step: str) -> CheckResult:
    return CheckResult(step=step, passed=None, detail="not run: an earlier step failed")


def _run_checks(
    token: str | bytes, policy: VerificationPolicy, decoded: UnverifiedToken, unsigned: bool
) -> tuple[list[CheckResult], bool, str | None, str | None]:
    header, claims = decoded.header, decoded.claims
    checks: list[CheckResult] = []
    state: dict[str, Any] = {}

    def structure() -> str:
        split_compact(token, policy.max_token_size)
        return f"three canonical base64url segments, {len(token)} bytes"

    def header_rules() -> str:
        alg, kid = check_header(
            header, policy.allowed_algorithms, frozenset(policy.allowed_headers)
        )
        state["alg"], state["kid"] = alg, kid
        return f"alg {alg} is allowed" + (f", kid {kid!r}" if kid else ", no kid")

    def payload() -> str:
        if claims is None:
            raise MalformedTokenError("the payload is not a JSON object")
        return "a JSON object"

    def issuer() -> str:
        assert claims is not None
        iss = claims.get("iss")
        source = policy.key_sources.get(iss) if type(iss) is str else None
        if source is None:
            from .errors import InvalidClaimError, MissingClaimError, WrongIssuerError

            # As the verifier: "in", so that {"iss": null} is a wrong type, not "no iss".
            if "iss" not in claims:
                raise MissingClaimError("the token has no 'iss'", claim="iss", reason="missing")
            if type(iss) is not str:
                raise InvalidClaimError(
                    f"'iss' must be a string, not {json_type(iss)}",
                    claim="iss",
                    reason="not_a_string",
                )
            expected = " or ".join(sorted(policy.key_sources))
            raise WrongIssuerError(
                f"issuer {str(iss)[:80]!r} is not trusted; expected {expected}",
                claim="iss",
                reason="untrusted",
            )
        state["source"] = source
        return f"{iss} is trusted (exact match)"

    def key() -> str:
        found: Key = state["source"].select(state["kid"], state["alg"])
        state["key"] = found
        return f"key {found.kid!r}, pinned to {found.alg}"

    def signature() -> str:
        found: Key = state["key"]
        JWSVerifier(
            keys=KeySet([found]),
            algorithms=[found.alg],
            max_token_size=policy.max_token_size,
            allowed_headers=policy.allowed_headers,
        ).verify(token)
        return f"verifies with {found.kid!r} ({found.alg})"

    steps: list[tuple[str, Callable[[], str]]] = [
        ("structure", structure),
        ("header", header_rules),
        ("payload", payload),
        ("issuer", issuer),
        ("key", key),
        ("signature", signature),
    ]
    failed = False
    for name, action in steps:
        if failed:
            checks.append(_skipped(name))
            continue
        result = _step(name, action)
        checks.append(result)
        failed = not result.passed
    verifier = Verifier(policy)
    if claims is not None:
        checks += _claim_checks(verifier, policy, header, claims, state.get("key"))
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
    number = _number(value)
    if name in _TIME_CLAIMS and number is not None:
        return _human_time(number, now)
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 80 else text[:77] + "..."
