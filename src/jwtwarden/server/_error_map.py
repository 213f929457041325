"""The edge's one table from an exception of the service layer or a dependency to the OAuth
error the client gets (RFC 6749 5.2): hints for the client, detail for the log only.

Split from ``app`` (the app factory and the edge middleware) by operation.
"""

from __future__ import annotations

from ..errors import (
    ClaimsHookError,
    ClientNotFoundError,
    InvalidClientError,
    InvalidCredentialsError,
    InvalidGrantError,
    InvalidLinkError,
    InvalidRefreshTokenError,
    InvalidScopeError,
    InvalidTargetError,
    InvalidTokenError,
    IssueError,
    JWTWardenError,
    KeyRejectedError,
    KeyStoreError,
    OAuthRequestError,
    PasswordPolicyError,
    RateLimitedError,
    RefreshTokenReuseError,
    RevocationUnavailableError,
    SignupDisabledError,
    StoreUnavailableError,
    UnauthorizedClientError,
    UnknownRoleError,
    UnsupportedGrantTypeError,
    UserExistsError,
    UserNotFoundError,
)
from .errors import (
    AccessDenied,
    Conflict,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    InvalidToken,
    NotFound,
    OAuthError,
    ServerError,
    TemporarilyUnavailable,
    TooManyRequests,
    UnauthorizedClient,
    UnsupportedGrantType,
)

__all__ = ["map_error"]


def map_error(exc: Exception) -> OAuthError:
    """The OAuth error for an exception from the service layer or a dependency."""
    if isinstance(exc, OAuthError):
        return exc
    if isinstance(exc, OAuthRequestError | ClientNotFoundError):
        return _map_oauth(exc)
    if isinstance(exc, _ACCOUNT_ERRORS):
        return _map_account(exc)
    if isinstance(exc, RateLimitedError):
        return TooManyRequests(exc.retry_after)
    if isinstance(exc, InvalidCredentialsError):
        return InvalidGrant("the email or password is wrong")
    if isinstance(exc, RefreshTokenReuseError | InvalidRefreshTokenError):
        return InvalidGrant("the refresh token is invalid, expired or revoked")
    if isinstance(exc, InvalidScopeError):
        return InvalidScope(exc.detail)
    if isinstance(exc, PasswordPolicyError):
        return InvalidRequest(exc.detail)
    if isinstance(exc, UserExistsError):
        return Conflict("an account with this email already exists")  # RFC 9110 15.5.10
    if isinstance(exc, InvalidTokenError):
        return InvalidToken()
    if isinstance(exc, StoreUnavailableError):
        # The adapters translate their drivers' failures (jwtwarden.stores); this edge knows
        # no driver. Anything else a driver raises is a bug: 500.
        return TemporarilyUnavailable(log_detail=f"{exc.code}: {exc.driver_error}")
    if isinstance(exc, RevocationUnavailableError | KeyStoreError | IssueError | KeyRejectedError):
        return TemporarilyUnavailable(log_detail=exc.code)
    if isinstance(exc, JWTWardenError):
        return InvalidRequest(log_detail=exc.code)
    return ServerError(log_detail=type(exc).__name__)


_ACCOUNT_ERRORS = (
    UserNotFoundError,
    UnknownRoleError,
    InvalidLinkError,
    SignupDisabledError,
    ClaimsHookError,
)


def _map_account(exc: Exception) -> OAuthError:
    if isinstance(exc, UserNotFoundError):
        return NotFound("no such user")
    if isinstance(exc, UnknownRoleError):
        return InvalidRequest(exc.detail)
    if isinstance(exc, InvalidLinkError):
        return InvalidGrant("the link is invalid, used or expired")
    if isinstance(exc, SignupDisabledError):
        return AccessDenied("self-service sign-up is disabled")
    # ClaimsHookError: not issued rather than issued without the claims
    # (accounts.claims_hook); the cause was logged where it happened, the client learns only
    # that it was the server's fault.
    return ServerError("the token could not be issued", log_detail=getattr(exc, "code", ""))


def _map_oauth(exc: OAuthRequestError | ClientNotFoundError) -> OAuthError:
    if isinstance(exc, InvalidClientError):
        # One description for every cause (unknown client, wrong secret, bad assertion): the
        # cause goes to the log only. Always 401 with the Basic challenge: RFC 6749 5.2 needs
        # it when the Authorization header was used, and RFC 9110 11.6.1 on every 401.
        return InvalidClient(log_detail=exc.detail)
    if isinstance(exc, UnauthorizedClientError):
        return UnauthorizedClient(exc.detail)
    if isinstance(exc, UnsupportedGrantTypeError):
        return UnsupportedGrantType()
    if isinstance(exc, InvalidGrantError):
        return InvalidGrant(log_detail=exc.detail)
    if isinstance(exc, InvalidTargetError):
        return InvalidTarget(exc.detail)
    if isinstance(exc, ClientNotFoundError):
        return NotFound("no such client")
    return InvalidRequest(exc.detail)
