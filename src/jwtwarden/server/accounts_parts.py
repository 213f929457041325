"""The account components of the ``Runtime``, built from ``Settings``: the role store and the
``UserScopes`` over it, the claims hook runner, and ``AccountAdmin``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..accounts.claims_hook import ClaimsHookRunner, load_hook
from ..accounts.roles import UserScopes
from ..stores.sql import SQLRoleStore
from .settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["claims_hook_runner", "user_scopes"]


def user_scopes(settings: Settings, engine: AsyncEngine) -> UserScopes:
    """The configured roles over the database's role assignments."""
    return UserScopes(settings.role_table, SQLRoleStore(engine))


def claims_hook_runner(settings: Settings) -> ClaimsHookRunner | None:
    """The claims hook named by ``JWTWARDEN_CLAIMS_HOOK``, or ``None``.

    Raises:
        ValueError: it cannot be imported or is not callable (refused at start, not at the
            first login).
    """
    if settings.claims_hook is None:
        return None
    try:
        hook = load_hook(settings.claims_hook)
    except ValueError as exc:
        raise ValueError(f"JWTWARDEN_CLAIMS_HOOK: {exc}") from None
    return ClaimsHookRunner(hook, timeout=settings.claims_hook_timeout)
