"""What the session service reads for an access token besides the session: the claims
hook's claims, and what a refresh reads before its transaction (the account's scopes now, the
hook's claims). The token itself is minted by ``sessions.minting``. Split from ``service`` by
operation.
"""

from __future__ import annotations

from typing import Any

from ..accounts.claims_hook import ClaimsHookRequest, ClaimsHookRunner
from ..accounts.roles import UserScopes
from .ports import SessionRecord, SessionStore, UserRecord, UserStore

__all__ = ["hook_claims", "refresh_inputs"]


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
    *,
    session: SessionRecord | None = None,
) -> tuple[frozenset[str], dict[str, Any] | None]:
    """What a refresh reads before its transaction (both may wait on I/O; the mint inside the
    transaction cannot): the scopes the account's roles grant now, and the hook's claims. An
    unknown token, or one whose account is gone, gets nothing; the rotator refuses it anyway.
    ``session``: the token's session when the caller has read it already (not read again).
    """
    if session is None:
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
