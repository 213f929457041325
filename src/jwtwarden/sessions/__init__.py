"""Sessions: logins, refresh-token rotation with reuse detection, revocation, passwords."""

from __future__ import annotations

from .passwords import OWASP_MINIMUM, PasswordHasher, PasswordParameters
from .ports import (
    NewRefreshToken,
    SessionRecord,
    SessionStore,
    SessionTransaction,
    TokenState,
    UserRecord,
    UserStore,
)
from .service import SessionConfig, SessionService, TokenPair, normalize_email
from .tokens import REFRESH_TOKEN_PREFIX, new_refresh_token, refresh_token_hash

__all__ = [
    "OWASP_MINIMUM",
    "REFRESH_TOKEN_PREFIX",
    "NewRefreshToken",
    "PasswordHasher",
    "PasswordParameters",
    "SessionConfig",
    "SessionRecord",
    "SessionService",
    "SessionStore",
    "SessionTransaction",
    "TokenPair",
    "TokenState",
    "UserRecord",
    "UserStore",
    "new_refresh_token",
    "normalize_email",
    "refresh_token_hash",
]
