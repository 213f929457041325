"""The hosted pages' sign-in sessions at the edge: reading the cookie into a live session
(its user still enabled, at the same auth version), starting one, ending one."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import Response

from ..oauth.signin import SignInSession, new_signin_token, signin_token_hash
from .runtime import Runtime
from .signin_state import SIGNIN_COOKIE

__all__ = ["current_signin", "end_signin", "start_signin"]


async def current_signin(request: Request, runtime: Runtime) -> SignInSession | None:
    """The browser's live sign-in session, or ``None``. A password change or a disabled
    account ends it: its ``auth_version`` must still be the user's."""
    digest = signin_token_hash(request.cookies.get(SIGNIN_COOKIE))
    if digest is None:
        return None
    store = runtime.authorization_store
    session = await store.signin_by_token(digest, now=runtime.clock.now())
    if session is None:
        return None
    if await runtime.users.auth_version(session.user_id) != session.auth_version:
        return None
    return session


async def start_signin(
    runtime: Runtime, response: Response, *, user_id: str, auth_version: int
) -> SignInSession:
    """A new sign-in session for ``user_id``, its cookie set on ``response``."""
    now = runtime.clock.now()
    token, digest = new_signin_token()
    ttl = runtime.settings.signin_session_ttl
    session = SignInSession(
        id=secrets.token_urlsafe(16),
        token_hash=digest,
        user_id=user_id,
        auth_version=auth_version,
        auth_time=now,
        created_at=now,
        expires_at=now + ttl,
    )
    await runtime.authorization_store.create_signin(session)
    runtime.signin_state.set_cookie(response, SIGNIN_COOKIE, token, max_age=ttl)
    return session


async def end_signin(runtime: Runtime, response: Response, session_id: str | None) -> None:
    """End a sign-in session (if any) and expire its cookie."""
    if session_id is not None:
        await runtime.authorization_store.revoke_signin(session_id, now=runtime.clock.now())
    runtime.signin_state.set_cookie(response, SIGNIN_COOKIE, "", max_age=0)
