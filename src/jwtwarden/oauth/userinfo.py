"""The UserInfo claims of OpenID Connect Core 5.3, by scope (Core 5.4).

``sub`` always; ``profile`` adds the standard profile claims the account has (Core 5.1: a
claim with no value is omitted, not sent empty); ``email`` adds ``email`` and
``email_verified`` (false until the account records a verification). The claims come from the
account as stored now, never from the token: a changed email shows at once.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

__all__ = ["PROFILE_CLAIMS", "SCOPE_CLAIMS", "userinfo_claims"]

# Core 5.4: the claims the profile scope asks for, in the order the spec lists them.
PROFILE_CLAIMS = (
    "name",
    "family_name",
    "given_name",
    "middle_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "updated_at",
)
SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": PROFILE_CLAIMS,
    "email": ("email", "email_verified"),
}


def userinfo_claims(user: Any, scope: Collection[str]) -> dict[str, Any]:
    """The UserInfo response of ``user`` (a ``UserRecord``) for a token granted ``scope``.

    Example:
        >>> userinfo_claims(user, {"openid", "email"})                  # doctest: +SKIP
        {'sub': 'u-1', 'email': 'ada@example.com', 'email_verified': False}
    """
    claims: dict[str, Any] = {"sub": user.id}
    if "profile" in scope:
        for name in PROFILE_CLAIMS:
            value = getattr(user, name, None)
            if value is not None and value != "":
                claims[name] = value
    if "email" in scope and user.email:
        claims["email"] = user.email
        # Core 5.1: true only when the provider took affirmative steps to verify it.
        claims["email_verified"] = getattr(user, "email_verified", False) is True
    return claims
