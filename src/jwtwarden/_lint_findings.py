"""``LintFinding``, the claim lint's one result type, and the two shapes of finding that the
name rules and the value rules share (see ``jwtwarden.lint``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["LintFinding", "Severity", "refuse", "warn_personal"]

Severity = Literal["refuse", "warn"]


@dataclass(frozen=True, kw_only=True, slots=True)
class LintFinding:
    """One finding: the claim's path (``a.b[0]``), ``refuse`` or ``warn``, a short reason
    word (``secret_name``, ``password_hash``, ``api_key``, ...) and a message for humans."""

    claim: str
    severity: Severity
    reason: str
    message: str


def refuse(path: str, reason: str, what: str) -> LintFinding:
    return LintFinding(
        claim=path,
        severity="refuse",
        reason=reason,
        message=f"claim {path!r} holds {what}; never put it in a token",
    )


def warn_personal(path: str, reason: str, what: str) -> LintFinding:
    return LintFinding(
        claim=path,
        severity="warn",
        reason=reason,
        message=f"claim {path!r} holds {what}: personal data beyond the subject's id",
    )
