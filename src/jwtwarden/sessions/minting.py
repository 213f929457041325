"""What a session's access tokens look like (RFC 9068): claims, audience and lifetimes, the
server's or a client's own within them (``SessionLimits``). The session service's helpers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ClaimsHookError, TokenBudgetError
from ..revocation.checks import AUTH_VERSION_CLAIM
from .config import AccessTokenMinter, SessionConfig, SessionLimits, TokenPair
from .ports import SessionRecord

__all__ = ["access_ttl", "idle_ttl", "mint_access", "token_pair"]


def access_ttl(config: SessionConfig, limits: SessionLimits | None) -> int:
    """The access-token lifetime: the client's, never above the server's."""
    if limits is None or limits.access_token_ttl is None:
        return config.access_token_ttl
    return min(limits.access_token_ttl, config.access_token_ttl)


def idle_ttl(config: SessionConfig, limits: SessionLimits | None) -> float:
    """A refresh token's idle lifetime: the client's, never above the server's."""
    if limits is None or limits.refresh_idle_ttl is None:
        return config.refresh_idle_ttl
    return min(limits.refresh_idle_ttl, config.refresh_idle_ttl)


def mint_access(
    minter: AccessTokenMinter,
    config: SessionConfig,
    session: SessionRecord,
    auth_version: int,
    scope: str,
    limits: SessionLimits | None = None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[str, Any]:
    """An access token of ``session``: ``sid``, ``auth_version``, ``client_id``, ``scope``;
    ``extra`` is the claims hook's output (``accounts.claims_hook``).

    Raises:
        ClaimsHookError: the hook's claims put the token over the issuer's size budget.
        IssueError: any other refusal of the issuer.
    """
    # The hook's claims first: the session's own are set after and cannot be replaced (the
    # hook runner refuses their names anyway).
    claims: dict[str, Any] = dict(extra or {})
    claims.update(
        {"sid": session.id, AUTH_VERSION_CLAIM: auth_version, "client_id": session.client_id}
    )
    if scope:
        claims["scope"] = scope
    try:
        return minter.mint_with_claims(
            "access",
            sub=session.user_id,
            # RFC 9068 3: the client's audiences when it registered some, else the server's.
            audience=list((limits.audience if limits else ()) or config.audience),
            claims=claims,
            ttl=access_ttl(config, limits),
        )
    except TokenBudgetError as exc:
        if not extra:
            raise
        # The hook's claims made the token too big: the hook's failure, so fail closed as one.
        raise ClaimsHookError(f"the claims hook's claims make the token too big: {exc}") from None


def token_pair(
    config: SessionConfig,
    access: str,
    claims: Any,
    refresh: str,
    session: SessionRecord,
    scope: str,
    limits: SessionLimits | None = None,
) -> TokenPair:
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=access_ttl(config, limits),
        session_id=session.id,
        user_id=session.user_id,
        scope=scope,
        claims=dict(claims),
    )
