"""How the session service mints an access token: the session's claims (RFC 9068 2.2 plus
``sid`` and ``auth_version``), the claims hook's, and what a refresh reads before its
transaction (the account's scopes now, the hook's claims). Split from ``service`` by operation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..accounts.claims_hook import ClaimsHookRequest, ClaimsHookRunner
from ..accounts.roles import UserScopes
from ..errors import ClaimsHookError, TokenBudgetError
from ..revocation.checks import AUTH_VERSION_CLAIM
from .config import AccessTokenMinter, SessionConfig
from .ports import SessionRecord, SessionStore, UserRecord, UserStore

__all__ = ["hook_claims", "mint_access_token", "refresh_inputs"]


def mint_access_token(
    minter: AccessTokenMinter,
    config: SessionConfig,
    session: SessionRecord,
    auth_version: int,
    scope: str,
    extra: Mapping[str, Any] | None,
) -> tuple[str, Any]:
    """Mint the access token of ``session``; ``extra`` is the claims hook's output.

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
            audience=list(config.audience),
            claims=claims,
            ttl=config.access_token_ttl,
        )
    except TokenBudgetError as exc:
        if not extra:
            raise
        # The hook's claims made the token too big: the hook's failure, so fail closed as one.
        raise ClaimsHookError(f"the claims hook's claims make the token too big: {exc}") from None


async def hook_claims(
    runner: ClaimsHookRunner | None,
    user: UserRecord,
    client_id: str,
    scope: str,
    *,
    token_type: str = "access",  # noqa: S107 - a profile name, not a secret
) -> dict[str, Any] | None:
    """The claims hook's claims for a token (``access``; ``id`` for an ID token), or ``None``
    without a hook.

    Raises:
        ClaimsHookError: the hook failed (see ``accounts.claims_hook``).
    """
    if runner is None:
        return None
    request = ClaimsHookRequest(token_type=token_type, user=user, client_id=client_id, scope=scope)
    return await runner.claims(request)


async def refresh_inputs(
    digest: bytes,
    sessions: SessionStore,
    users: UserStore,
    user_scopes: UserScopes,
    runner: ClaimsHookRunner | None,
) -> tuple[frozenset[str], dict[str, Any] | None]:
    """What a refresh reads before its transaction (both may wait on I/O; the mint inside the
    transaction cannot): the scopes the account's roles grant now, and the hook's claims. An
    unknown token, or one whose account is gone, gets nothing; the rotator refuses it anyway.
    """
    session = await sessions.session_by_token(digest)
    if session is None:
        return frozenset(), None
    allowed = await user_scopes.allowed(session.user_id, client_id=session.client_id)
    if runner is None:
        return allowed, None
    user = await users.user_by_id(session.user_id)
    if user is None:
        return frozenset(), None
    scope = " ".join(sorted(set(session.scope.split()) & allowed))
    return allowed, await hook_claims(runner, user, session.client_id, scope)
