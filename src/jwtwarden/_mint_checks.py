"""The checks a token passes before the ``Issuer`` signs it: the audience, custom claim names
(no reserved claim, no look-alike), the claim lint with its memo, the lifetime, ``nbf``, the
``nonce``, the signing key, and the profile table the issuer is built with. Each is a plain
function of its inputs; ``issue.py`` keeps the order in which they run and the signing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._jose.header import normalize_typ
from .errors import ClaimLintError, KeyEnvironmentError, NoSigningKeyError
from .keys.key import Key
from .lint import LintFinding, lint_claims, normalize_claim_name
from .token_profiles import RESERVED_CLAIMS, TokenProfile

__all__ = [
    "audience",
    "check_claim_name",
    "check_nonce",
    "check_signing_key",
    "lifetime",
    "lint_whole",
    "not_before",
    "profile_table",
    "screen",
]

# Per-mint work is kept to what depends on the call (issue 6: minting within 1.2x of the bare
# signature). Lint verdicts of small top-level scalar claims are remembered per issuer: the
# verdict depends only on the name and the value, applications send the same few claims
# ("scope", "client_id", "tenant") over and over, and re-linting them cost more than an
# Ed25519 signature. Only clean or warn-only verdicts are kept (a refused value, which may
# be a secret, is never held), bounded in count and size.
_MEMO_ENTRIES = 1024
_MEMO_MAX_STR = 256
_MEMO_MAX_CLAIMS = 32

_RESERVED_FOLDED = frozenset(name.replace("_", "") for name in RESERVED_CLAIMS)


def _looks_reserved(name: str) -> bool:
    return "".join(normalize_claim_name(name)) in _RESERVED_FOLDED


def check_claim_name(name: object) -> None:
    """Refuse a custom claim name that is not a string or that is, or looks like, a reserved
    claim."""
    if not isinstance(name, str) or not name:
        raise TypeError("claim names must be non-empty strings")
    if name in RESERVED_CLAIMS:
        raise ClaimLintError(
            f"claim {name!r} is set by the issuer and cannot be overridden",
            claim=name,
            reason="reserved",
        )
    if _looks_reserved(name):
        # "ISS", "Sub", fullwidth "exp", "e_x_p": distinct names to a strict parser, the
        # reserved claim to a case-insensitive or normalising one downstream.
        raise ClaimLintError(
            f"claim {name!r} looks like a reserved claim; choose another name",
            claim=name,
            reason="reserved_lookalike",
        )


def lint_whole(extra: dict[str, Any]) -> list[LintFinding]:
    try:
        json.dumps(extra, allow_nan=False)
    except (TypeError, ValueError):
        raise TypeError("claims must be JSON values (no NaN, no infinities)") from None
    return lint_claims(extra)


def audience(value: object) -> str | list[str]:
    if isinstance(value, str):
        if not value:
            raise ValueError("audience must not be empty")
        return value
    if not isinstance(value, Sequence) or not value:
        raise ValueError("audience must be a string or a non-empty list of strings")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item:
            raise ValueError("audience must be a string or a non-empty list of strings")
        if item not in out:
            out.append(item)
    return out


def screen(
    memo: dict[tuple[str, type, object], tuple[LintFinding, ...]], extra: dict[str, Any]
) -> list[LintFinding] | None:
    """Check every claim name (raising on a reserved one or a look-alike) and return what
    ``lint_claims(extra)`` returns, answering small scalar claims from the memo; ``None``
    when the set must be linted whole (nested or unusual values, many claims).

    Each top-level claim is linted on its own (its findings are exactly those
    ``lint_claims`` gives it within the whole set) and the findings are ordered as
    ``lint_claims`` orders them: refusals first, otherwise in claim order. A remembered
    claim's name passed the name checks when it was remembered.
    """
    findings: list[LintFinding] = []
    whole = len(extra) > _MEMO_MAX_CLAIMS
    refused = False
    for name, value in extra.items():
        cls = value.__class__
        if (
            whole
            or type(name) is not str
            or not (
                (cls is str and len(value) <= _MEMO_MAX_STR)
                or (cls is int and value.bit_length() <= 64)
                or cls is bool
                or value is None
            )
        ):
            check_claim_name(name)
            whole = True
            continue
        cached = (name, cls, value)
        verdict = memo.get(cached)
        if verdict is None:
            check_claim_name(name)
            verdict = tuple(lint_claims({name: value}))
            if any(f.severity == "refuse" for f in verdict):
                refused = True  # never remembered: the value may be a secret
            else:
                if len(memo) >= _MEMO_ENTRIES:
                    memo.clear()
                memo[cached] = verdict
        if verdict:
            findings.extend(verdict)
    if whole:
        return None
    if refused:
        findings.sort(key=lambda f: f.severity != "refuse")
    return findings


def lifetime(
    profile: TokenProfile,
    ttl: float | None,
    allow_long: bool,
    max_token_ttl: Callable[[str], float] | None,
) -> int:
    if ttl is None:
        lifetime = profile.default_ttl
    else:
        if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl):
            raise ValueError("ttl must be a finite number of seconds")
        lifetime = int(ttl)
    cap = profile.long_ttl_cap if allow_long else profile.max_ttl
    assert cap is not None  # filled in by TokenProfile.__post_init__
    if lifetime < profile.min_ttl:
        raise ValueError(f"{profile.name} tokens live at least {profile.min_ttl} s, not {lifetime}")
    if lifetime > cap:
        hint = (
            f" (allow_long_ttl=True, --allow-long-ttl, allows up to {profile.long_ttl_cap} s)"
            if not allow_long and profile.long_ttl_cap != profile.max_ttl
            else " (hard cap)"
        )
        raise ValueError(f"{profile.name} tokens live at most {cap} s, not {lifetime}{hint}")
    if max_token_ttl is not None:
        limit = max_token_ttl(profile.token_use)
        if lifetime > limit:
            # The key ring keeps a retired key published this long; a longer-lived token
            # would stop verifying before it expires.
            raise ValueError(
                f"{profile.name} tokens may live at most {limit:g} s with this key ring "
                f"(its max_token_ttl for {profile.token_use!r})"
            )
    return lifetime


def check_nonce(profile: TokenProfile, nonce: str | None, *, carries_nonce: bool) -> str | None:
    if carries_nonce:
        # OpenID Connect Core 3.1.2.1: nonce is OPTIONAL in the code flow; 3.1.3.6: an ID token
        # carries it exactly as sent when the request had one. Never an empty or a non-string.
        if nonce is not None and (not isinstance(nonce, str) or not nonce):
            raise ValueError("an ID token's nonce must be the non-empty string the client sent")
        return nonce
    if nonce is not None:
        raise ValueError(f"{profile.name} tokens carry no nonce (only ID tokens do)")
    return None


def not_before(value: float | None, iat: int, exp: int) -> int:
    if value is None:
        return iat
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("not_before must be a finite number of seconds since the epoch")
    nbf = int(value)
    if nbf >= exp:
        raise ValueError("not_before must be before the token expires")
    return nbf


def check_signing_key(key: object, profile: TokenProfile, environment: str | None) -> Key:
    if not isinstance(key, Key):
        raise TypeError("the key provider must return a Key")
    if environment is not None and key.environment != environment:
        raise KeyEnvironmentError(
            f"the {profile.token_use!r} signing key {key.kid[:64]!r} belongs to environment "
            f"{key.environment!r}, not {environment!r}"
        )
    if key.token_use is not None and key.token_use != profile.token_use:
        raise NoSigningKeyError(
            f"the provider returned a key for {key.token_use!r} tokens, not "
            f"{profile.token_use!r}: each token kind has its own key"
        )
    if not key.is_private:
        raise NoSigningKeyError(f"the {profile.token_use!r} key {key.kid[:64]!r} is public only")
    return key


def profile_table(profiles: Iterable[TokenProfile]) -> dict[str, TokenProfile]:
    """The issuer's profiles by name; names and ``typ`` values unique, at least one."""
    table: dict[str, TokenProfile] = {}
    typs: dict[str, str] = {}
    for profile in profiles:
        if not isinstance(profile, TokenProfile):
            raise TypeError("profiles must be TokenProfile objects")
        typ = normalize_typ(profile.typ)
        if profile.name in table or typ in typs:
            # Two profiles with one typ could be swapped for each other by a token holder.
            raise ValueError(f"profile {profile.name!r}: names and typ values must be unique")
        table[profile.name] = profile
        typs[typ] = profile.name
    if not table:
        raise ValueError("an issuer needs at least one profile")
    return table
