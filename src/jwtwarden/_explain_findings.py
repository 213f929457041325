"""What ``explain`` notices in a token by reading it: the findings (``alg_none``, ``no_exp``,
``key_in_header``...), the claim lint, and times for humans. Nothing here verifies anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ._jose.algorithms import ALGORITHMS
from ._jose.header import JWE_HEADERS, KEY_URL_HEADERS, normalize_typ
from .policy import VerificationPolicy
from .token_profiles import ACCESS_TOKEN_TYP

Severity = Literal["danger", "warn", "info"]

# Sizes the guide calls out: tokens travel on every request, and large ones break header limits.
SIZE_NOTE = 1024
SIZE_WARN = 4096
ACCESS_TOKEN_MAX_LIFETIME = 15 * 60
TIME_CLAIMS = ("exp", "nbf", "iat", "auth_time")


@dataclass(frozen=True, kw_only=True, slots=True)
class Finding:
    """Something worth knowing about a token: ``danger``, ``warn`` or ``info``, a stable short
    ``code`` (``alg_none``, ``no_exp``, ``key_in_header``...) and a message for humans."""

    severity: Severity
    code: str
    message: str


# --- findings -----------------------------------------------------------------------------------


def severity_rank(finding: Finding) -> int:
    return {"danger": 0, "warn": 1, "info": 2}[finding.severity]


def size_findings(size: int) -> list[Finding]:
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


def header_findings(header: dict[str, Any], unsigned: bool) -> list[Finding]:
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


def finite_number(value: Any) -> float | None:
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


def claim_findings(
    header: dict[str, Any], claims: dict[str, Any], now: float, policy: VerificationPolicy | None
) -> list[Finding]:
    out: list[Finding] = []
    exp = finite_number(claims.get("exp"))
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
        start = finite_number(claims.get("iat"))
        if start is None:
            start = finite_number(claims.get("nbf"))
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
    nbf = finite_number(claims.get("nbf"))
    if nbf is not None and nbf > now:
        out.append(
            Finding(
                severity="info",
                code="not_yet_valid",
                message=f"not valid for another {_duration(nbf - now)}",
            )
        )
    iat = finite_number(claims.get("iat"))
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


def lint_findings(claims: dict[str, Any]) -> tuple[list[Finding], set[str]]:
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


def redacted(claims: dict[str, Any] | None, secret: set[str]) -> dict[str, Any] | None:
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


def human_time(value: float, now: float) -> str:
    try:
        iso = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return "out of range"
    delta = value - now
    when = f"in {_duration(delta)}" if delta > 0 else f"{_duration(delta)} ago"
    return f"{iso} ({when})"


def times(claims: dict[str, Any], now: float) -> dict[str, str]:
    out = {}
    for name in TIME_CLAIMS:
        value = finite_number(claims.get(name))
        if value is not None:
            out[name] = human_time(value, now)
        elif name in claims:
            out[name] = "not a finite number"
    return out
