"""The checks of the account settings (roles, mail, sign-up), apart from ``settings.py``: each
problem one line naming its setting, like the other whole-configuration checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..oauth.clients import IDENTITY_SCOPES

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["account_problems"]


def account_problems(settings: Settings) -> list[str]:
    """What is wrong with the roles, mail and sign-up settings (empty: nothing)."""
    problems: list[str] = []
    offered = set(settings.scopes) | IDENTITY_SCOPES
    for role, scopes in sorted(settings.roles.items()):
        for scope in scopes:
            if scope not in offered:
                problems.append(
                    f"JWTWARDEN_ROLES: role {role!r} grants {scope!r}, which is not one of "
                    "JWTWARDEN_SCOPES nor an identity scope (openid, profile, email)"
                )
    try:
        settings.role_table  # noqa: B018 - validates names and default roles
    except ValueError as exc:
        name = "JWTWARDEN_DEFAULT_ROLES" if "default roles" in str(exc) else "JWTWARDEN_ROLES"
        problems.append(f"{name}: {exc}")
    if (settings.smtp_username is None) != (settings.smtp_password is None):
        problems.append("JWTWARDEN_SMTP_USERNAME: set both smtp_username and smtp_password")
    if settings.smtp_username is not None and settings.smtp_security == "none":
        problems.append("JWTWARDEN_SMTP_SECURITY: SMTP credentials need tls or starttls (RFC 8314)")
    if settings.signup and settings.smtp_host is None and not settings.is_development:
        problems.append(
            "JWTWARDEN_SIGNUP: sign-up needs mail outside development (JWTWARDEN_SMTP_HOST)"
        )
    return problems
